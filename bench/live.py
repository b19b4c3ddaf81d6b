"""Live RTSP runs through facetrail's real worker code, instrumented from outside.

Each worker process runs ``facetrail.worker.serve_cameras`` unchanged; the only
additions are counters: which LiveCamera objects it started (their decode
counts) and when each analysed frame was done and how old it was then. They
are written once a second to a JSON-lines file the parent reads.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path


@dataclass
class _Tally:
    analysed: int = 0
    lags: list[float] = field(default_factory=list)


@contextmanager
def environment(values: dict[str, str]):
    """Spawned worker processes inherit os.environ: set these for the processes started inside, then restore."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _instrument(stats_path: Path) -> None:
    import facetrail.worker as worker
    from facetrail.analytics.pipeline import CameraAnalyser

    cameras: list = []
    tallies: dict[str, _Tally] = {}
    lock = threading.Lock()

    class CountedCamera(worker.LiveCamera):
        def start(self):
            cameras.append(self)
            return super().start()

    original = CameraAnalyser.process

    def process(self, frame):
        out = original(self, frame)
        lag = (datetime.now(timezone.utc) - frame.captured_at).total_seconds()
        with lock:
            tally = tallies.setdefault(self.camera_id, _Tally())
            tally.analysed += 1
            tally.lags.append(lag)
        return out

    worker.LiveCamera = CountedCamera
    CameraAnalyser.process = process

    def write() -> None:
        with open(stats_path, "a") as out:
            while True:
                time.sleep(1.0)
                with lock:
                    row = {"t": time.time(), "pid": os.getpid(), "cameras": {
                        c.camera_id: {"decoded": c.health.frames_decoded, "sampled": c.health.frames_sampled,
                                      "dropped": c.health.frames_dropped, "state": c.health.state,
                                      "analysed": tallies.get(c.camera_id, _Tally()).analysed,
                                      "lags": tallies.get(c.camera_id, _Tally()).lags} for c in cameras}}
                    for tally in tallies.values():
                        tally.lags = []
                out.write(json.dumps(row) + "\n")
                out.flush()

    threading.Thread(target=write, daemon=True).start()


def child(config_path: str, camera_ids: list[str], stop, stats_path: str, processes: int) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _instrument(Path(stats_path))
    from facetrail.config import load_config
    from facetrail.stores import Stores
    from facetrail.worker import serve_cameras, share_cores

    # as facetrail.worker starts them: the world was migrated before the workers started
    serve_cameras(Stores(load_config(config_path), config_path, migrate_schema=False), camera_ids, stop,
                  share_cores(processes))


def start(config_path: Path, camera_ids: list[str], processes: int, stats_path: Path):
    """Worker processes over the cameras, grouped as facetrail.worker groups them; returns (processes, stop)."""
    from facetrail.worker import split_cameras

    context = mp.get_context("spawn")
    stop = context.Event()
    procs = []
    groups = split_cameras(camera_ids, min(processes, len(camera_ids)))
    for group in groups:
        proc = context.Process(target=child, args=(str(config_path), group, stop, str(stats_path), len(groups)),
                               name=f"bench-worker-{group[0]}")
        proc.start()
        procs.append(proc)
    return procs, stop


def halt(procs, stop, timeout_s: float = 20.0) -> None:
    stop.set()
    for proc in procs:
        proc.join(timeout_s)
        if proc.is_alive():
            proc.terminate()
            proc.join(5)


def read_stats(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
