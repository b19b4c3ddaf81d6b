"""The audit log as auditors read it through the API: filtered, paged, verified, exported; every read audited."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3

from facetrail.audit.chain import verify_chain, AuditRecord
from facetrail.audit.log import AuditLog


def _records(world, action: str) -> list:
    return [r for r in AuditLog(world.db).records() if r.action == action]


def test_the_log_is_filtered_by_actor_and_action_newest_first(client, world, as_role):
    client.get("/api/v1/tracks", headers=as_role["operator"])
    client.get("/api/v1/people", headers=as_role["enroller"])
    page = client.get("/api/v1/audit", headers=as_role["auditor"], params={"actor": "operator1", "action": "tracks"}).json()
    assert [(r["actor"], r["action"]) for r in page["items"]] == [("operator1", "tracks.search")]
    everything = client.get("/api/v1/audit", headers=as_role["auditor"]).json()["items"]
    assert [r["seq"] for r in everything] == sorted((r["seq"] for r in everything), reverse=True)


def test_an_action_matches_the_actions_under_it_only_at_a_dot(client, world, as_role):
    client.get("/api/v1/people", headers=as_role["enroller"])  # watchlist.read
    page = client.get("/api/v1/audit", headers=as_role["auditor"], params={"action": "watchlist"}).json()
    assert {r["action"] for r in page["items"]} == {"watchlist.read"}
    assert client.get("/api/v1/audit", headers=as_role["auditor"], params={"action": "watch"}).json()["total"] == 0


def test_pages_cover_the_matching_records_once_each(client, world, as_role):
    for _ in range(5):
        client.get("/api/v1/tracks", headers=as_role["operator"])
    params = {"action": "tracks.search", "limit": 2}
    pages = [client.get("/api/v1/audit", headers=as_role["auditor"], params={**params, "offset": o}).json() for o in (0, 2, 4)]
    seqs = [r["seq"] for p in pages for r in p["items"]]
    assert pages[0]["total"] == 5 and len(seqs) == 5 and len(set(seqs)) == 5


def test_reading_the_log_is_itself_audited_with_the_filter(client, world, as_role):
    client.get("/api/v1/audit", headers=as_role["auditor"], params={"actor": "operator1"})
    [read] = _records(world, "audit.read")
    assert read.actor == "auditor1" and read.details["actor"] == "operator1"


def test_verify_says_intact_then_names_the_first_edited_record(client, world, as_role):
    intact = client.get("/api/v1/audit/verify", headers=as_role["auditor"]).json()
    assert intact["intact"] and intact["records"] > 0 and intact["first_bad_seq"] is None
    conn = sqlite3.connect(world.root / "facetrail.db", isolation_level=None)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit_log SET actor='mallory' WHERE seq=3")
    conn.close()
    broken = client.get("/api/v1/audit/verify", headers=as_role["auditor"]).json()
    assert not broken["intact"] and broken["first_bad_seq"] == 3 and broken["problems"][0].startswith("seq 3:")


def test_a_jsonl_export_holds_its_own_record_and_verifies_without_the_server(client, world, as_role):
    response = client.get("/api/v1/audit/export", headers=as_role["auditor"], params={"format": "jsonl"})
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    rows = [json.loads(line) for line in response.text.splitlines()]
    assert rows[-1]["action"] == "audit.export" and rows[-1]["actor"] == "auditor1"
    from datetime import datetime

    records = [AuditRecord(r["seq"], datetime.fromisoformat(r["at"]), r["actor"], r["action"], r["subject"], r["details"],
                           r["prev_hash"], r["hash"]) for r in rows]
    assert verify_chain(records).ok


def test_a_csv_export_has_a_header_and_a_row_per_record(client, world, as_role):
    response = client.get("/api/v1/audit/export", headers=as_role["auditor"], params={"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert response.headers["content-type"].startswith("text/csv")
    assert len(rows) == AuditLog(world.db).count() and rows[-1]["action"] == "audit.export"


def test_auditors_see_every_entrys_legal_basis_and_expiry_and_no_photo(client, as_role):
    page = client.get("/api/v1/audit/entries", headers=as_role["auditor"]).json()
    assert {p["display_name"] for p in page["items"]} == {"Ada Lovelace", "Bob Byrne"}
    assert all(p["legal_basis"] == "case 2026/17" and p["expires_at"] for p in page["items"])
    assert not any("photo" in key for p in page["items"] for key in p)
    assert client.get("/api/v1/people/ada/photos/0", headers=as_role["auditor"]).status_code == 403


def test_the_actor_filter_matches_the_start_of_a_name_in_any_case(client, world, as_role):
    client.get("/api/v1/tracks", headers=as_role["operator"])
    page = client.get("/api/v1/audit", headers=as_role["auditor"], params={"actor": "OPER", "action": "tracks"}).json()
    assert [r["actor"] for r in page["items"]] == ["operator1"]
    assert client.get("/api/v1/audit", headers=as_role["auditor"], params={"actor": "perator"}).json()["total"] == 0


def test_an_auditor_finds_a_person_by_part_of_the_name_and_an_erased_one_by_id_without_a_name(client, world, as_role):
    people = client.get("/api/v1/audit/entries", headers=as_role["auditor"]).json()["items"]
    bob = next(p for p in people if p["display_name"] == "Bob Byrne")
    found = client.get("/api/v1/audit/people", headers=as_role["auditor"], params={"q": "byrne"}).json()["items"]
    assert [(p["entry_id"], p["state"]) for p in found] == [(bob["entry_id"], "current")]

    client.delete(f"/api/v1/people/{bob['entry_id']}", headers=as_role["enroller"], params={"reason": "case closed"})
    assert client.get("/api/v1/audit/people", headers=as_role["auditor"], params={"q": "byrne"}).json()["items"] == []
    [erased] = client.get("/api/v1/audit/people", headers=as_role["auditor"], params={"q": bob["entry_id"][:6]}).json()["items"]
    assert erased["state"] == "erased" and erased["display_name"] is None and erased["erased_at"]
    assert erased["erased_how"] == "watchlist.remove" and "Bob" not in json.dumps(erased)
    [removal] = _records(world, "watchlist.remove")
    assert removal.details["reason_sha256"] == hashlib.sha256(b"case closed").hexdigest()
