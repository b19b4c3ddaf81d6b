"""How many 1080p25 RTSP cameras the workers keep up with in real time at >= 5 analysed fps each.

K copies of the benchmark clip are served over RTSP by scripts/rtsp_server.py
(GStreamer, looping); facetrail's real worker processes (serve_cameras, one per
core) read and analyse them. A run keeps up when, over the whole window, every
camera decodes at the stream rate (25 fps), analyses >= 5 frames per second,
and the age of analysed frames stays under a second without growing.
The baseline is the loop a user writes with face_recognition.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from bench import live
from bench.clip import FPS, bench_clip, write_world
from bench.profiles import analysis_profile, cpu_per_video_second, describe
from bench.report import CACHE, Figure, Section
from facetrail.demo.rtsp import serve_clips

ANALYSIS_FPS = 5.0
TARGET_STREAMS = 16  # issue 12: >= 16 1080p25 streams on 2 cores, goal 20
GOAL_STREAMS = 20
TARGET_RATIO = 40.0
TARGET_RSS_MB = 100.0
START_TIMEOUT_S = 45.0


@dataclass
class Trial:
    streams: int
    kept_up: bool
    decode_fps: float
    """slowest camera's decoded frames per second"""
    analysed_fps: float
    """slowest camera's analysed frames per second"""
    lag_p95_s: float
    lag_growth_s: float
    cpu_per_stream: float
    """share of one core"""
    rss_per_stream_mb: float
    rss_total_mb: float
    why: str = ""
    load_1min: float = 0.0
    """machine load average at the end of the window (2 cores: above 2, others wait for CPU)"""
    server_cpu: float = 0.0
    """the RTSP camera server's CPU over the window, share of one core (it runs on the same cores)"""


def _rates(rows: list[dict], t0: float, t1: float) -> dict[str, dict]:
    """Per camera: decoded/analysed per second between t0 and t1, and the lags seen then."""
    first, last, lags = {}, {}, {}
    for row in rows:
        for cid, cam in row["cameras"].items():
            if row["t"] <= t0:
                first[cid] = (row["t"], cam)
            elif row["t"] <= t1:
                last[cid] = (row["t"], cam)
                lags.setdefault(cid, []).append(cam["lags"])
    out = {}
    for cid, (ta, a) in first.items():
        if cid not in last:
            continue
        tb, b = last[cid]
        span = max(1e-6, tb - ta)
        out[cid] = {"decode": (b["decoded"] - a["decoded"]) / span, "analysed": (b["analysed"] - a["analysed"]) / span,
                    "lags": lags.get(cid, [])}
    return out


def _server_pid() -> int | None:
    """The RTSP server serve_clips started: this process's child running scripts/rtsp_server.py."""
    me = str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = stat.read_text().rsplit(")", 1)[1].split()[1]
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:  # a process that ended while we looked
            continue
        if ppid == me and b"rtsp_server.py" in command:
            return int(stat.parent.name)
    return None


def trial(clip, streams: int, window_s: float) -> Trial:
    folder = CACHE / "density" / f"k{streams}"
    shutil.rmtree(folder, ignore_errors=True)
    mounts = {f"cam{i}": clip.path for i in range(streams)}
    with serve_clips(mounts, loop=True) as base:
        config = write_world(folder, clip, {f"cam-{i}": f"{base}/cam{i}" for i in range(streams)}, fps=ANALYSIS_FPS)
        stats = folder / "stats.jsonl"
        procs, stop = live.start(config, [f"cam-{i}" for i in range(streams)], os.cpu_count() or 1, stats)
        try:
            deadline = time.time() + START_TIMEOUT_S
            while time.time() < deadline:
                rows = live.read_stats(stats)
                seen = {cid for row in rows[-2 * len(procs):] for cid, cam in row["cameras"].items() if cam["analysed"] > 0}
                if len(seen) == streams:
                    break
                time.sleep(1.0)
            time.sleep(3.0)  # first frames after connecting come in a burst
            server = _server_pid()
            server0 = live.cpu_seconds(server) if server else 0.0
            t0, cpu0 = time.time(), sum(live.cpu_seconds(p.pid) for p in procs)
            time.sleep(window_s)
            t1, cpu1 = time.time(), sum(live.cpu_seconds(p.pid) for p in procs)
            server1 = live.cpu_seconds(server) if server else 0.0
            rss = sum(live.rss_mb(p.pid) for p in procs)
        finally:
            live.halt(procs, stop)
    rates = _rates(live.read_stats(stats), t0, t1)
    result = _judge(streams, rates, (cpu1 - cpu0) / (t1 - t0), rss)
    result.load_1min = os.getloadavg()[0]
    result.server_cpu = (server1 - server0) / (t1 - t0)
    return result


