"""One clear line for every error a command can meet, never a traceback.

Every error class defined under facetrail/ has a row in EXIT_CODES (tests/cli/test_errors.py
fails naming any class without one), and so do the errors the adapters' libraries raise
(Kafka, PostgreSQL/SQLite through SQLAlchemy, MinIO). Rows name classes by where they are
defined, so this module imports none of them: the CLI starts without loading Kafka or the
models. A subclass without a row of its own takes its nearest mapped base's code.

Anything else is a bug: the command prints one line saying where the details went
(UNEXPECTED_LOG, or FACETRAIL_ERROR_LOG when set) and exits with UNEXPECTED_EXIT.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from datetime import datetime, timezone
from pathlib import Path

import click

CONFIG_EXIT = 2  # the config file or the command line must change
FAILED_EXIT = 1  # the command could not do its work: a service away, a bad file, a refused request
UNEXPECTED_EXIT = 70  # sysexits' EX_SOFTWARE: a bug, with details in the error log
UNEXPECTED_LOG = Path("var") / "log" / "facetrail-errors.log"


class UsageProblem(click.ClickException):
    """A request the command cannot carry out; exit code 1."""


EXIT_CODES: dict[str, int] = {
    # facetrail's own errors, one row each
    "facetrail.config.ConfigError": CONFIG_EXIT,
    "facetrail.analytics.detector.DetectorError": CONFIG_EXIT,
    "facetrail.analytics.embedder.EmbedderError": CONFIG_EXIT,
    "facetrail.models.fetch.ModelFetchError": FAILED_EXIT,
    "facetrail.models.catalogue.UnknownModel": CONFIG_EXIT,
    "facetrail.calibration.CalibrationError": FAILED_EXIT,
    "facetrail.analytics.face_resnet.FaceResNetError": FAILED_EXIT,
    "facetrail.analytics.enrolment.EnrolmentError": FAILED_EXIT,
    "facetrail.ingest.camera.SourceError": FAILED_EXIT,
    "facetrail.bus.base.BusError": FAILED_EXIT,
    "facetrail.bus.kafka_bus.BusBufferFull": FAILED_EXIT,
    "facetrail.bus.kafka_bus.BusNotDelivered": FAILED_EXIT,
    "facetrail.object_keys.ObjectStoreError": FAILED_EXIT,
    "facetrail.storage.user_store.UserExists": FAILED_EXIT,
    "facetrail.storage.user_store.LastAdmin": FAILED_EXIT,  # the commands say it as an AccountError
    "facetrail.storage.watchlist_store.EntryExists": FAILED_EXIT,  # import skips the folder; the API answers 409
    "facetrail.storage.track_store.TracksChanged": FAILED_EXIT,  # the trajectory service re-stitches instead
    "facetrail.audit.anchor.AnchorError": FAILED_EXIT,
    "facetrail.auth.accounts.AccountError": FAILED_EXIT,
    "facetrail.auth.passwords.WeakPassword": FAILED_EXIT,
    "facetrail.accountability.review.ReviewError": FAILED_EXIT,
    "facetrail.accountability.review.UnknownSighting": FAILED_EXIT,
    "facetrail.accountability.review.AlreadyDecided": FAILED_EXIT,
    "facetrail.names.UnsafeText": CONFIG_EXIT,
    "facetrail.api.middleware.BodyTooLarge": FAILED_EXIT,
    "facetrail.api.photo_shelf.ShelfFull": FAILED_EXIT,  # never leaves the API (a 429)
    "facetrail.demo.scenario.ScenarioError": FAILED_EXIT,
    "facetrail.demo.photos.PhotoError": FAILED_EXIT,
    "facetrail.demo.rtsp.RtspServerError": FAILED_EXIT,
    "facetrail.demo.sprites.FaceCheckError": FAILED_EXIT,
    "facetrail.demo.clips.ClipError": FAILED_EXIT,
    "facetrail.archive.recordings.RecordingProblem": FAILED_EXIT,
    "facetrail.archive.work.LeaseLost": FAILED_EXIT,  # never leaves the worker: it drops the segment
    "facetrail.archive.work.Stopped": FAILED_EXIT,  # never leaves the worker: it gives the segment back
    # what the adapters' libraries raise when a service is away or refuses
    "kafka.errors.KafkaError": FAILED_EXIT,
    "sqlalchemy.exc.DBAPIError": FAILED_EXIT,
    "minio.error.MinioException": FAILED_EXIT,
    "urllib3.exceptions.HTTPError": FAILED_EXIT,
    "builtins.OSError": FAILED_EXIT,  # a file or folder the command cannot read or write
}


def qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def exit_code_of(exc: BaseException) -> int | None:
    """The exit code of the nearest class of `exc` with a row; None when it has none (a bug)."""
    for cls in type(exc).__mro__:
        code = EXIT_CODES.get(qualified_name(cls))
        if code is not None:
            return code
    return None


def one_line(exc: BaseException) -> str:
    """The error in one line: a database driver's own first line rather than SQLAlchemy's statement dump."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first or type(exc).__name__


def unexpected_log() -> Path:
    return Path(os.environ.get("FACETRAIL_ERROR_LOG") or UNEXPECTED_LOG)


def log_unexpected(exc: BaseException) -> Path:
    """Append the traceback and command line to the error log; return where it went (a temp file if that is unwritable)."""
    entry = (f"--- {datetime.now(timezone.utc).isoformat(timespec='seconds')} pid {os.getpid()}: "
             f"{' '.join(sys.argv)}\n{''.join(traceback.format_exception(exc))}")
    for place in (unexpected_log(), Path(tempfile.gettempdir()) / f"facetrail-errors-{os.getuid()}.log"):
        try:
            place.parent.mkdir(parents=True, exist_ok=True)
            with place.open("a") as handle:
                handle.write(entry)
            return place.resolve()
        except OSError:
            continue
    return Path("(nowhere: no writable place for the error log)")


class FriendlyGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click prints these itself, in one line
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - the one place every error becomes one line
            code = exit_code_of(exc)
            if code is not None:
                click.echo(f"error: {one_line(exc)}", err=True)
                sys.exit(code)
            where = log_unexpected(exc)
            click.echo(f"error: unexpected {type(exc).__name__}: {one_line(exc)[:200]} "
                       f"(a bug in facetrail; details in {where})", err=True)
            sys.exit(UNEXPECTED_EXIT)
