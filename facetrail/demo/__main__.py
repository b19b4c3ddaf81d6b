"""`make demo`: build the scenario, enrol, reprocess each camera's clip, print the tracks.

Every step is the real `facetrail` command a user would type, run in-process so
the models load once. The demo starts from a clean state each time.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import click

from facetrail.cli.main import cli
from facetrail.demo.scenario import ScenarioError, build_scenario

DEMO_DIR = Path("demo-data")
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
    for camera in scenario.cameras:
        _facetrail("reprocess", str(camera.clip), "-c", config, "--camera", camera.id,
                   "--start", camera.starts_at.isoformat(), "--again", "--no-stitch")
    _facetrail("trajectory", "-c", config, "--drain")
    _facetrail("tracks", "-c", config)
    click.echo("\nexpected camera order:", err=True)
    for name, route in scenario.expected_routes.items():
        click.echo(f"  {name}: {' -> '.join(route)}", err=True)
    click.echo(f"passers-by ({', '.join(p.display_name for p in scenario.passers_by)}) must produce no sighting.", err=True)
    click.echo(f"\ndemo finished in {time.monotonic() - began:.0f} s", err=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