def _judge(streams: int, rates: dict[str, dict], cores: float, rss: float) -> Trial:
    if len(rates) < streams:
        return Trial(streams, False, 0, 0, 0, 0, cores / streams, rss / streams, rss, f"only {len(rates)} of {streams} cameras analysed")
    decode = min(r["decode"] for r in rates.values())
    analysed = min(r["analysed"] for r in rates.values())
    lag_p95, growth = 0.0, 0.0
    for r in rates.values():
        flat = [lag for chunk in r["lags"] for lag in chunk]
        if flat:
            lag_p95 = max(lag_p95, float(np.percentile(flat, 95)))
        third = max(1, len(r["lags"]) // 3)
        early = [lag for chunk in r["lags"][:third] for lag in chunk]
        late = [lag for chunk in r["lags"][-third:] for lag in chunk]
        if early and late:
            growth = max(growth, float(np.mean(late) - np.mean(early)))
    problems = []
    if decode < 0.95 * FPS:
        problems.append(f"decoding {decode:.1f} of {FPS} fps")
    if analysed < 0.95 * ANALYSIS_FPS:
        problems.append(f"analysing {analysed:.1f} of {ANALYSIS_FPS:.0f} fps")
    if lag_p95 > 1.0 or growth > 0.3:
        problems.append(f"lag p95 {lag_p95:.2f} s, growing {growth:+.2f} s")
    return Trial(streams, not problems, decode, analysed, lag_p95, growth, cores / streams, rss / streams, rss, "; ".join(problems))


def baseline(clip, frames: int) -> float:
    """Real-time factor of the naive face_recognition loop: every frame decoded, HOG-detected, every face encoded."""
    import face_recognition

    from bench.faces import LFW

    known = []
    for walker in clip.walkers[:5]:
        image = face_recognition.load_image_file(str(LFW / walker.enrol_photo))
        known += face_recognition.face_encodings(image)[:1]
    done, t = 0, None
    with av.open(str(clip.path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index < 2 * FPS:  # start where walkers are in view
                continue
            if t is None:
                t = time.perf_counter()
            rgb = frame.to_ndarray(format="rgb24")
            for encoding in face_recognition.face_encodings(rgb, face_recognition.face_locations(rgb)):
                face_recognition.compare_faces(known, encoding)
            done += 1
            if done >= frames:
                break
    per_frame = (time.perf_counter() - t) / done
    return (1.0 / FPS) / per_frame


def run(section: Section, quick: bool) -> None:
    clip = bench_clip(10.0 if quick else 30.0)
    window = 8.0 if quick else 60.0
    trials: dict[int, Trial] = {}
    k = 2 if quick else TARGET_STREAMS
    limit = 2 if quick else GOAL_STREAMS + 4
    while 1 <= k <= limit and k not in trials:
        print(f"[bench]   density: {k} streams ...", flush=True)
        trials[k] = trial(clip, k, window)
        t = trials[k]
        print(f"[bench]     kept up={t.kept_up} decode={t.decode_fps:.1f} analysed={t.analysed_fps:.1f} lag95={t.lag_p95_s:.2f} "
              f"cpu/stream={t.cpu_per_stream:.2f} server cpu={t.server_cpu:.2f} rss/stream={t.rss_per_stream_mb:.0f} {t.why}", flush=True)
        passed = [n for n, tr in trials.items() if tr.kept_up]
        failed = [n for n, tr in trials.items() if not tr.kept_up]
        if quick:
            break
        if trials[k].kept_up:
            k = k + 4 if not failed else (k + min(failed)) // 2  # steps of 4 until one fails, then halve the gap
        else:
            k = (k + max(passed)) // 2 if passed else min(k - 1, k * 3 // 4)  # none kept up yet: a quarter fewer
    best = max((n for n, tr in trials.items() if tr.kept_up), default=0)
    rt = baseline(clip, 2 if quick else 6)
    section.add(Figure("largest K streams kept up with (1080p25, >= 5 analysed fps each)", best, "streams", baseline=rt,
                       baseline_label="naive face_recognition loop, real-time factor on one stream",
                       target=f">= {TARGET_STREAMS} streams (goal {GOAL_STREAMS}) and >= {TARGET_RATIO:.0f}x baseline",
                       met=best >= TARGET_STREAMS and best / rt >= TARGET_RATIO))
    for n, t in sorted(trials.items()):
        section.add(Figure(f"{n} streams: slowest camera decoded / analysed fps, lag p95", t.analysed_fps, "analysed fps",
                           target=f"decode {t.decode_fps:.1f} fps, lag p95 {t.lag_p95_s:.2f} s, growth {t.lag_growth_s:+.2f} s, load {t.load_1min:.1f}"
                           + (f" — {t.why}" if t.why else ""), met=t.kept_up))
        section.add(Figure(f"{n} streams: CPU per stream", 100 * t.cpu_per_stream, "% of a core"))
        section.add(Figure(f"{n} streams: RTSP camera server's CPU (same cores, not in the per-stream figure)",
                           100 * t.server_cpu, "% of a core", higher_is_better=False))
        section.add(Figure(f"{n} streams: resident memory per stream (workers' RSS / streams)", t.rss_per_stream_mb, "MB",
                           target=f"<= {TARGET_RSS_MB:.0f} MB", met=t.rss_per_stream_mb <= TARGET_RSS_MB, higher_is_better=False))
    section.note(f"Window {window:.0f} s per trial after all cameras deliver; {os.cpu_count()} worker processes "
                 "(facetrail.worker.serve_cameras, cameras split as start_workers splits them). The RTSP camera server "
                 "(scripts/rtsp_server.py, looping each clip through a Python appsrc feed) shares the same cores: its CPU "
                 "is reported apart and is not in the per-stream figure. "
                 "Lag = age of a frame (stamped when decoded) when its analysis ends. Analysed frames include those the "
                 "motion gate found still (no face tracked, no part of the picture changed), which skip detection.")
    measured = [t for t in trials.values() if t.cpu_per_stream > 0]
    kept = [t for t in measured if t.kept_up]
    failed = [t for t in measured if not t.kept_up and t.streams > best]
    if kept and failed:
        held, next_up = max(kept, key=lambda t: t.streams), min(failed, key=lambda t: t.streams)
        section.note(f"What limits it: at {held.streams} streams the workers used {100 * held.cpu_per_stream:.0f}% of a core "
                     f"per stream and the camera server {100 * held.server_cpu:.0f}% of one, "
                     f"{held.streams * held.cpu_per_stream + held.server_cpu:.2f} of the {os.cpu_count()} cores; at "
                     f"{next_up.streams} the slowest camera was {next_up.why}. Each worker process analyses its cameras "
                     "one frame at a time, so the last fraction of the cores goes to queueing rather than frames.")
    world = CACHE / "density" / f"k{min(trials)}" / "facetrail.yaml"
    cost = cpu_per_video_second(clip.path, world, "cam-0", clip.duration_s)
    most = max(measured, key=lambda t: t.streams, default=None)
    server = most.server_cpu / most.streams if most else 0.0  # at the most streams: part of its cost is fixed
    section.add(Figure("CPU per stream, offline (one camera's decode + 5 fps analysis of the clip, CPU s per video s)",
                       100 * cost, "% of a core", higher_is_better=False))
    section.note(f"Offline, one stream costs {100 * cost:.0f}% of a core in CPU time (robust to other load, unlike the live "
                 f"trials) and the camera server {100 * server:.1f}% per stream, so {os.cpu_count()} idle cores would hold "
                 f"about {(os.cpu_count() or 1) / (cost + server):.1f} streams before the live path's own overhead "
                 "(RTSP receive, the worker loop) and lag limits.")
    total, parts = analysis_profile(clip.path, world, "cam-0")
    section.note(f"Profile of one camera analysed in one process (cProfile, whole clip at full decode speed, {ANALYSIS_FPS:.0f} fps analysis): "
                 + describe(total, parts))
    decode = cost * parts.get("decode (PyAV, every frame)", 0.0) / total
    section.note(f"Decoding alone (every frame of a 1080p25 stream, as H.264's P-frames require) costs {100 * decode:.0f}% of a "
                 f"core here, so {TARGET_STREAMS} streams need {TARGET_STREAMS * decode:.1f} of the {os.cpu_count()} cores "
                 "before any detection: the target needs cores this machine does not have, hardware decoding, or cameras' "
                 "lower-resolution sub-streams.")
