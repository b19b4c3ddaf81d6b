"""An enroller removing a person erases their entry, sightings, tracks and images, and the removal is audited."""

from __future__ import annotations

from facetrail.audit.log import AuditLog
from facetrail.storage.sighting_store import SightingStore

from .conftest import login


def test_removing_a_person_erases_what_was_derived_from_them(client, world):
    response = client.delete("/api/v1/people/ada", headers=login(client, "enroller1"))
    assert response.status_code == 200 and response.json()["objects_deleted"] == 4  # three crops and one photo
    assert SightingStore(world.db).search(entry_ids=["ada"]) == [] and list(world.objects.keys("enrolment/ada")) == []
    assert any(r.action == "watchlist.remove" and r.subject == "ada" for r in AuditLog(world.db).records())
    assert client.get("/api/v1/tracks", headers=login(client, "operator1"), params={"person": "ada"}).json()["items"] == []
