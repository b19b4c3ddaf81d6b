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

import cv2

from facetrail.analytics.detector import FaceDetector
from facetrail.analytics.embedder import FaceEmbedder
from facetrail.analytics.face_models import build_face_models
from facetrail.analytics.matcher import Matcher
from facetrail.analytics.pipeline import CameraAnalyser
from facetrail.config import Config, load_config
from facetrail.health import CameraHealth
from facetrail.ingest.camera import LiveCamera
from facetrail.matching import load_matcher
from facetrail.publisher import SightingPublisher
from facetrail.storage.reachability import DATABASE_AWAY, DatabaseLink, is_unreachable
from facetrail.storage.watchlist_store import WatchlistStore
from facetrail.stores import Stores

log = logging.getLogger(__name__)

HEALTH_EVERY_S = 2.0
WATCHLIST_CHECK_EVERY_S = 5.0


@dataclass
class AnalysisKit:
    """Models and stores one process shares between its cameras."""

    config: Config
    watchlist: WatchlistStore
    publisher: SightingPublisher
    detector: FaceDetector
    embedder: FaceEmbedder

    @classmethod
    def build(cls, stores: Stores, threads: int = 0) -> "AnalysisKit":
        models = build_face_models(stores.config.analysis, stores.config.models, threads)
        for note in models.notes:
            log.warning("%s", note)
        return cls(stores.config, stores.watchlist, stores.publisher, models.detector, models.embedder)

    def matcher(self) -> tuple[Matcher, str]:
        loaded = load_matcher(self.watchlist, self.embedder.space, self.config.analysis.matching)
        log.info("worker %s: %s", os.getpid(), loaded.summary(self.embedder.space))
        return loaded.matcher, loaded.version

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
            detection_ms=counters.detection_ms, embedding_ms=counters.embedding_ms,
            watchlist_version=self.analyser.watchlist_version,
        )


class AnalysisLoop:
    """One process's cameras, analysed in one loop; cameras may be added and removed between steps."""

    def __init__(self, stores: Stores, threads: int = 0):
        self.config = stores.config
        self.kit = AnalysisKit.build(stores, threads)
        # Accountability: each camera's deployment (start, watch-list changes, stop) is in the audit log.
        self.audit = stores.audit
        self.slots: dict[str, _CameraSlot] = {}
        self.version = self.kit.watchlist.version()
        self._next_health = self._next_check = time.monotonic()
        self.database = DatabaseLink(f"worker {os.getpid()}")
        log.info("worker %s: detector %s, embedder %s", os.getpid(), self.kit.detector.name, self.kit.embedder.space.model)

    def add(self, camera_id: str) -> None:
        camera = LiveCamera(camera_id, self.config.camera(camera_id).source, self.config.analysis.fps).start()
        slot = self.slots[camera_id] = _CameraSlot(camera, self.kit.analyser(camera_id))
        self.audit.record("worker", "camera.start", camera_id,
                          {"watchlist_version": slot.analyser.watchlist_version, "pid": os.getpid()})
        log.info("worker %s: camera %s started", os.getpid(), camera_id)

    def remove(self, camera_id: str) -> None:
        """Stop a camera: its open passes end and are published, its last health is reported."""
        slot = self.slots.pop(camera_id)
        slot.camera.stop()
        for matched in slot.analyser.finish():
            self.kit.publisher.publish(matched.event, matched.crop_jpeg)
        self.kit.publisher.report_health(slot.health(datetime.now(timezone.utc)))
        counters = slot.analyser.counters
        self.audit.record("worker", "camera.stop", camera_id, {
            "watchlist_version": slot.analyser.watchlist_version, "faces_detected": counters.faces_detected,
            "matched_passes": counters.matched_passes, "unmatched_passes": counters.unmatched_passes})
        log.info("worker %s: camera %s stopped", os.getpid(), camera_id)

    def step(self) -> bool:
        """Analyse the newest waiting frame of each camera; True when any frame was analysed."""
        busy = False
        for slot in list(self.slots.values()):
            frame = slot.camera.latest()
            if frame is None:
                continue
            busy = True
            for matched in slot.analyser.process(frame):
                self.kit.publisher.publish(matched.event, matched.crop_jpeg)
            slot.analysed_at.append(time.monotonic())
            slot.lag_s = (datetime.now(timezone.utc) - frame.captured_at).total_seconds()
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + WATCHLIST_CHECK_EVERY_S
            try:
                self._reload_watchlist()
            except DATABASE_AWAY as exc:
                if not is_unreachable(exc):
                    raise
                self.database.lost(exc)  # analysis goes on with the watch-list it has; checked again later
            else:
                self.database.back()
        if now >= self._next_health:
            self._next_health = now + HEALTH_EVERY_S
            stamp = datetime.now(timezone.utc)
            for slot in self.slots.values():
                self.kit.publisher.report_health(slot.health(stamp))
        return busy

    def _reload_watchlist(self) -> None:
        if self.kit.watchlist.version() == self.version:
            return
        matcher, self.version = self.kit.matcher()
        for slot in self.slots.values():
            slot.analyser.set_matcher(matcher, self.version)
            self.audit.record("worker", "camera.watchlist_reload", slot.camera.camera_id, {"watchlist_version": self.version})

    def close(self) -> None:
        for camera_id in list(self.slots):
            self.remove(camera_id)
        self.kit.publisher.flush()


