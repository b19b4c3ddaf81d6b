"""An audit export is safe to open: no CSV cell runs as a spreadsheet formula, and no control character reaches a
terminal raw (attacker-chosen user names of failed logins land in the log verbatim)."""

from __future__ import annotations

import csv
import io
import json
import unicodedata

import pytest
from click.testing import CliRunner

from facetrail.audit.log import AuditLog
from facetrail.cli.main import cli
from facetrail.storage.database import Database

HOSTILE = ['=HYPERLINK("http://evil.example/","click")', "+1+cmd|' /C calc'!A0", "@SUM(1,1)", "-2+3",
           "\tTAB=1+1", "\r=1+1", "clear\x1b[2J screen", "two\nlines", "bell\x07\x9b31m", "right\u202eto\u2066left"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "facetrail.yaml"
    path.write_text("database: {url: 'sqlite:///facetrail.db'}\nbus: {kind: sqlite, path: bus.db}\nobjects: {kind: local, path: o}\n")
    db = Database(f"sqlite:///{tmp_path / 'facetrail.db'}")
    log = AuditLog(db)
    for name in HOSTILE:
        log.record(name, "login.failure", name, {"client": "127.0.0.1", "username": name})
    db.dispose()
    return path


def _raw_controls(text: str) -> list[str]:
    """Control and bidirectional format characters, the line breaks that end CSV records and JSON lines excepted."""
    return [c for c in text if c not in "\r\n" and unicodedata.category(c) in ("Cc", "Cf")]


def test_no_csv_cell_starts_a_formula(config):
    result = CliRunner().invoke(cli, ["audit", "export", "-c", str(config), "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    cells = [cell for row in rows for cell in row.values()]
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
    actors = [row["actor"] for row in rows if row["action"] == "login.failure"]
    assert actors[0] == "'" + HOSTILE[0] and actors[3] == "'-2+3"  # neutralised as OWASP says, still readable


def test_a_csv_export_holds_no_raw_control_character_and_one_line_per_record(config):
    result = CliRunner().invoke(cli, ["audit", "export", "-c", str(config), "--format", "csv"])
    assert _raw_controls(result.output) == []
    assert len(result.output.strip().splitlines()) == 1 + len(HOSTILE) + 1  # header, records, the export's own
    assert "\\u001b[2J" in result.output and "\\u202e" in result.output


def test_a_jsonl_export_escapes_controls_and_bidi_and_stays_exact(config):
    result = CliRunner().invoke(cli, ["audit", "export", "-c", str(config)])
    assert _raw_controls(result.output) == []
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["actor"] for r in rows if r["action"] == "login.failure"] == HOSTILE  # escaping loses nothing


def test_the_api_csv_export_is_neutralised_too(tmp_path, config):
    from fastapi.testclient import TestClient

    from facetrail.api.app import create_app
    from facetrail.auth.accounts import Accounts
    from facetrail.config import load_config
    from facetrail.storage.user_store import UserStore

    loaded = load_config(config)
    db = Database(loaded.database.url)
    Accounts(UserStore(db)).create_user("audra", "auditor", "correct horse battery staple")
    with TestClient(create_app(loaded, live_alerts=False)) as client:
        token = client.post("/api/v1/login", json={"username": "audra", "password": "correct horse battery staple"})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        response = client.get("/api/v1/audit/export", headers=headers, params={"format": "csv"})
    db.dispose()
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert not [c for row in rows for c in row.values() if c.startswith(FORMULA_STARTS)]
    assert _raw_controls(response.text) == []
