from facetrail.storage.progress_store import Progress, ProgressLedger, source_id


def test_progress_is_saved_read_back_and_forgotten(db, tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"frames")
    ledger, sid = ProgressLedger(db), source_id("cam-a", video)
    assert ledger.load(sid) is None
    ledger.save(sid, "cam-a", video, 12.5, completed=False)
    ledger.save(sid, "cam-a", video, 30.0, completed=True)
    assert ledger.load(sid) == Progress(30.0, True)
    ledger.forget(sid)
    assert ledger.load(sid) is None


def test_a_file_rewritten_in_place_is_a_new_source(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"frames")
    before = source_id("cam-a", video)
    video.write_bytes(b"other frames")
    assert source_id("cam-a", video) != before and source_id("cam-b", video) != source_id("cam-a", video)
