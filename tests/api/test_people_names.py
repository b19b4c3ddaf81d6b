"""POST /people: the same person cannot be enrolled twice on one list under a re-spelt name, and a refused body is
never echoed back."""

from __future__ import annotations

import pytest

from facetrail.audit.log import AuditLog

PICK = [{"upload_id": "0" * 32, "face": 0}]


def _person(name: str, **extra) -> dict:
    return {"display_name": name, "legal_basis": "case 2026/114", "image_source": "press archive", "expires_in_days": 30,
            "photos": PICK, **extra}


@pytest.mark.parametrize("name", ["Ada Lovelace ", "ada lovelace", "ADA  LOVELACE", "Ada\u00a0Lovelace", "\uff21da Lovelace"])
def test_a_re_spelt_name_of_an_enrolled_person_is_a_409(client, as_role, name):
    response = client.post("/api/v1/people", headers=as_role["enroller"], json=_person(name))
    assert response.status_code == 409, response.text
    assert "already on watch-list 'default'" in response.json()["detail"]


def test_a_refused_name_and_legal_basis_are_not_echoed(client, as_role, world):
    body = _person("Ada <script>Lovelace", legal_basis="Zebra case\x1b[2J 77")
    response = client.post("/api/v1/people", headers=as_role["enroller"], json=body)
    assert response.status_code == 422 and "display_name" in response.text
    assert "Lovelace" not in response.text and "script" not in response.text
    response = client.post("/api/v1/people", headers=as_role["enroller"], json=_person("Zed Zephyr", legal_basis="Zebra case\x1b[2J 77"))
    assert response.status_code == 422 and "legal_basis" in response.text
    assert "Zebra" not in response.text and "Zephyr" not in response.text


def test_forgetting_an_uploaded_photo_is_audited(client, as_role, world):
    response = client.delete(f"/api/v1/enrolment/photos/{'a' * 32}", headers=as_role["enroller"])
    assert response.status_code == 204
    [forgot] = [r for r in AuditLog(world.db).records() if r.action == "watchlist.photo.forget"]
    assert forgot.actor == "enroller1" and forgot.details == {"upload_id": "a" * 32, "held": False}


def test_an_enrolment_that_loses_the_race_for_a_name_is_a_409_and_leaves_no_photo_stored(client, as_role, world,
                                                                                        monkeypatch):
    """Two enrolments of one person at once both pass the early check; the unique index lets one through."""
    from .enrolment_photos import jpeg_bytes, photo

    uploaded = client.post("/api/v1/enrolment/photos", content=jpeg_bytes(photo("obama.jpg")),
                           headers={**as_role["enroller"], "Content-Type": "image/jpeg"}).json()
    objects_before = sorted(world.objects.keys())
    ctx = client.app.state.ctx
    monkeypatch.setattr(type(ctx.watchlist), "find_by_name", lambda store, name, watchlist=None: [])  # checked too early
    response = client.post("/api/v1/people", headers=as_role["enroller"], json={
        **_person("ada  LOVELACE"), "photos": [{"upload_id": uploaded["upload_id"], "face": 0}]})
    assert response.status_code == 409 and "already on watch-list 'default'" in response.json()["detail"]
    assert sorted(world.objects.keys()) == objects_before
    assert [r.entry_id for r in ctx.watchlist.records()] == ["ada", "bob"]
