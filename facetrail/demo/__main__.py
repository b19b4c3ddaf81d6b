"""`make demo`: build the scenario, enrol, reprocess each camera's clip, print the tracks.

Every step is the real `facetrail` command a user would type, run in-process so
the models load once. The demo starts from a clean state each time.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click

from facetrail.cli.main import cli
from facetrail.demo.scenario import ScenarioError, build_scenario
from facetrail.stores import Stores

DEMO_DIR = Path("demo-data")
DEMO_PORT = int(os.environ.get("FACETRAIL_DEMO_PORT", "8080"))
# Two operators, because a match needs two different reviewers to be confirmed.
DEMO_USERS = (("demo-admin", "admin"), ("demo-operator-1", "operator"), ("demo-operator-2", "operator"))
LEGAL_BASIS = "Demonstration only: synthetic scenario from public-domain photos shipped by PyPI packages"


def _facetrail(*args: str) -> None:
    shown = " ".join(a if " " not in a else repr(a) for a in args)
    click.secho(f"\n$ facetrail {shown}", fg="cyan", err=True)
    try:
        cli.main(list(args), prog_name="facetrail", standalone_mode=False)
    except SystemExit as exit_:
        if exit_.code:
            raise
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None


def main() -> int:
    began = time.monotonic()
    try:
        scenario = build_scenario(DEMO_DIR)
    except ScenarioError as exc:
        click.echo(f"error: {exc}", err=True)
        return 1
    config = str(scenario.config_path)
    shutil.rmtree(scenario.root / "var", ignore_errors=True)
    click.echo(f"demo scenario: {len(scenario.cameras)} cameras, {len(scenario.enrolled)} enrolled people, "
               f"{len(scenario.passers_by)} passers-by ({scenario.root})", err=True)
    _facetrail("watchlist", "import", str(scenario.watchlist_dir), "-c", config, "--legal-basis", LEGAL_BASIS,
               "--image-source", "face_recognition 1.3.0 sdist test images (MIT)", "--expires-in-days", "30",
               "--enrolled-by", "demo")
    # The walk is replayed as if it happened minutes ago, so the dashboard's "last 24 h" shows it
    # and no retention limit applies to it yet; the cameras keep their relative start times.
    first_clip = min(c.starts_at for c in scenario.cameras)
    replayed_at = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=10)
    for camera in scenario.cameras:
        start = replayed_at + (camera.starts_at - first_clip)
        _facetrail("reprocess", str(camera.clip), "-c", config, "--camera", camera.id,
                   "--start", start.isoformat(), "--again", "--no-stitch")
    _facetrail("trajectory", "-c", config, "--drain")
    _facetrail("tracks", "-c", config)
    click.echo("\nexpected camera order:", err=True)
    for name, route in scenario.expected_routes.items():
        click.echo(f"  {name}: {' -> '.join(route)}", err=True)
    click.echo(f"passers-by ({', '.join(p.display_name for p in scenario.passers_by)}) must produce no sighting.", err=True)
    click.echo(f"\ndemo pipeline finished in {time.monotonic() - began:.0f} s", err=True)
    if os.environ.get("FACETRAIL_DEMO_SERVE", "1") != "0":
        _serve_dashboard(config)
    return 0


def _serve_dashboard(config: str) -> None:
    """Fresh random passwords each run: the demo has users, never default credentials."""
    stores = Stores.load(config)
    accounts = stores.accounts
    click.echo(f"\ndashboard: http://127.0.0.1:{DEMO_PORT}/  (Ctrl-C stops)  log in as:", err=True)
    for username, role in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        accounts.create_user(username, role, password)
        stores.audit.record("demo", "user.add", username, {"role": role})
        click.echo(f"  {username:16} {password}   ({role})", err=True)
    _facetrail("api", "-c", config, "--port", str(DEMO_PORT))


if __name__ == "__main__":
    sys.exit(main())
