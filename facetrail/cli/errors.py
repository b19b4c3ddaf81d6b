"""One clear line for every error a user can cause, never a traceback."""

from __future__ import annotations

import sys

import click

from facetrail.analytics.detector import DetectorError
from facetrail.analytics.embedder import EmbedderError
from facetrail.analytics.enrolment import EnrolmentError
from facetrail.bus.base import BusError
from facetrail.calibration import CalibrationError
from facetrail.config import ConfigError
from facetrail.ingest.camera import SourceError
from facetrail.models.fetch import ModelFetchError
from facetrail.storage.objects import ObjectStoreError


class UsageProblem(click.ClickException):
    """A request the command cannot carry out; exit code 1."""


EXIT_CODES: dict[type[BaseException], int] = {
    ConfigError: 2,
    DetectorError: 2,
    EmbedderError: 2,
    ModelFetchError: 1,
    CalibrationError: 1,
    SourceError: 1,
    EnrolmentError: 1,
    ObjectStoreError: 1,
    BusError: 1,
}


class FriendlyGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except tuple(EXIT_CODES) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_CODES[type(exc)])
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
