"""Entry point: wires the command modules into one `facetrail` command."""

from __future__ import annotations

import warnings

import click

warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

from facetrail.cli.audit import audit_group  # noqa: E402
from facetrail.cli.calibrate import calibrate  # noqa: E402
from facetrail.cli.errors import FriendlyGroup  # noqa: E402
from facetrail.cli.models import models_group  # noqa: E402
from facetrail.cli.pipeline import reprocess, run, trajectory  # noqa: E402
from facetrail.cli.queries import sightings, tracks  # noqa: E402
from facetrail.cli.retention import retention_group  # noqa: E402
from facetrail.cli.watchlist import watchlist_group  # noqa: E402
from facetrail.logs import configure_logging  # noqa: E402


@click.group(cls=FriendlyGroup)
@click.version_option(package_name="facetrail")
def cli() -> None:
    """facetrail: accountable watch-list sightings from CCTV, stitched into movement tracks."""
    configure_logging()


for command in (watchlist_group, models_group, calibrate, run, reprocess, trajectory, tracks, sightings, audit_group, retention_group):
    cli.add_command(command)
from facetrail.cli.users import users_group; cli.add_command(users_group)  # noqa: E402, E702
from facetrail.cli.api import api; cli.add_command(api)  # noqa: E402, E702
from facetrail.cli.worker import db_group, worker; cli.add_command(worker); cli.add_command(db_group)  # noqa: E402, E702
from facetrail.cli.forwarding import forwarding_group; cli.add_command(forwarding_group)  # noqa: E402, E702
from facetrail.cli.archive import jobs_group, search_archive; cli.add_command(search_archive); cli.add_command(jobs_group)  # noqa: E402, E702


def main() -> None:
    cli(prog_name="facetrail")


if __name__ == "__main__":
    main()
