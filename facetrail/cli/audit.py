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

UNREACHABLE_EXIT = 69  # sysexits' EX_UNAVAILABLE: not checked, as against 1: checked and broken


@click.group("audit")
def audit_group() -> None:
    """Verify and export the append-only, hash-chained audit log."""


@audit_group.command("verify")
@CONFIG_OPTION
def verify(config_path: str) -> None:
    """Check every record's hash and link, and that no last records were deleted (exit 1 naming each broken record;
    exit 69 when the database cannot be reached, so a monitor never takes an outage for tampering)."""
    from facetrail.storage.reachability import DATABASE_AWAY, is_unreachable

    try:
        log = Stores.load(config_path).audit
        verdict = log.verify()
    except DATABASE_AWAY as exc:
        if not is_unreachable(exc):
            raise
        click.echo("error: cannot reach the database, so the audit log was not checked "
                   f"({str(getattr(exc, 'orig', exc)).strip().splitlines()[0][:200]})", err=True)
        sys.exit(UNREACHABLE_EXIT)
    anchor = f"; head anchor {log.anchor}" if log.anchor else "; no head anchor (truncation not detectable)"
    if verdict.ok:
        click.echo(f"audit log intact: {verdict.records} record(s){anchor}")
        return
    for seq, reason in verdict.problems or ((verdict.first_bad_seq, verdict.reason),):
        where = f"seq {seq}" if seq is not None else "head anchor"
        click.echo(f"audit log TAMPERED at {where}: {reason}", err=True)
    click.echo(f"{len(verdict.problems) or 1} broken record(s) among {verdict.records} present", err=True)
    sys.exit(1)


@audit_group.command("export")
@CONFIG_OPTION
@click.option("--since", default=None, help="only records at or after this ISO 8601 time (with timezone)")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="jsonl", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="file to write (default: stdout)")
def export(config_path: str, since: str | None, fmt: str, output: Path | None) -> None:
    """Write the audit records (with their hashes) for an auditor; the export itself is audited.

    The export is recorded before a single record is written, so an export cut short (a closed pipe, a full
    disk) is on the log too, and every export ends with its own record."""
    stores = Stores.load(config_path)
    start = parse_time(since, "--since")
    log = stores.audit
    try:
        handle = open(output, "w", newline="", encoding="utf-8") if output else sys.stdout
    except OSError as exc:
        raise UsageProblem(f"{output}: cannot write ({exc.strerror or exc})") from None
    log.record(os_user(), "audit.export", str(output or "stdout"), {"format": fmt, "since": since})
    try:
        written = write_export(log.iter_all(), fmt, handle, since=start)
        handle.flush()
    except OSError as exc:
        raise UsageProblem(f"{output or 'stdout'}: the export stopped ({exc.strerror or exc})") from None
    finally:
        if output:
            try:
                handle.close()
            except OSError:
                pass  # the write error above says what went wrong
    if output:
        click.echo(f"exported {written} audit record(s) to {output}", err=True)
