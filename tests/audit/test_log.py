"""The audit log shows any edit, deletion or truncation, and `facetrail audit` reports it."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from facetrail.audit.chain import AuditRecord, verify_chain
from facetrail.audit.log import AuditLog, os_user
from facetrail.cli.main import cli
from facetrail.storage.database import Database


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "facetrail.yaml"
    path.write_text("database: {url: 'sqlite:///facetrail.db'}\nbus: {kind: sqlite, path: bus.db}\nobjects: {kind: local, path: objects}\n")
    return path


@pytest.fixture
def log(tmp_path, config) -> AuditLog:
    db = Database(f"sqlite:///{tmp_path / 'facetrail.db'}")
    audit = AuditLog(db)
    for i in range(5):
        audit.record("alice", "watchlist.enrol", f"entry-{i}", {"watchlist": "default"})
    yield audit
    db.dispose()


def raw(tmp_path) -> sqlite3.Connection:
    """What an attacker with file access does: open the database directly and drop the guards."""
    conn = sqlite3.connect(tmp_path / "facetrail.db", isolation_level=None)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("DROP TRIGGER audit_no_delete")
    return conn


def verify(config: Path):
    return CliRunner().invoke(cli, ["audit", "verify", "-c", str(config)])


def test_an_intact_log_verifies(log, config):
    result = verify(config)
    assert result.exit_code == 0, result.output
    assert "intact: 5 record(s)" in result.output


def test_the_database_refuses_to_update_or_delete_audit_rows(log, tmp_path):
    conn = sqlite3.connect(tmp_path / "facetrail.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE audit_log SET actor='mallory' WHERE seq=2")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM audit_log WHERE seq=5")


def test_an_edited_record_fails_verification_at_its_seq(log, tmp_path, config):
    raw(tmp_path).execute("UPDATE audit_log SET actor='mallory' WHERE seq=3")
    result = verify(config)
    assert result.exit_code == 1
    assert "seq 3" in result.output and "edited" in result.output


def test_a_deleted_middle_record_fails_verification(log, tmp_path, config):
    raw(tmp_path).execute("DELETE FROM audit_log WHERE seq=2")
    result = verify(config)
    assert result.exit_code == 1 and "seq 3" in result.output


@pytest.mark.parametrize("column, value", [("details", "{not json"), ("details", "[1, 2]"), ("at", "not a date"),
                                            ("at", "2026-13-45 99:00:00")])
def test_a_malformed_record_is_reported_broken_and_the_check_carries_on(log, tmp_path, config, column, value):
    conn = raw(tmp_path)
    conn.execute(f"UPDATE audit_log SET {column}=? WHERE seq=2", (value,))
    conn.execute("UPDATE audit_log SET actor='mallory' WHERE seq=4")
    result = verify(config)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "TAMPERED at seq 2: the record is unreadable" in result.output
    assert "TAMPERED at seq 4: content does not match its hash" in result.output  # found after the unreadable one
    assert "2 broken record(s) among 5 present" in result.output


def test_deleting_the_last_record_fails_verification(log, tmp_path, config):
    raw(tmp_path).execute("DELETE FROM audit_log WHERE seq=5")
    assert verify_chain(log.records()).ok  # the shortened chain alone looks valid...
    result = verify(config)
    assert result.exit_code == 1  # ...but the head anchor remembers record 5
    assert "seq 5" in result.output and "deleted" in result.output


def test_rewriting_the_whole_tail_consistently_fails_verification(log, tmp_path):
    """Re-hashing forged records keeps the chain valid, but the anchored hash no longer matches."""
    from facetrail.audit.chain import record_hash

    conn = raw(tmp_path)
    records = log.records()
    last = records[-1]
    forged = record_hash(last.seq, last.at, "mallory", last.action, last.subject, last.details, last.prev_hash)
    conn.execute("UPDATE audit_log SET actor='mallory', hash=? WHERE seq=?", (forged, last.seq))
    verdict = log.verify()
    assert not verdict.ok and verdict.first_bad_seq == 5 and "different hash" in verdict.reason


def test_a_deleted_head_anchor_fails_verification(log):
    log.anchor.path.unlink()
    verdict = log.verify()
    assert not verdict.ok and "anchor is missing" in verdict.reason


def test_the_anchor_never_moves_backwards(log):
    from facetrail.audit.anchor import Head

    log.anchor.advance(Head(2, "old"))
    assert log.anchor.read().seq == 5


def test_export_writes_every_record_with_its_hashes_and_ends_with_its_own_record(log, config, tmp_path):
    out = tmp_path / "audit.jsonl"
    result = CliRunner().invoke(cli, ["audit", "export", "-c", str(config), "--output", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3, 4, 5, 6]
    from datetime import datetime

    exported = [AuditRecord(r["seq"], datetime.fromisoformat(r["at"]), r["actor"], r["action"], r["subject"], r["details"],
                            r["prev_hash"], r["hash"]) for r in lines]
    assert verify_chain(exported).ok  # an auditor can check the export without our database
    last = log.records()[-1]
    assert (last.seq, last.action, last.actor, last.details["format"]) == (6, "audit.export", os_user(), "jsonl")
    assert lines[-1]["hash"] == last.hash


def test_an_export_cut_short_is_on_the_log_and_says_why_in_one_line(log, config):
    result = CliRunner().invoke(cli, ["audit", "export", "-c", str(config), "--output", "/dev/full"])
    assert result.exit_code == 1 and "the export stopped (No space left on device)" in result.output
    assert "Traceback" not in result.output
    assert log.records()[-1].action == "audit.export" and log.verify().ok


def test_export_as_csv_with_since_filters_by_time(log, config):
    result = CliRunner().invoke(cli, ["audit", "export", "-c", str(config), "--format", "csv", "--since", "2999-01-01T00:00:00Z"])
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert rows == []
    result = CliRunner().invoke(cli, ["audit", "export", "-c", str(config), "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert len(rows) == 7 and json.loads(rows[0]["details"]) == {"watchlist": "default"}


def test_export_with_a_bad_since_gives_one_clear_line(log, config):
    result = CliRunner().invoke(cli, ["audit", "export", "-c", str(config), "--since", "yesterday"])
    assert result.exit_code != 0 and "not an ISO 8601 time" in result.output and "Traceback" not in result.output


def test_a_configured_anchor_holds_the_head_instead_of_the_file_beside_the_database(tmp_path):
    from facetrail.stores import Stores

    path = tmp_path / "facetrail.yaml"
    path.write_text("database: {url: 'sqlite:///facetrail.db'}\naudit: {anchor: anchors/head}\n")
    stores = Stores.load(path)
    try:
        stores.audit.record("alice", "watchlist.enrol", "entry-1", {"watchlist": "default"})
        assert json.loads((tmp_path / "anchors" / "head").read_text())["seq"] == 1
        assert not (tmp_path / "facetrail.db.audit-head").exists()
        assert stores.audit.verify().ok
    finally:
        stores.db.dispose()
