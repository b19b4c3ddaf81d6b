"""Analysis workers: cameras -> analysers -> publisher, spread over processes.

Each process builds its models once, reads its cameras on decode threads and
analyses them in one loop, newest frame first, so a slow camera drops frames
rather than lagging. CPU-bound work is spread over processes, not threads.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from facetrail.analytics.detector import create_detector
from facetrail.analytics.embedder import FaceEmbedder
from facetrail.analytics.matcher import Matcher
from facetrail.analytics.pipeline import CameraAnalyser
from facetrail.audit.log import AuditLog
from facetrail.bus.select import open_bus
from facetrail.config import Config, load_config
from facetrail.health import CameraHealth
from facetrail.ingest.camera import LiveCamera
from facetrail.publisher import SightingPublisher
from facetrail.storage.database import Database
from facetrail.storage.select import open_object_store
from facetrail.storage.watchlist_store import WatchlistStore

log = logging.getLogger(__name__)

HEALTH_EVERY_S = 2.0
WATCHLIST_CHECK_EVERY_S = 5.0


@dataclass
class AnalysisKit:
    """Models and stores one process shares between its cameras."""

    config: Config
    watchlist: WatchlistStore
    publisher: SightingPublisher
    detector: object
    embedder: FaceEmbedder

    @classmethod
    def build(cls, config: Config) -> "AnalysisKit":
        db = Database(config.database.url)
        publisher = SightingPublisher(open_bus(config.bus), open_object_store(config.objects))
        return cls(config, WatchlistStore(db), publisher, create_detector(config.analysis.detector), FaceEmbedder())

    def matcher(self) -> tuple[Matcher, str]:
        version = self.watchlist.version()
        return Matcher(self.watchlist.enrolled_people(), self.config.analysis.matching.threshold), version

    def analyser(self, camera_id: str) -> CameraAnalyser:
        matcher, version = self.matcher()
        return CameraAnalyser(camera_id, self.config.analysis, self.detector, self.embedder, matcher, version)


class _CameraSlot:
    def __init__(self, camera: LiveCamera, analyser: CameraAnalyser):
        self.camera, self.analyser = camera, analyser
        self.analysed_at: list[float] = []
        self.lag_s = 0.0

    def health(self, now: datetime) -> CameraHealth:
        cutoff = time.monotonic() - 10.0
        self.analysed_at = [t for t in self.analysed_at if t >= cutoff]
        counters, stream = self.analyser.counters, self.camera.health
        return CameraHealth(
            camera_id=self.camera.camera_id, state=stream.state, analysed_fps=len(self.analysed_at) / 10.0,
            last_frame_at=stream.last_frame_at, reconnects=stream.reconnects, lag_s=max(0.0, self.lag_s),
            faces_detected=counters.faces_detected, matched_passes=counters.matched_passes,
            unmatched_passes=counters.unmatched_passes, reported_at=now,
            watchlist_version=self.analyser.watchlist_version,
        )


def serve_cameras(config: Config, camera_ids: list[str], stop: "mp.synchronize.Event") -> None:
    """One process's loop over its cameras until `stop` is set."""
    kit = AnalysisKit.build(config)
    log.info("worker %s: detector %s, cameras %s", os.getpid(), kit.detector.name, ", ".join(camera_ids))
    slots = [
        _CameraSlot(LiveCamera(cid, config.camera(cid).source, config.analysis.fps).start(), kit.analyser(cid))
        for cid in camera_ids
    ]
    version = slots[0].analyser.watchlist_version if slots else ""
    # Accountability: each camera's deployment (start, watch-list changes, stop) is in the audit log.
    audit = AuditLog(Database(config.database.url))
    for slot in slots:
        audit.record("worker", "camera.start", slot.camera.camera_id, {"watchlist_version": version, "pid": os.getpid()})
    next_health = next_check = time.monotonic()
    try:
        while not stop.is_set():
            busy = False
            for slot in slots:
                frame = slot.camera.latest()
                if frame is None:
                    continue
                busy = True
                for matched in slot.analyser.process(frame):
                    kit.publisher.publish(matched.event, matched.crop_jpeg)
                slot.analysed_at.append(time.monotonic())
                slot.lag_s = (datetime.now(timezone.utc) - frame.captured_at).total_seconds()
            now = time.monotonic()
            if now >= next_check:
                next_check = now + WATCHLIST_CHECK_EVERY_S
                if kit.watchlist.version() != version:
                    matcher, version = kit.matcher()
                    for slot in slots:
                        slot.analyser.set_matcher(matcher, version)
                        audit.record("worker", "camera.watchlist_reload", slot.camera.camera_id, {"watchlist_version": version})
            if now >= next_health:
                next_health = now + HEALTH_EVERY_S
                stamp = datetime.now(timezone.utc)
                for slot in slots:
                    kit.publisher.report_health(slot.health(stamp))
            if not busy:
                stop.wait(0.01)
    finally:
        for slot in slots:
            slot.camera.stop()
            for matched in slot.analyser.finish():
                kit.publisher.publish(matched.event, matched.crop_jpeg)
            kit.publisher.report_health(slot.health(datetime.now(timezone.utc)))
            counters = slot.analyser.counters
            audit.record("worker", "camera.stop", slot.camera.camera_id, {
                "watchlist_version": slot.analyser.watchlist_version, "faces_detected": counters.faces_detected,
                "matched_passes": counters.matched_passes, "unmatched_passes": counters.unmatched_passes})
        kit.publisher.flush()


def _child(config_path: str, camera_ids: list[str], stop) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    from facetrail.logs import configure_logging

    configure_logging()
    serve_cameras(load_config(config_path), camera_ids, stop)


def split_cameras(camera_ids: list[str], processes: int) -> list[list[str]]:
    groups = [camera_ids[i::processes] for i in range(max(1, processes))]
    return [g for g in groups if g]


def worker_processes(config: Config) -> int:
    return config.analysis.workers or os.cpu_count() or 1


def start_workers(config_path: str, config: Config, camera_ids: list[str], stop) -> list[mp.Process]:
    context = mp.get_context("spawn")
    processes = []
    for group in split_cameras(camera_ids, min(worker_processes(config), len(camera_ids))):
        process = context.Process(target=_child, args=(config_path, group, stop), name=f"facetrail-worker-{group[0]}")
        process.start()
        processes.append(process)
    return processes
