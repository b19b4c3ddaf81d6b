"""scripts/rtsp_server.py: clips served as real RTSP cameras, read back with PyAV."""

from __future__ import annotations

import signal
import subprocess
import time

import av
import numpy as np
import pytest

from facetrail.demo.rtsp import SERVER_SCRIPT, SYSTEM_PYTHON, serve_clips

from .conftest import SHORT_CLIP_FPS, SHORT_CLIP_S

RTSP_OPTIONS = {"rtsp_transport": "tcp"}


def _read(url: str, limit: int | None = None) -> list[av.VideoFrame]:
    """Frames decoded from the stream until it ends (or `limit` frames)."""
    frames = []
    with av.open(url, options=RTSP_OPTIONS, timeout=10) as container:
        for frame in container.decode(container.streams.video[0]):
            frames.append(frame)
            if limit is not None and len(frames) >= limit:
                break
    return frames


def _file_frames(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(container.streams.video[0])]


def test_a_mounted_clip_decodes_over_rtsp_at_its_own_size(rtsp_server, short_clip):
    base = rtsp_server({"cam-a": short_clip})
    frames = _read(f"{base}/cam-a", limit=10)
    assert len(frames) == 10
    assert {(f.width, f.height) for f in frames} == {(320, 180)}


def test_the_stream_carries_the_clips_own_h264_without_re_encoding(rtsp_server, short_clip):
    base = rtsp_server({"cam-a": short_clip})
    streamed = [f.to_ndarray(format="rgb24") for f in _read(f"{base}/cam-a")]
    from_file = _file_frames(short_clip)
    # Pass-through means the very same coded pictures: decoded pixels are identical.
    assert len(streamed) == len(from_file)
    assert all(np.array_equal(a, b) for a, b in zip(streamed, from_file))


def test_without_loop_each_client_gets_the_clip_once_from_its_start_in_real_time(rtsp_server, short_clip):
    base = rtsp_server({"cam-a": short_clip}, loop=False)
    first_frame = _file_frames(short_clip)[0]
    for _client in range(2):
        began = time.monotonic()
        frames = _read(f"{base}/cam-a")
        elapsed = time.monotonic() - began
        assert np.array_equal(frames[0].to_ndarray(format="rgb24"), first_frame)
        assert len(frames) == int(SHORT_CLIP_S * SHORT_CLIP_FPS)
        assert SHORT_CLIP_S * 0.7 <= elapsed <= SHORT_CLIP_S + 5


def test_with_loop_the_stream_runs_on_past_the_clips_end(rtsp_server, short_clip):
    base = rtsp_server({"cam-a": short_clip}, loop=True)
    wanted = int(2.5 * SHORT_CLIP_S * SHORT_CLIP_FPS)
    frames = _read(f"{base}/cam-a", limit=wanted)
    assert len(frames) == wanted
    # The client's first frame may come before its clock is synchronised (no pts).
    stamps = [f.pts for f in frames if f.pts is not None]
    assert len(stamps) >= wanted - 1
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_several_mounts_are_served_side_by_side(rtsp_server, short_clip):
    base = rtsp_server({"cam-a": short_clip, "cam-b": short_clip}, loop=True)
    assert len(_read(f"{base}/cam-a", limit=5)) == 5
    assert len(_read(f"{base}/cam-b", limit=5)) == 5


def test_a_missing_mount_is_refused_at_once(rtsp_server, short_clip):
    base = rtsp_server({"cam-a": short_clip})
    began = time.monotonic()
    with pytest.raises(av.error.HTTPNotFoundError):
        av.open(f"{base}/cam-z", options=RTSP_OPTIONS, timeout=10)
    assert time.monotonic() - began < 2.0


def test_the_server_listens_on_loopback_only(rtsp_server, short_clip):
    assert rtsp_server({"cam-a": short_clip}).startswith("rtsp://127.0.0.1:")


def test_the_server_stops_cleanly_on_sigterm(rtsp_server, short_clip):
    rtsp_server({"cam-a": short_clip})  # installs the dependencies when missing
    process = subprocess.Popen([SYSTEM_PYTHON, str(SERVER_SCRIPT), "--port", "0", "--mount", f"cam-a={short_clip}"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().startswith("ready rtsp://127.0.0.1:")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
        assert "Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_a_clip_that_does_not_exist_is_refused_with_one_clear_line(tmp_path, rtsp_server, short_clip):
    rtsp_server({"cam-a": short_clip})  # installs the dependencies when missing
    result = subprocess.run([SYSTEM_PYTHON, str(SERVER_SCRIPT), "--mount", f"cam-a={tmp_path / 'absent.mp4'}"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "no such file" in result.stderr and "Traceback" not in result.stderr


def test_serve_clips_reports_a_server_that_cannot_start(tmp_path, short_clip):
    from facetrail.demo.rtsp import RtspServerError

    with pytest.raises(RtspServerError, match="did not start"):
        with serve_clips({"bad name!": short_clip}):
            pass
