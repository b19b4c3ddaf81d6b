"""Alert latency: from the first analysed frame showing a watch-listed face to its alert.

One RTSP camera (the benchmark clip, looping) is analysed by facetrail's real
worker process; the trajectory service consumes its sightings from the bus,
stores and stitches them and publishes each new match on ALERTS_TOPIC. The
latency of an alert is the moment that publication returns minus the capture
time of the pass's first frame (``first_seen``, stamped when that frame was
decoded from the stream).
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timezone

import numpy as np

from bench import live
from bench.clip import WALK_S, bench_clip, write_world
from bench.report import CACHE, Figure, Section
from facetrail.bus.sqlite_bus import SqliteBus
from facetrail.config import load_config
from facetrail.events import SIGHTINGS_TOPIC
from facetrail.storage.database import Database
from facetrail.storage.sighting_store import SightingStore
from facetrail.storage.track_store import TrackStore
from facetrail.trajectory.service import Alert, TrajectoryService
from facetrail.demo.rtsp import serve_clips

TARGET_P95_S = 1.0


def run(section: Section, quick: bool) -> None:
    clip = bench_clip(10.0 if quick else 30.0)
    window = 25.0 if quick else 90.0
    folder = CACHE / "latency"
    shutil.rmtree(folder, ignore_errors=True)
    latencies: list[float] = []
    spans: list[float] = []

    def on_alert(alert: Alert) -> None:
        now = datetime.now(timezone.utc)
        latencies.append((now - alert.sighting.first_seen).total_seconds())
        spans.append((alert.sighting.last_seen - alert.sighting.first_seen).total_seconds())

    with serve_clips({"cam0": clip.path}, loop=True) as base:
        config_path = write_world(folder, clip, {"cam-0": f"{base}/cam0"})
        config = load_config(config_path)
        db = Database(config.database.url)
        bus = SqliteBus(config.bus.path)
        service = TrajectoryService(bus, bus.consumer(SIGHTINGS_TOPIC, "bench-latency"), SightingStore(db), TrackStore(db),
                                    {c.id: (c.position.x, c.position.y) for c in config.cameras}, config.trajectory, on_alert=on_alert)
        procs, stop = live.start(config_path, ["cam-0"], 1, folder / "stats.jsonl")
        try:
            deadline = time.monotonic() + window
            while time.monotonic() < deadline:
                service.step(timeout_s=0.2)
        finally:
            live.halt(procs, stop)
            bus.close()
            db.dispose()
    if not latencies:
        section.note("No alert arrived in the window: no enrolled walker was matched.")
        return
    p50, p95 = float(np.percentile(latencies, 50)), float(np.percentile(latencies, 95))
    section.add(Figure(f"first analysed frame -> alert on ALERTS_TOPIC, p50 ({len(latencies)} alerts)", p50, "s", higher_is_better=False))
    section.add(Figure(f"first analysed frame -> alert on ALERTS_TOPIC, p95 ({len(latencies)} alerts)", p95, "s",
                       higher_is_better=False, target=f"p95 < {TARGET_P95_S:.0f} s", met=p95 < TARGET_P95_S))
    late = [(lat, span) for lat, span in zip(latencies, spans) if lat >= TARGET_P95_S]
    if late:
        chained = [span for _, span in late if span > WALK_S + 1]
        section.note(f"What limits it: {len(late)} of {len(latencies)} alerts came {TARGET_P95_S:.0f} s or more after their pass "
                     "began (latency / pass length: " + ", ".join(f"{lat:.1f} s / {span:.1f} s" for lat, span in sorted(late)) + "). "
                     "Their first shots did not match (a face entering at the picture's edge is small, partial or turned) and a "
                     "later, better shot did; once a shot matches, the alert follows in about the p50 time."
                     + (f" {len(chained)} of them belong to passes longer than one walk ({WALK_S:.0f} s): the tracker linked two "
                        "walkers (they cross each other in this clip), so first_seen is the earlier walker's." if chained else ""))
    section.note(f"{window:.0f} s of one looping 1080p25 RTSP camera, 5 fps analysis, {clip.walkers.__len__()} walkers per loop "
                 "(enrolled from another lfw-dev photo), embedded SQLite bus and SQLite database, service polling every 0.2 s. "
                 "A pass is announced at its first matching shot; passes that need a later, better shot to match alert later, "
                 "and that time is part of the figure. Sampling at 5 fps adds up to 0.2 s before the first analysed frame, not included.")
    section.note("Not measured through Kafka and the API's live alert channel: that needs an API user and token and the shared "
                 "Kafka topics, which other engineers' tests use at the same time; the embedded bus path above is the same code up to "
                 "the ALERTS_TOPIC publication.")
