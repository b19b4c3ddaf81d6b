from datetime import timedelta

from facetrail.events import Box, SightingEvent
from facetrail.storage.review_store import ReviewStore
from facetrail.storage.sighting_store import SightingStore

from tests.storage.conftest import NOW


def _stored(db) -> str:
    event = SightingEvent.create(camera_id="cam-a", entry_id="e1", first_seen=NOW, last_seen=NOW + timedelta(seconds=1),
                                 score=0.6, box=Box(x=0, y=0, w=50, h=50), quality=0.5)
    SightingStore(db).upsert_many([event])
    return event.event_id


def test_two_different_confirmations_confirm_and_the_same_reviewer_counts_once(db, enrolled):
    reviews, event_id = ReviewStore(db), _stored(db)
    assert reviews.record(event_id, "ann", "confirm", "", required=2).status == "candidate"
    again = reviews.record(event_id, "ann", "confirm", "", required=2)
    assert (again.status, again.confirmations, again.counted) == ("candidate", 1, False)
    assert reviews.record(event_id, "bob", "confirm", "", required=2).status == "confirmed"
    assert reviews.confirmations_of([event_id]) == {event_id: 2}
    assert [d.reviewer for d in reviews.decisions(event_id)] == ["ann", "bob"]


def test_a_decided_sighting_takes_no_further_decision_and_an_unknown_one_none(db, enrolled):
    reviews, event_id = ReviewStore(db), _stored(db)
    reviews.record(event_id, "ann", "reject", "not him", required=2)
    late = reviews.record(event_id, "bob", "confirm", "", required=2)
    assert late.decided_before and late.status == "rejected"
    assert len(reviews.decisions(event_id)) == 1
    assert reviews.record("0" * 32, "ann", "confirm", "", required=2) is None
    assert reviews.status("0" * 32) is None


def test_an_entrys_reviews_are_deleted_with_it(db, enrolled):
    reviews, event_id = ReviewStore(db), _stored(db)
    reviews.record(event_id, "ann", "confirm", "", required=2)
    reviews.delete_of_entry("e1")
    assert reviews.decisions(event_id) == []
