"""Where one camera's analysis time goes: a cProfile of the real read_file + CameraAnalyser path.

cProfile sees one thread only, so the profile decodes on the analysing thread
(read_ahead_frames=0), and it clocks the process's CPU time, so the work of
FFmpeg's and OpenCV's own threads counts to the call that started it: the shares
are of CPU work, not of the overlapped wall time.
"""

from __future__ import annotations

import cProfile
import pstats
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

# (label, function name, file stems) whose cumulative time is reported.
_PARTS = (
    ("decode (PyAV, every frame)", "_decode_sampled", ("camera",)),
    ("downscale for detection (YUV planes, then BGR)", "shrunk", ("pixels",)),
    ("BGR of face boxes", "region", ("pixels",)),
    ("BGR of whole frames (those with a face to embed)", "bgr", ("pixels",)),
    ("detection", "detect_in", ("detector",)),
    ("quality", "face_quality", ("quality",)),
    ("embedding", "embed", ("openvino_embedder", "dlib_embedder")),
    ("tracking", "update", ("tracker",)),
    ("matching", "candidates_many", ("matcher",)),
)


def _analysis(path: Path, config_path: Path, camera_id: str, read_ahead_frames: int) -> Callable[[], None]:
    """The whole file read and analysed as one camera, ready to run."""
    from facetrail.analytics.face_models import build_face_models
    from facetrail.analytics.pipeline import CameraAnalyser
    from facetrail.config import load_config
    from facetrail.ingest.camera import read_file
    from facetrail.matching import load_matcher
    from facetrail.storage.database import Database
    from facetrail.storage.watchlist_store import WatchlistStore

    config = load_config(config_path)
    models = build_face_models(config.analysis, config.models)
    loaded = load_matcher(WatchlistStore(Database(config.database.url)), models.embedder.space, config.analysis.matching)
    analyser = CameraAnalyser(camera_id, config.analysis, models.detector, models.embedder, loaded.matcher, loaded.version)

    def work() -> None:
        for frame in read_file(camera_id, str(path), config.analysis.fps, datetime.now(timezone.utc),
                               read_ahead_frames=read_ahead_frames):
            analyser.process(frame)
        analyser.finish()

    return work


def cpu_per_video_second(path: Path, config_path: Path, camera_id: str, duration_s: float) -> float:
    """CPU seconds (all threads, no profiler) one camera's decode + analysis costs per second of video.

    CPU time, unlike the live trials' rates, barely moves when others share the cores,
    so it says what one stream costs even on a busy machine.
    """
    work = _analysis(path, config_path, camera_id, read_ahead_frames=4)
    began = time.process_time()
    work()
    return (time.process_time() - began) / duration_s


def analysis_profile(path: Path, config_path: Path, camera_id: str) -> tuple[float, dict[str, float]]:
    """Seconds to analyse the whole file in this process, and each part's seconds."""
    work = _analysis(path, config_path, camera_id, read_ahead_frames=0)
    # CPU time of the whole process, not cProfile's default wall clock: FFmpeg decodes on slice threads, so
    # wall time showed about half of decoding's CPU cost
    profile = cProfile.Profile(time.process_time)
    profile.runcall(work)
    stats = pstats.Stats(profile).stats
    total = max(v[3] for v in stats.values())
    parts: dict[str, float] = {}
    for label, name, stems in _PARTS:
        for (file, _, func), (_, _, tottime, cumulative, _) in stats.items():
            if func == name and Path(file).stem in stems:
                # the decoding generator's own time is PyAV's decoding (C calls are not profiled apart)
                parts[label] = parts.get(label, 0.0) + (tottime if name == "_decode_sampled" else cumulative)
    return total, parts


def describe(total: float, parts: dict[str, float]) -> str:
    return f"{total:.1f} s in all: " + ", ".join(f"{label} {seconds:.2f} s ({seconds / total:.0%})" for label, seconds in parts.items())
