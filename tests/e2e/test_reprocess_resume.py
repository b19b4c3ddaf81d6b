"""An interrupted reprocess resumes from its checkpoint and ends with exactly the same sightings."""

from datetime import datetime, timezone

import pytest

from facetrail.analytics.detector import HogDetector
from facetrail.analytics.dlib_embedder import DlibEmbedder
from facetrail.analytics.matcher import Matcher
from facetrail.analytics.pipeline import CameraAnalyser
from facetrail.bus.channels import SIGHTINGS_TOPIC
from facetrail.bus.sqlite_bus import SqliteBus
from facetrail.config import AnalysisConfig
from facetrail.accountability.enrolment import EnrolmentRequest, enrol, photos_in
from facetrail.events import SightingEvent
from facetrail.publisher import SightingPublisher
from facetrail.reprocess import reprocess_file
from facetrail.storage.database import Database
from facetrail.storage.objects import LocalObjectStore
from facetrail.storage.progress_store import ProgressLedger
from facetrail.storage.watchlist_store import WatchlistStore

pytestmark = pytest.mark.e2e
START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


class Interrupted(Exception):
    pass


@pytest.fixture(scope="module")
def models():
    return HogDetector(), DlibEmbedder()


def _site(root, scenario, models):
    db, objects = Database(f"sqlite:///{root / 'db.sqlite'}"), LocalObjectStore(root / "evidence")
    watchlist = WatchlistStore(db)
    for person in scenario.enrolled:
        request = EnrolmentRequest(person.display_name, photos_in(person.enrolment_photos[0].parent), "test", "test",
                                   "test", datetime(2099, 1, 1, tzinfo=timezone.utc))
        enrol(request, *models, watchlist, objects)
    return db, objects, watchlist, SqliteBus(root / "bus.db")


def _run(clip, db, objects, watchlist, bus, models, stop_at_s=None):
    analyser = CameraAnalyser("cam-b", AnalysisConfig(), *models, Matcher(watchlist.enrolled_people("dlib-resnet-v1"), 0.48))

    def progress(offset: float) -> None:
        if stop_at_s is not None and offset >= stop_at_s:
            raise Interrupted

    return reprocess_file(clip, "cam-b", START, analyser, SightingPublisher(bus, objects), ProgressLedger(db), progress)


def _passes(bus) -> dict[str, SightingEvent]:
    merged: dict[str, SightingEvent] = {}
    for record in bus.messages(SIGHTINGS_TOPIC):
        event = SightingEvent.from_json(record.value)
        merged[event.event_id] = merged[event.event_id].merged_with(event) if event.event_id in merged else event
    return merged


def test_an_interrupted_reprocess_resumes_and_matches_an_uninterrupted_one(tmp_path, demo_scenario, models):
    clip = demo_scenario.camera("cam-b").clip
    (tmp_path / "whole").mkdir()
    (tmp_path / "cut").mkdir()
    whole = _site(tmp_path / "whole", demo_scenario, models)
    _run(clip, *whole, models)
    cut = _site(tmp_path / "cut", demo_scenario, models)
    with pytest.raises(Interrupted):
        _run(clip, *cut, models, stop_at_s=12.5)
    resumed = _run(clip, *cut, models)
    assert resumed.resumed_from_s > 0
    assert _named_passes(cut) == _named_passes(whole) and len(_named_passes(whole)) == 2


def _named_passes(site) -> list[tuple]:
    """Each pass as (person, first seen, last seen): entry ids differ between the two sites' enrolments."""
    names = {r.entry_id: r.display_name for r in site[2].records()}
    return sorted((names[e.entry_id], e.first_seen, e.last_seen) for e in _passes(site[3]).values())


def _events(site) -> list[tuple]:
    names = {r.entry_id: r.display_name for r in site[2].records()}
    return sorted((names[e.entry_id], e.first_seen, e.last_seen, e.score, e.box, e.quality, e.final)
                  for e in _passes(site[3]).values())


def test_decoding_ahead_on_a_reader_thread_publishes_exactly_what_inline_decoding_does(tmp_path, demo_scenario, models,
                                                                                       monkeypatch):
    from functools import partial

    import facetrail.reprocess
    from facetrail.ingest.camera import read_file

    clip = demo_scenario.camera("cam-b").clip
    (tmp_path / "ahead").mkdir()
    (tmp_path / "inline").mkdir()
    ahead = _site(tmp_path / "ahead", demo_scenario, models)
    _run(clip, *ahead, models)
    monkeypatch.setattr(facetrail.reprocess, "read_file", partial(read_file, read_ahead_frames=0))
    inline = _site(tmp_path / "inline", demo_scenario, models)
    _run(clip, *inline, models)
    assert _events(ahead) == _events(inline) and len(_events(inline)) == 2
