"""What commands share: the config option, and the stores the loaded config selects."""

from __future__ import annotations

import click

from facetrail.stores import Stores

__all__ = ["CONFIG_OPTION", "Stores"]

CONFIG_OPTION = click.option(
    "-c", "--config", "config_path", default="configs/facetrail.yaml", show_default=True,
    envvar="FACETRAIL_CONFIG", type=click.Path(dir_okay=False), help="config file (YAML)",
)
