"""Tracks, visits, sightings, people and cameras as the pipeline stored them, with time and page bounds."""

from __future__ import annotations

from datetime import timedelta

from facetrail.audit.log import AuditLog

from .conftest import T0


def _get(client, headers, url, **params):
    response = client.get(url, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_persons_track_lists_the_cameras_in_order_with_their_positions(module_client, module_roles):
    page = _get(module_client, module_roles["operator"], "/api/v1/tracks", person="ada")
    [track] = page["items"]
    assert [v["camera_id"] for v in track["visits"]] == ["gate", "lobby", "yard"]
    assert [(v["x"], v["y"]) for v in track["visits"]] == [(0, 0), (40, 10), (80, 40)]
    assert track["person"] == "Ada Lovelace" and track["plausible"]


def test_a_track_window_that_ends_before_the_track_finds_nothing(module_client, module_roles):
    until = (T0 - timedelta(hours=2)).isoformat()
    assert _get(module_client, module_roles["operator"], "/api/v1/tracks", person="ada", until=until)["items"] == []


def test_tracks_filtered_by_camera_are_those_that_passed_it(module_client, module_roles):
    at_yard = _get(module_client, module_roles["operator"], "/api/v1/tracks", camera="yard")["items"]
    at_lobby = _get(module_client, module_roles["operator"], "/api/v1/tracks", camera="lobby")["items"]
    assert [t["person"] for t in at_yard] == ["Ada Lovelace"]
    assert sorted(t["person"] for t in at_lobby) == ["Ada Lovelace", "Bob Byrne"]


def test_visits_at_a_camera_name_the_people_seen_there(module_client, module_roles):
    page = _get(module_client, module_roles["operator"], "/api/v1/cameras/lobby/visits")
    assert sorted(item["person"] for item in page["items"]) == ["Ada Lovelace", "Bob Byrne"]


def test_sightings_filter_by_camera_and_link_their_evidence(module_client, module_roles):
    page = _get(module_client, module_roles["operator"], "/api/v1/sightings", camera="gate")
    [sighting] = page["items"]
    assert sighting["evidence_url"] == f"/api/v1/sightings/{sighting['event_id']}/evidence"
    assert sighting["photo_url"] == "/api/v1/people/ada/photos/0" and sighting["status"] == "candidate"


def test_the_alert_queue_lists_candidates_newest_first(module_client, module_roles):
    items = _get(module_client, module_roles["operator"], "/api/v1/alerts")["items"]
    times = [item["first_seen"] for item in items]
    assert len(items) == 4 and times == sorted(times, reverse=True)


def test_pages_are_bounded_by_limit_and_offset(module_client, module_roles):
    first = _get(module_client, module_roles["operator"], "/api/v1/sightings", limit=2)
    second = _get(module_client, module_roles["operator"], "/api/v1/sightings", limit=2, offset=2)
    ids = [s["event_id"] for s in first["items"] + second["items"]]
    assert len(ids) == 4 == len(set(ids))


def test_a_limit_over_500_is_a_clear_422(module_client, module_roles):
    response = module_client.get("/api/v1/sightings", headers=module_roles["operator"], params={"limit": 501})
    assert response.status_code == 422 and "query.limit" in response.json()["message"]


def test_a_window_over_31_days_is_a_clear_422(module_client, module_roles):
    since, until = (T0 - timedelta(days=40)).isoformat(), T0.isoformat()
    response = module_client.get("/api/v1/tracks", headers=module_roles["operator"], params={"since": since, "until": until})
    assert response.status_code == 422 and "at most 31 days" in response.json()["message"]


def test_a_time_without_a_timezone_is_a_clear_422(module_client, module_roles):
    response = module_client.get("/api/v1/sightings", headers=module_roles["operator"], params={"since": "2026-01-01T09:00:00"})
    assert response.status_code == 422 and "timezone" in response.json()["message"]


def test_an_until_before_since_is_a_clear_422(module_client, module_roles):
    response = module_client.get("/api/v1/sightings", headers=module_roles["operator"],
                                 params={"since": T0.isoformat(), "until": (T0 - timedelta(hours=1)).isoformat()})
    assert response.status_code == 422 and "before since" in response.json()["message"]


def test_the_watch_list_shows_people_without_embeddings(module_client, module_roles):
    page = _get(module_client, module_roles["enroller"], "/api/v1/people")
    assert [p["display_name"] for p in page["items"]] == ["Ada Lovelace", "Bob Byrne"]
    assert all("embedding" not in key for person in page["items"] for key in person)
    assert page["items"][0]["photos"] == 1 and page["total"] == 2


def test_cameras_come_with_their_positions_and_no_source(module_client, module_roles):
    cameras = _get(module_client, module_roles["operator"], "/api/v1/cameras")
    assert [(c["camera_id"], c["x"], c["y"]) for c in cameras["items"]] == [("gate", 0, 0), ("lobby", 40, 10), ("yard", 80, 40)]
    assert "source" not in cameras["items"][0] and cameras["items"][0]["health"] is None


def test_searches_and_views_are_audited_with_actor_and_parameters(module_client, module_roles, module_world):
    track = _get(module_client, module_roles["operator"], "/api/v1/tracks", person="ada", limit=5)["items"][0]
    _get(module_client, module_roles["operator"], f"/api/v1/tracks/{track['track_id']}")
    records = AuditLog(module_world.db).records()
    search = [r for r in records if r.action == "tracks.search" and r.details.get("limit") == 5][-1]
    assert search.actor == "operator1" and search.subject == "ada"
    assert any(r.action == "track.view" and r.subject == track["track_id"] for r in records)
