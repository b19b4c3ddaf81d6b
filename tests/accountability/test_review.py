"""Human confirmation: a match stays a candidate until enough different people confirm it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from sqlalchemy import select

from facetrail.analytics.face_models import FaceModels

from facetrail.audit.log import AuditLog
from facetrail.events import Box, SightingEvent
from facetrail.accountability.review import ReviewDesk, ReviewError
from facetrail.storage.database import Database
from facetrail.storage.models import ReviewRow
from facetrail.storage.sighting_store import SightingStore
from facetrail.storage.watchlist_store import WatchlistStore
from facetrail.watchlist import EntryRecord

from .conftest import CAMERA, T0, walk

NOW = datetime.now(timezone.utc)


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'facetrail.db'}")
    yield database
    database.dispose()


@pytest.fixture
def event_id(db) -> str:
    record = EntryRecord(entry_id="e1", display_name="Ada", watchlist="default", legal_basis="case 42", image_source="test",
                         enrolled_by="tester", created_at=NOW, expires_at=NOW + timedelta(days=30))
    WatchlistStore(db).add(record, np.ones((1, 128), np.float32), [None], model="dlib-resnet-v1")
    event = SightingEvent.create(camera_id="gate-1", entry_id="e1", first_seen=NOW, last_seen=NOW, score=0.6,
                                 box=Box(x=1, y=2, w=50, h=50), quality=0.7, final=True)
    SightingStore(db).upsert_many([event])
    return event.event_id


def desk(db, required=2) -> ReviewDesk:
    return ReviewDesk(db, AuditLog(db), reviewers_required=required)


def test_the_two_person_rule_is_the_default(db):
    assert ReviewDesk(db, AuditLog(db)).required == 2


def test_one_confirmation_leaves_a_candidate_under_the_two_person_rule(db, event_id):
    outcome = desk(db).decide(event_id, "alice", "confirm")
    assert (outcome.status, outcome.confirmations, outcome.required) == ("candidate", 1, 2)
    assert SightingStore(db).get(event_id).status == "candidate"


def test_the_same_reviewer_confirming_twice_still_leaves_a_candidate(db, event_id):
    reviews = desk(db)
    reviews.decide(event_id, "alice", "confirm")
    outcome = reviews.decide(event_id, "alice", "confirm")
    assert (outcome.status, outcome.confirmations) == ("candidate", 1)
    assert SightingStore(db).get(event_id).status == "candidate"


def test_two_different_reviewers_confirm_a_match(db, event_id):
    reviews = desk(db)
    reviews.decide(event_id, "alice", "confirm")
    outcome = reviews.decide(event_id, "bob", "confirm", note="same jacket as the case photo")
    assert (outcome.status, outcome.confirmations) == ("confirmed", 2)
    assert SightingStore(db).get(event_id).status == "confirmed"


def test_one_reviewer_confirms_under_the_one_person_rule(db, event_id):
    assert desk(db, required=1).decide(event_id, "alice", "confirm").status == "confirmed"


def test_a_reject_by_one_reviewer_rejects_even_after_a_confirmation(db, event_id):
    reviews = desk(db)
    reviews.decide(event_id, "alice", "confirm")
    assert reviews.decide(event_id, "bob", "reject").status == "rejected"
    assert SightingStore(db).get(event_id).status == "rejected"


def test_deciding_an_already_decided_sighting_is_refused(db, event_id):
    reviews = desk(db, required=1)
    reviews.decide(event_id, "alice", "confirm")
    with pytest.raises(ReviewError, match="already confirmed"):
        reviews.decide(event_id, "bob", "reject")


def test_an_unknown_sighting_or_decision_or_anonymous_reviewer_is_refused(db, event_id):
    reviews = desk(db)
    with pytest.raises(ReviewError, match="no sighting"):
        reviews.decide("0" * 32, "alice", "confirm")
    with pytest.raises(ReviewError, match="decision must be"):
        reviews.decide(event_id, "alice", "maybe")
    with pytest.raises(ReviewError, match="reviewer"):
        reviews.decide(event_id, "  ", "confirm")


def test_decisions_and_reviewers_are_recorded_in_the_reviews_table_and_the_audit_log(db, event_id):
    reviews = desk(db)
    reviews.decide(event_id, "alice", "confirm", note="looks right")
    reviews.decide(event_id, "bob", "confirm")
    with db.session() as session:
        rows = session.scalars(select(ReviewRow).order_by(ReviewRow.id)).all()
    assert [(r.reviewer, r.decision, r.note) for r in rows] == [("alice", "confirm", "looks right"), ("bob", "confirm", "")]
    records = [r for r in AuditLog(db).records() if r.action == "review.decision"]
    assert [(r.actor, r.subject, r.details["status"]) for r in records] == [
        ("alice", event_id, "candidate"), ("bob", event_id, "confirmed")]
    assert "looks right" not in str(records[0].details)  # notes stay in the erasable table, the log keeps a hash
    assert AuditLog(db).verify().ok


def test_a_rejected_false_match_is_suppressed_next_time(site, photo_path, head_patch, detector, embedder):
    # A deliberately loose threshold makes Biden falsely match Obama's entry.
    obama = site.enrol(photo_path("obama.jpg"), "Obama", threshold=1.2, detector=detector, embedder=embedder)
    biden = head_patch("biden.jpg")
    site.analyse(walk(biden, T0), detector, embedder)
    stored = SightingStore(site.db).search(entry_ids=[obama.entry_id])
    assert len(stored) == 1, "precondition: the loose threshold must produce the false match"
    false_match = stored[0].event
    assert list(site.objects.keys(false_match.evidence_key)) == [false_match.evidence_key]

    reviews = ReviewDesk(site.db, site.audit, reviewers_required=2, objects=site.objects,
                         face_models=lambda: FaceModels(detector, embedder))
    assert reviews.decide(false_match.event_id, "alice", "reject", note="not him").status == "rejected"

    assert len(site.watchlist.enrolled_people(embedder.space.model)[0].rejected) == 1
    assert list(site.objects.keys("evidence/")) == []  # the wrongly matched passer-by's crop is gone
    audit = [r for r in site.audit.records() if r.action == "review.decision"][-1]
    assert audit.details["rejected_example"] == "kept"

    again = site.analyse(walk(biden, T0 + timedelta(minutes=5), first_index=100), detector, embedder)
    assert again.counters.matched_passes == 0 and again.counters.unmatched_passes == 1
    assert len(SightingStore(site.db).search(entry_ids=[obama.entry_id])) == 1


def test_a_second_reviewer_withdraws_a_rejections_example_and_the_person_is_matched_again(
        site, photo_path, head_patch, detector, embedder):
    obama = site.enrol(photo_path("obama.jpg"), "Obama", threshold=1.2, detector=detector, embedder=embedder)
    biden = head_patch("biden.jpg")
    site.analyse(walk(biden, T0), detector, embedder)
    [false_match] = SightingStore(site.db).search(entry_ids=[obama.entry_id])
    reviews = ReviewDesk(site.db, site.audit, reviewers_required=2, objects=site.objects,
                         face_models=lambda: FaceModels(detector, embedder))
    reviews.decide(false_match.event.event_id, "alice", "reject")
    assert reviews.example_of(false_match.event.event_id).state == "kept"

    with pytest.raises(ReviewError, match="second reviewer"):
        reviews.withdraw_example(false_match.event.event_id, "alice", "I was wrong")
    withdrawn = reviews.withdraw_example(false_match.event.event_id, "bob", "the same clip shows him again")

    assert (withdrawn.state, withdrawn.rejected_by, withdrawn.withdrawn_by) == ("withdrawn", "alice", "bob")
    assert len(site.watchlist.enrolled_people(embedder.space.model)[0].rejected) == 0
    again = site.analyse(walk(biden, T0 + timedelta(minutes=5), first_index=100), detector, embedder)
    assert again.counters.matched_passes == 1  # no longer suppressed
    with pytest.raises(ReviewError, match="already withdrawn by bob"):
        reviews.withdraw_example(false_match.event.event_id, "carol", "again")
    assert [r.actor for r in site.audit.records() if r.action == "review.example.withdraw"] == ["bob"]
