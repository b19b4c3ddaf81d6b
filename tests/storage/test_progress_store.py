from datetime import datetime, timedelta, timezone

from facetrail.reprocess import file_sha256
from facetrail.storage.progress_store import Progress, ProgressLedger, source_id

START = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)


def test_progress_is_saved_read_back_and_forgotten(db, tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"frames")
    ledger, sid = ProgressLedger(db), source_id("cam-a", file_sha256(video), START)
    assert ledger.load(sid) is None
    ledger.save(sid, "cam-a", video, 12.5, completed=False)
    ledger.save(sid, "cam-a", video, 30.0, completed=True)
    assert ledger.load(sid) == Progress(30.0, True)
    ledger.forget(sid)
    assert ledger.load(sid) is None


def test_a_file_rewritten_in_place_is_a_new_source(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"frames")
    before = source_id("cam-a", file_sha256(video), START)
    video.write_bytes(b"other frames")
    after = source_id("cam-a", file_sha256(video), START)
    assert after != before and source_id("cam-b", file_sha256(video), START) != after


def test_the_same_file_with_another_start_is_other_work_and_a_renamed_copy_is_the_same(tmp_path):
    video, copy = tmp_path / "clip.mp4", tmp_path / "renamed.mp4"
    video.write_bytes(b"frames")
    copy.write_bytes(b"frames")
    sid = source_id("cam-a", file_sha256(video), START)
    assert source_id("cam-a", file_sha256(video), START + timedelta(hours=1)) != sid
    assert source_id("cam-a", file_sha256(copy), START) == sid
