from datetime import datetime, timedelta, timezone

import pytest

from facetrail.ingest.camera import LiveCamera, SourceError, file_duration_s, open_container, read_file

START = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)


def test_a_file_is_sampled_at_the_analysis_rate_and_stamped_from_its_start(clip):
    frames = list(read_file("cam-a", str(clip), fps=5, start=START))
    assert len(frames) == 10
    assert [f.captured_at for f in frames[:3]] == [START + timedelta(seconds=s) for s in (0, 0.2, 0.4)]
    assert frames[0].image.shape == (240, 320, 3)


def test_a_resumed_read_starts_at_the_checkpoint_on_the_same_sampling_grid(clip):
    full = [f.captured_at for f in read_file("cam-a", str(clip), fps=5, start=START)]
    resumed = [f.captured_at for f in read_file("cam-a", str(clip), fps=5, start=START, resume_from_s=1.0)]
    assert resumed == full[5:]


def test_the_duration_of_a_file_is_known(clip):
    assert file_duration_s(str(clip)) == pytest.approx(2.0, abs=0.1)


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="not found"):
        open_container(str(tmp_path / "nope.mp4"))


def test_a_text_file_is_not_a_video(tmp_path):
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("hello, not a video")
    with pytest.raises(SourceError, match="not a readable video"):
        open_container(str(bogus))


def test_a_truncated_file_ends_with_a_clear_error_or_fewer_frames(clip, tmp_path):
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(clip.read_bytes()[: clip.stat().st_size // 3])
    try:
        frames = list(read_file("cam-a", str(truncated), fps=5, start=START))
    except SourceError as error:
        assert "truncated" in str(error) or "not a readable video" in str(error)
    else:
        assert len(frames) < 10


def test_an_unreachable_stream_is_reported_quickly():
    started = datetime.now()
    with pytest.raises(SourceError, match="cannot open stream"):
        open_container("rtsp://127.0.0.1:9/nothing")
    assert (datetime.now() - started).total_seconds() < 10


def test_a_live_camera_retries_an_unreachable_stream_with_backoff():
    camera = LiveCamera("cam-a", "rtsp://127.0.0.1:9/nothing", fps=5)
    camera.backoff.initial_s = 0.05
    camera.start()
    try:
        deadline = datetime.now() + timedelta(seconds=5)
        while camera.health.reconnects < 2 and datetime.now() < deadline:
            camera.latest(0.1)
        assert camera.health.reconnects >= 2 and camera.health.last_error
    finally:
        camera.stop()


def test_reading_ahead_on_a_thread_gives_the_same_frames_as_reading_inline(clip):
    inline = list(read_file("cam-a", str(clip), fps=5, start=START, read_ahead_frames=0))
    ahead = list(read_file("cam-a", str(clip), fps=5, start=START, read_ahead_frames=2))
    assert [(f.index, f.captured_at) for f in ahead] == [(f.index, f.captured_at) for f in inline]
    assert all((a.image == b.image).all() for a, b in zip(ahead, inline))


def test_progress_is_reported_at_each_sampled_offset(clip):
    offsets = []
    list(read_file("cam-a", str(clip), fps=5, start=START, progress=offsets.append))
    assert offsets == pytest.approx([i * 0.2 for i in range(10)])
