"""`facetrail reprocess` on a 1080p25 file against a decode-only pass over the same file.

The clip is two minutes long: reprocessing recorded footage means minutes to
hours, and a 30 s clip mostly measured the CLI's fixed start (which stays inside
the wall time here too).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time

import av

from bench.clip import T0, bench_clip, write_world
from bench.profiles import analysis_profile, describe
from bench.report import CACHE, Figure, Section

TARGET_RATIO = 0.6
CLIP_S, QUICK_CLIP_S = 120.0, 10.0


def decode_only(path, threading: str) -> tuple[float, float]:
    """Wall and CPU seconds (all threads) to decode every frame, as a player would (PyAV, threaded as given, no conversion)."""
    t, cpu = time.perf_counter(), time.process_time()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = threading
        for _ in container.decode(stream):
            pass
    return time.perf_counter() - t, time.process_time() - cpu


def fastest_decode(path) -> dict[str, tuple[float, float]]:
    """Wall and CPU seconds of slice- and of frame-threaded decoding, quicker first: which wins depends on the
    file's slices and on who else wants the cores, and the baseline must be the best decode-only pass."""
    times = {threading: decode_only(path, threading) for threading in ("SLICE", "AUTO")}
    return dict(sorted(times.items(), key=lambda item: item[1][0]))


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def startup_s(config) -> float:
    """Seconds a fresh process takes to import the CLI and load the config's models: the fixed part of every run."""
    code = ("import sys, facetrail.cli.main; from facetrail.config import load_config; "
            "from facetrail.analytics.face_models import build_face_models; "
            "c = load_config(sys.argv[1]); build_face_models(c.analysis, c.models)")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(config)], check=True, capture_output=True)
    return time.perf_counter() - t


def run(section: Section, quick: bool) -> None:
    clip = bench_clip(QUICK_CLIP_S if quick else CLIP_S)
    folder = CACHE / "reprocess"
    shutil.rmtree(folder, ignore_errors=True)
    config = write_world(folder, clip, {"cam-r": str(clip.path)})
    decode_times = fastest_decode(clip.path)
    decode_s, decode_cpu_s = next(iter(decode_times.values()))
    command = [sys.executable, "-m", "facetrail.cli.main", "reprocess", "--config", str(config), "--camera", "cam-r",
               "--start", T0.isoformat(), "--no-stitch", str(clip.path)]
    cpu0, t = _children_cpu_s(), time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    reprocess_s, cpu_s = time.perf_counter() - t, _children_cpu_s() - cpu0
    if result.returncode != 0:
        raise RuntimeError(f"facetrail reprocess failed: {(result.stderr or result.stdout).strip()[-300:]}")
    ratio = decode_s / reprocess_s
    section.add(Figure(f"facetrail reprocess, {clip.duration_s:.0f} s 1080p25 clip (5 fps analysis)", reprocess_s, "s",
                       baseline=decode_s, baseline_label="decode-only pass", higher_is_better=False,
                       target=f"decode/reprocess >= {TARGET_RATIO}", met=ratio >= TARGET_RATIO))
    section.add(Figure("real-time factor of reprocess", clip.duration_s / reprocess_s, "x"))
    section.add(Figure(f"CPU time of reprocess, all threads ({os.cpu_count()} cores give at most {os.cpu_count()} s per wall s)",
                       cpu_s, "s", higher_is_better=False))
    section.note("Decode-only pass (the baseline): the faster of PyAV's slice-threaded decoding, "
                 f"{decode_times['SLICE'][0]:.2f} s ({decode_times['SLICE'][1]:.1f} s CPU), and its frame+slice threading "
                 f"('AUTO'), {decode_times['AUTO'][0]:.2f} s ({decode_times['AUTO'][1]:.1f} s CPU), every frame of the same "
                 "file, no conversion. facetrail decodes with slice threads.")
    start_s = startup_s(config)
    section.note(f"Reprocess wall time includes process start, model loading and the SQLite writes (the CLI as a user runs it; "
                 f"importing the CLI and loading the models alone takes {start_s:.1f} s); the ratio column is decode time / "
                 f"reprocess time. The clip is {clip.duration_s:.0f} s long because recorded footage is minutes long: on a "
                 "30 s clip the fixed start is a third of the run.")
    total, parts = analysis_profile(clip.path, config, "cam-r")
    section.note("Profile of the same file's analysis on one thread (cProfile; CPU work, decoding inline): " + describe(total, parts))
    if ratio < TARGET_RATIO:
        section.note(f"What limits it: CPU. Decoding, looking (motion gate, detection) and analysing (tracking, embedding, "
                     f"matching) run on three threads, in order, so the run used {cpu_s:.1f} s of CPU in {reprocess_s:.1f} s "
                     f"({cpu_s / reprocess_s:.1f} of {os.cpu_count()} cores; the load average shows who else wanted them). "
                     f"The decode-only pass used {decode_cpu_s:.1f} s of CPU in {decode_s:.1f} s "
                     f"({decode_cpu_s / decode_s:.1f} cores): reprocessing decodes the same frames and also converts, "
                     "gates and searches 5 of them a second. With every core busy it cannot take less than its CPU time "
                     f"over {os.cpu_count()}, so the ratio cannot pass decode time x {os.cpu_count()} / reprocess CPU "
                     f"({decode_s * (os.cpu_count() or 1) / cpu_s:.2f} in this run).")
