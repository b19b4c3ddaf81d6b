"""The live runtime: the stages `facetrail run` and `facetrail trajectory` supervise, and their loops.

Each stage does one small thing a step (stitch what arrived, record camera health, sweep when due); a loop
steps them in turn until it is told to stop, then closes them. The command line only builds the stores
(facetrail.stores), reports, and calls in here.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from facetrail.bus.base import Consumer
from facetrail.bus.channels import HEALTH, HEALTH_GROUP, SIGHTINGS, TRAJECTORY_GROUP
from facetrail.config import KafkaBusConfig
from facetrail.accountability.retention import sweep
from facetrail.health import CameraHealth
from facetrail.storage.alert_outbox import AlertOutbox
from facetrail.storage.erased_entries import ErasedEntries
from facetrail.storage.health_store import HealthStore
from facetrail.storage.reachability import DATABASE_AWAY, DatabaseLink, is_unreachable
from facetrail.stores import Stores
from facetrail.trajectory.service import Guards, TrajectoryService
from facetrail.worker import start_assigned_workers, start_workers

if TYPE_CHECKING:
    from facetrail.forwarding.service import Forwarding

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 15 * 60.0
STEP_WAIT_S = 0.2


def trajectory_service(stores: Stores) -> TrajectoryService:
    guards = Guards(retention=stores.config.retention, erased=ErasedEntries(stores.db), outbox=AlertOutbox(stores.db))
    return TrajectoryService(stores.bus, SIGHTINGS.consumer(stores.bus, TRAJECTORY_GROUP), stores.sightings,
                             stores.tracks, stores.camera_plan, stores.config.trajectory, guards=guards)


@dataclass
class HealthRecorder:
    """Camera health reports from the bus into the health store."""

    consumer: Consumer
    store: HealthStore
    database: DatabaseLink = field(default_factory=lambda: DatabaseLink("camera health"))
    held: list[CameraHealth] = field(default_factory=list)
    """Reports read while the database was away: the newest of each camera, recorded once it is back."""

    @classmethod
    def of(cls, stores: Stores) -> "HealthRecorder":
        return cls(HEALTH.consumer(stores.bus, HEALTH_GROUP), stores.health)

    def step(self) -> int:
        # Never waits: it shares a loop with the trajectory stage (the consumer still joins on a 0 s poll).
        records = self.consumer.poll(0.0, 1000)
        for record in records:
            try:
                self.held.append(HEALTH.decode(record.value))
            except ValueError:
                continue  # a malformed report is skipped: health is advisory
        if self.held and self.database.due():
            try:
                for report in _newest_of_each(self.held):
                    self.store.record(report)
            except DATABASE_AWAY as exc:
                if not is_unreachable(exc):
                    raise
                self.database.lost(exc)
                self.held = _newest_of_each(self.held)  # a long outage keeps one report a camera
                return len(records)
            self.held = []
            self.database.back()
        self.consumer.commit()
        return len(records)

    def close(self) -> None:
        self.consumer.close()


@dataclass
class RetentionSchedule:
    """The retention sweep, at start and then every ``every_s``."""

    stores: Stores
    every_s: float = SWEEP_EVERY_S
    next_at: float = field(default_factory=time.monotonic)

    def step(self) -> None:
        if time.monotonic() >= self.next_at:
            self.next_at = time.monotonic() + self.every_s
            stores = self.stores
            try:
                sweep(stores.config, stores.db, stores.objects, stores.bus, stores.audit)
            except DATABASE_AWAY as exc:
                if not is_unreachable(exc):
                    raise
                # A sweep is idempotent: the next one, a minute on, does what this one could not.
                self.next_at = time.monotonic() + min(self.every_s, 60.0)
                log.warning("retention sweep postponed: the database is unreachable")


def _newest_of_each(reports: list[CameraHealth]) -> list[CameraHealth]:
    newest: dict[str, CameraHealth] = {}
    for report in reports:
        if report.camera_id not in newest or report.reported_at >= newest[report.camera_id].reported_at:
            newest[report.camera_id] = report
    return list(newest.values())


class Stage(Protocol):
    def step(self) -> object: ...


@dataclass
class TrajectoryStage:
    service: TrajectoryService

    def step(self) -> object:
        return self.service.step(timeout_s=STEP_WAIT_S)


def supervise(stages: list[Stage], keep_going: Callable[[], bool], done: Callable[[], bool] = lambda: False) -> None:
    """Step every stage in turn while ``keep_going()``, until ``done()`` after a round."""
    while keep_going():
        for stage in stages:
            stage.step()
        if done():
            return


def serve_trajectory(stores: Stores, service: TrajectoryService) -> None:
    """The trajectory service, camera health and forwarding (when configured), until SIGTERM."""
    health = HealthRecorder.of(stores)
    stopping: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    forwarding: Forwarding | None = None
    try:
        forwarding = start_forwarding(stores)
        supervise([TrajectoryStage(service), health], lambda: not stopping)
    finally:
        service.close()  # the last batch's alerts leave before the process does, and the group sees it go
        health.close()
        if forwarding is not None:
            forwarding.stop()


def start_forwarding(stores: Stores) -> "Forwarding | None":
    """Forwarding on its own threads (its sends never hold up stitching); None when no target is configured."""
    forwarding = stores.forwarding()
    if forwarding is None:
        return None
    log.info("forwarding to %d webhook(s)%s", len(forwarding.dispatchers), " and MQTT" if forwarding.mqtt else "")
    return forwarding.start()


def serve_forwarding(stores: Stores) -> None:
    """`facetrail forwarding serve`: only forwarding, until SIGTERM or Ctrl-C."""
    forwarding = start_forwarding(stores)
    if forwarding is None:
        return
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        forwarding.stop()


def start_analysis(stores: Stores, stop: "mp.synchronize.Event") -> list[mp.Process]:
    """The analysis worker processes over the configured cameras."""
    config = stores.config
    if isinstance(config.bus, KafkaBusConfig):
        # Scale-out: the workers share the cameras through a Kafka consumer group, so more
        # `facetrail worker` processes elsewhere (or a dead one's absence) rebalance them.
        from facetrail.bus.assignment import ensure_camera_partitions  # imports Kafka only when it is the bus

        ensure_camera_partitions(config.bus, len(config.cameras), retention_ms=config.retention.bus_retention_ms)
        return start_assigned_workers(stores.config_path, config, stop)
    return start_workers(stores.config_path, config, [c.id for c in config.cameras], stop)


def stop_workers(workers: list[mp.Process], stop: "mp.synchronize.Event", grace_s: float = 15.0) -> None:
    stop.set()
    for worker in workers:
        worker.join(timeout=grace_s)
        if worker.is_alive():
            worker.kill()


@dataclass
class LiveRun:
    """`facetrail run`: analysis workers, the trajectory service, camera health and retention, until stopped."""

    stores: Stores
    workers: list[mp.Process]
    stop: "mp.synchronize.Event"

    @classmethod
    def start(cls, stores: Stores) -> "LiveRun":
        stop = mp.get_context("spawn").Event()
        return cls(stores, start_analysis(stores, stop), stop)

    def serve(self, duration_s: float | None = None) -> None:
        """Until Ctrl-C, SIGTERM, ``duration_s`` or every worker having ended; then everything published is stitched."""
        service, health = trajectory_service(self.stores), HealthRecorder.of(self.stores)
        signal.signal(signal.SIGTERM, lambda *_: self.stop.set())
        deadline = None if duration_s is None else time.monotonic() + duration_s
        stages: list[Stage] = [TrajectoryStage(service), health, RetentionSchedule(self.stores)]
        forwarding: Forwarding | None = None

        def keep_going() -> bool:
            return not self.stop.is_set() and (deadline is None or time.monotonic() < deadline)

        try:
            forwarding = start_forwarding(self.stores)  # a missing secret stops the run here, workers included
            supervise(stages, keep_going, done=lambda: not any(w.is_alive() for w in self.workers))
        except KeyboardInterrupt:
            pass  # Ctrl-C stops the run like SIGTERM: workers stop, what they published is stitched
        finally:
            stop_workers(self.workers, self.stop)
            service.drain()
            health.step()
            if forwarding is not None:
                forwarding.stop()
