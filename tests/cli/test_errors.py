"""Every error a command can meet becomes one line and an exit code; anything else one line naming the log."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import facetrail
from facetrail.cli.errors import EXIT_CODES, UNEXPECTED_EXIT, qualified_name
from facetrail.cli.main import cli

PACKAGE = Path(facetrail.__file__).parent
# Run as scripts or by Alembic, never imported by a command.
NOT_IMPORTED = ("__main__.py", "storage/migrations/")


def _modules_defining_classes() -> list[str]:
    modules = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if any(part in relative for part in NOT_IMPORTED):
            continue
        if any(isinstance(node, ast.ClassDef) for node in ast.parse(path.read_text()).body):
            dotted = relative.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
            modules.append(f"facetrail.{dotted}" if dotted != "__init__" else "facetrail")
    return modules


def facetrail_exception_classes() -> list[type[BaseException]]:
    """Every exception class defined at the top level of a module under facetrail/."""
    found = []
    for name in _modules_defining_classes():
        module = importlib.import_module(name)
        found += [cls for _, cls in inspect.getmembers(module, inspect.isclass)
                  if issubclass(cls, BaseException) and cls.__module__ == name]
    return found


def test_the_package_defines_exception_classes_for_the_check_to_find():
    names = {qualified_name(cls) for cls in facetrail_exception_classes()}
    assert {"facetrail.config.ConfigError", "facetrail.bus.kafka_bus.BusNotDelivered"} <= names


def test_every_exception_class_under_facetrail_has_an_exit_code():
    # click prints its own exceptions (UsageProblem) in one line with their exit code.
    unmapped = sorted(qualified_name(cls) for cls in facetrail_exception_classes()
                      if qualified_name(cls) not in EXIT_CODES and not issubclass(cls, click.ClickException))
    assert not unmapped, ("add a row to EXIT_CODES in facetrail/cli/errors.py for: " + ", ".join(unmapped))


@pytest.mark.parametrize("name", sorted(EXIT_CODES))
def test_every_row_of_the_exit_codes_names_an_exception_class_that_exists(name):
    module_name, _, class_name = name.rpartition(".")
    cls = getattr(importlib.import_module(module_name), class_name, None)
    assert inspect.isclass(cls) and issubclass(cls, BaseException), f"EXIT_CODES row {name} names no exception class"


@pytest.fixture
def site(write_config, tmp_path):
    return write_config(f"database: {{url: 'sqlite:///{tmp_path / 'ft.db'}'}}\n"
                        f"bus: {{kind: sqlite, path: '{tmp_path / 'bus.db'}'}}\n"
                        f"objects: {{kind: local, path: '{tmp_path / 'evidence'}'}}\n")


def _inject(monkeypatch, error: BaseException) -> None:
    """The track search of `facetrail tracks` raises `error`."""
    from facetrail.storage.track_store import TrackStore

    def fail(*_args, **_kwargs):
        raise error

    monkeypatch.setattr(TrackStore, "search", fail)


def test_an_adapter_error_subclass_gives_one_line_and_exit_1(site, monkeypatch):
    from facetrail.bus.kafka_bus import BusNotDelivered

    _inject(monkeypatch, BusNotDelivered("3 message(s) not yet acknowledged by Kafka at 127.0.0.1:1"))

    result = CliRunner().invoke(cli, ["tracks", "-c", str(site)])

    assert result.exit_code == 1
    assert result.stderr == "error: 3 message(s) not yet acknowledged by Kafka at 127.0.0.1:1\n"


def test_an_unexpected_exception_gives_one_line_naming_the_log_that_holds_the_traceback(site, monkeypatch, tmp_path):
    error_log = tmp_path / "logs" / "errors.log"
    monkeypatch.setenv("FACETRAIL_ERROR_LOG", str(error_log))
    _inject(monkeypatch, RuntimeError("the index is upside down\nsecond line"))

    result = CliRunner().invoke(cli, ["tracks", "-c", str(site)])

    assert result.exit_code == UNEXPECTED_EXIT
    assert result.stderr == (f"error: unexpected RuntimeError: the index is upside down "
                             f"(a bug in facetrail; details in {error_log.resolve()})\n")
    logged = error_log.read_text()
    assert "Traceback" in logged and "RuntimeError: the index is upside down" in logged and "def fail" not in result.stderr


def test_a_database_error_gives_the_drivers_first_line_not_the_statement(site, monkeypatch):
    import sqlite3

    from sqlalchemy.exc import OperationalError

    _inject(monkeypatch, OperationalError("SELECT secret FROM tracks", {}, sqlite3.OperationalError("disk I/O error")))

    result = CliRunner().invoke(cli, ["tracks", "-c", str(site)])

    assert (result.exit_code, result.stderr) == (1, "error: disk I/O error\n")
