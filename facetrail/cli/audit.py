"""`facetrail audit verify|export`: check and hand over the tamper-evident audit log."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from facetrail.audit.export import FORMATS, write_export
from facetrail.audit.log import os_user
from facetrail.cli.context import CONFIG_OPTION, Stores
from facetrail.cli.errors import UsageProblem
from facetrail.cli.pipeline import parse_time


@click.group("audit")
def audit_group() -> None:
    """Verify and export the append-only, hash-chained audit log."""


@audit_group.command("verify")
@CONFIG_OPTION
def verify(config_path: str) -> None:
    """Check every record's hash and link, and that no last records were deleted (exit 1 if not)."""
    log = Stores.load(config_path).audit
    verdict = log.verify()
    anchor = f"; head anchor {log.anchor}" if log.anchor else "; no head anchor (truncation not detectable)"
    if verdict.ok:
        click.echo(f"audit log intact: {verdict.records} record(s){anchor}")
        return
    where = f"seq {verdict.first_bad_seq}" if verdict.first_bad_seq is not None else "head anchor"
    click.echo(f"audit log TAMPERED at {where}: {verdict.reason} ({verdict.records} record(s) present)", err=True)
    sys.exit(1)


@audit_group.command("export")
@CONFIG_OPTION
@click.option("--since", default=None, help="only records at or after this ISO 8601 time (with timezone)")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="jsonl", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="file to write (default: stdout)")
def export(config_path: str, since: str | None, fmt: str, output: Path | None) -> None:
    """Write the audit records (with their hashes) for an auditor; the export itself is audited."""
    stores = Stores.load(config_path)
    start = parse_time(since, "--since")
    log = stores.audit
    try:
        handle = open(output, "w", newline="", encoding="utf-8") if output else sys.stdout
    except OSError as exc:
        raise UsageProblem(f"{output}: cannot write ({exc.strerror or exc})") from None
    try:
        written = write_export(log.iter_all(), fmt, handle, since=start)
    finally:
        if output:
            handle.close()
    log.record(os_user(), "audit.export", str(output or "stdout"),
               {"format": fmt, "since": since, "records": written})
    if output:
        click.echo(f"exported {written} audit record(s) to {output}", err=True)
