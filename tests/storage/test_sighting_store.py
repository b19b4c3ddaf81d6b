import time
from datetime import timedelta

from sqlalchemy import update

from facetrail.events import Box, SightingEvent
from facetrail.storage.models import SightingRow
from facetrail.storage.sighting_store import SightingStore

from tests.storage.conftest import NOW, in_thread


def _event(entry_id="e1", **changes):
    fields = dict(camera_id="cam-a", entry_id=entry_id, first_seen=NOW, last_seen=NOW + timedelta(seconds=1),
                  score=0.6, box=Box(x=0, y=0, w=50, h=50), quality=0.5)
    fields.update(changes)
    return SightingEvent.create(**fields)


def test_storing_the_same_event_twice_keeps_one_sighting(db, enrolled):
    store = SightingStore(db)
    store.upsert_many([_event()])
    store.upsert_many([_event()])
    assert len(store.search()) == 1


def test_a_later_publication_of_a_pass_extends_the_stored_sighting(db, enrolled):
    store = SightingStore(db)
    store.upsert_many([_event()])
    store.upsert_many([_event(last_seen=NOW + timedelta(seconds=5), score=0.4, final=True)])
    [stored] = store.search()
    assert stored.event.last_seen == NOW + timedelta(seconds=5) and stored.event.score == 0.6
    assert stored.status == "candidate"


def test_a_later_publication_merged_while_a_reviewer_decides_on_the_pass_keeps_both(pg_entry):
    db, entry_id = pg_entry
    store = SightingStore(db)
    first = _event(entry_id)
    store.upsert_many([first])
    with db.session() as reviewer:
        reviewer.begin()
        reviewer.execute(update(SightingRow).where(SightingRow.event_id == first.event_id).values(status="confirmed"))
        later = _event(entry_id, last_seen=NOW + timedelta(seconds=5), final=True)
        merging, outcome = in_thread(lambda: store.upsert_many([later]))
        time.sleep(0.5)
        assert merging.is_alive(), "the merge went ahead while the reviewer held the pass"
        reviewer.commit()
    merging.join(timeout=10)
    assert [e.last_seen for e in outcome[0]] == [NOW + timedelta(seconds=5)]
    stored = store.get(first.event_id)
    assert (stored.event.last_seen, stored.status) == (NOW + timedelta(seconds=5), "confirmed")


def test_sightings_of_an_entry_not_on_the_watch_list_are_not_stored(db, enrolled):
    store = SightingStore(db)
    assert store.upsert_many([_event(entry_id="erased")]) == []
    assert store.search() == []


def test_search_filters_by_camera_and_time(db, enrolled):
    store = SightingStore(db)
    store.upsert_many([_event(), _event(camera_id="cam-b", first_seen=NOW + timedelta(hours=1),
                                        last_seen=NOW + timedelta(hours=1, seconds=2))])
    assert [s.event.camera_id for s in store.search(camera_id="cam-b")] == ["cam-b"]
    assert [s.event.camera_id for s in store.search(until=NOW + timedelta(minutes=5))] == ["cam-a"]


def test_a_batch_upsert_names_the_new_events_and_stores_a_redelivered_one_once(db, enrolled):
    store = SightingStore(db)
    first = store.upsert_batch([_event()])
    again = store.upsert_batch([_event(), _event(camera_id="cam-b")])
    assert first.new_ids == {_event().event_id} and again.new_ids == {_event(camera_id="cam-b").event_id}
    assert len(store.search()) == 2


def test_a_final_publication_in_a_later_batch_updates_the_stored_pass(db, enrolled):
    store = SightingStore(db)
    store.upsert_batch([_event(score=0.5)])
    [merged] = store.upsert_batch([_event(last_seen=NOW + timedelta(seconds=9), score=0.8, final=True)]).events
    [stored] = store.search()
    assert stored.event == merged
    assert (stored.event.last_seen, stored.event.score, stored.event.final) == (NOW + timedelta(seconds=9), 0.8, True)


def test_publications_of_one_pass_in_one_batch_become_one_merged_row(db, enrolled):
    store = SightingStore(db)
    store.upsert_batch([_event(final=True), _event(last_seen=NOW + timedelta(seconds=4), score=0.9)])
    [stored] = store.search()
    assert (stored.event.last_seen, stored.event.score, stored.event.final) == (NOW + timedelta(seconds=4), 0.9, True)


def test_a_batch_upsert_reports_a_republished_pass_that_a_reviewer_rejected(db, enrolled):
    store = SightingStore(db)
    store.upsert_batch([_event()])
    store.set_status(_event().event_id, "rejected")
    upserted = store.upsert_batch([_event(final=True)])
    assert upserted.rejected_ids == {_event().event_id} and store.get(_event().event_id).status == "rejected"


def test_reading_a_window_gives_the_same_events_whether_or_not_the_just_stored_ones_are_passed_in(db, enrolled):
    store = SightingStore(db)
    older = store.upsert_batch([_event()]).events
    fresh = store.upsert_batch([_event(camera_id="cam-b", first_seen=NOW + timedelta(minutes=5),
                                       last_seen=NOW + timedelta(minutes=5, seconds=2))]).events
    window = {"e1": NOW - timedelta(minutes=30)}
    by_id = lambda events: sorted(events, key=lambda e: e.event_id)  # noqa: E731
    assert by_id(store.for_entries(window, {e.event_id: e for e in fresh})) == by_id(store.for_entries(window)) == by_id(older + fresh)


def test_search_filters_by_review_status_and_pages_newest_first(db, enrolled):
    store = SightingStore(db)
    early, late = _event(), _event(first_seen=NOW + timedelta(hours=1), last_seen=NOW + timedelta(hours=1, seconds=1))
    store.upsert_many([early, late])
    store.set_status(early.event_id, "confirmed")
    assert [s.event.event_id for s in store.search(newest_first=True)] == [late.event_id, early.event_id]
    assert [s.event.event_id for s in store.search(status="candidate")] == [late.event_id]
    assert store.count_by_status() == {"candidate": 1, "confirmed": 1}
    assert store.count_by_status(["another-list"]) == {}


def test_deleting_old_sightings_takes_their_rows_and_leaves_the_newer(db, enrolled):
    store = SightingStore(db)
    old, new = _event(), _event(first_seen=NOW + timedelta(days=2), last_seen=NOW + timedelta(days=2, seconds=1))
    store.upsert_many([old, new])
    ended = store.ended_before(NOW + timedelta(days=1))
    assert [event_id for event_id, _ in ended] == [old.event_id]
    store.delete([old.event_id])
    assert [s.event.event_id for s in store.search()] == [new.event_id] and store.count_of("e1") == 1