def serve_cameras(stores: Stores, camera_ids: list[str], stop: "mp.synchronize.Event", threads: int = 0) -> None:
    """One process's loop over its cameras until `stop` is set."""
    loop = AnalysisLoop(stores, threads)
    try:
        for camera_id in camera_ids:
            loop.add(camera_id)
        while not stop.is_set():
            if not loop.step():
                stop.wait(0.01)
    finally:
        loop.close()


def serve_assigned(stores: Stores, stop, expected_members: int = 1, threads: int = 0) -> None:
    """One process's loop over the cameras the workers group assigns it (bus.kind: kafka), until `stop` is set."""
    from facetrail.bus.assignment import CameraAssignment

    loop = AnalysisLoop(stores, threads)
    assignment = CameraAssignment(stores.config, loop.add, loop.remove, expected_members)
    try:
        while not stop.is_set():
            assignment.poll()  # starts and stops cameras here, so analysis stays on this one thread
            if not loop.step():
                stop.wait(0.01)
    finally:
        assignment.close()  # stops this worker's cameras, then leaves the group so others take over at once
        loop.close()


def share_cores(processes: int) -> int:
    """Give this worker process its share of the cores for OpenCV's DNN (YuNet and the
    face ResNet) and OpenVINO (the embedder); returns the share. Each runtime would take
    every core in every process, and N busy processes with N threads each lose ~15% of
    their throughput to oversubscription."""
    share = max(1, (os.cpu_count() or 1) // max(1, processes))
    cv2.setNumThreads(share)
    return share


def _child(config_path: str, camera_ids: list[str], stop, processes: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    from facetrail.logs import configure_logging

    configure_logging()
    # The parent migrated the schema before starting this process: opened as it is.
    serve_cameras(Stores(load_config(config_path), config_path, migrate_schema=False), camera_ids, stop, share_cores(processes))


def _assigned_child(config_path: str, expected_members: int, stop) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    from facetrail.logs import configure_logging

    configure_logging()
    serve_assigned(Stores(load_config(config_path), config_path, migrate_schema=False), stop, expected_members,
                   share_cores(expected_members))


def split_cameras(camera_ids: list[str], processes: int) -> list[list[str]]:
    groups = [camera_ids[i::processes] for i in range(max(1, processes))]
    return [g for g in groups if g]


def worker_processes(config: Config) -> int:
    return config.analysis.workers or os.cpu_count() or 1


def start_workers(config_path: str, config: Config, camera_ids: list[str], stop) -> list[mp.Process]:
    context = mp.get_context("spawn")
    processes = []
    groups = split_cameras(camera_ids, min(worker_processes(config), len(camera_ids)))
    for group in groups:
        process = context.Process(target=_child, args=(config_path, group, stop, len(groups)), name=f"facetrail-worker-{group[0]}")
        process.start()
        processes.append(process)
    return processes


def start_assigned_workers(config_path: str, config: Config, stop) -> list[mp.Process]:
    """Worker processes that share the cameras through the Kafka workers group (at most one per camera)."""
    count = max(1, min(worker_processes(config), len(config.cameras)))
    context = mp.get_context("spawn")
    processes = []
    for index in range(count):
        process = context.Process(target=_assigned_child, args=(config_path, count, stop), name=f"facetrail-worker-{index}")
        process.start()
        processes.append(process)
    return processes
