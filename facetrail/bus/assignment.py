"""Which worker analyses which camera: the partitions of a Kafka consumer group.

The cameras topic has one partition per configured camera (partition i is the
i-th camera in config order). Every worker process subscribes to it in the
group ``facetrail-workers``; Kafka hands each partition to exactly one live
member, so each camera is analysed by exactly one process. When a worker joins
or leaves (or dies: its heartbeats stop and its session expires after
``SESSION_TIMEOUT_MS``), the group rebalances and the cameras move.

Nothing is ever read from or written to the topic: it exists only so that the
group has one unit of work per camera to share out.

Rebalances in kafka-python revoke every partition before assigning again, so a
revocation is not acted on at once: a camera is stopped only when the next
assignment leaves it out (or no assignment follows within the session
timeout), and a camera that stays with this worker keeps streaming.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from kafka import KafkaAdminClient, KafkaConsumer
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import InvalidPartitionsError, KafkaError

from facetrail.bus.channels import CAMERAS_TOPIC
from facetrail.bus.kafka_bus import DEFAULT_TOPICS, BusError, ensure_topics
from facetrail.config import Config, KafkaBusConfig

log = logging.getLogger(__name__)

WORKERS_GROUP = "facetrail-workers"
# A kill -9'd worker is noticed after SESSION_TIMEOUT_MS; the survivors hear of the rebalance on
# their next heartbeat, so cameras move within ~12 s. Shorter sessions expire spuriously when
# analysis saturates the cores and a heartbeat waits for the interpreter.
SESSION_TIMEOUT_MS = 10_000
HEARTBEAT_INTERVAL_MS = 1_000
MAX_POLL_INTERVAL_MS = 60_000
# At start-up, a worker told to expect N members waits (at most this long) for them,
# so a camera is not opened by one worker only to move to another a second later.
MEMBERS_WAIT_S = 60.0
# A stable assignment must hold this long before cameras start.
SETTLE_S = 1.0
# Rebalances revoke everything first; cameras keep running until the next assignment or this long
# (a broker outage ends in a rejoin that may take a while; the cameras meanwhile keep analysing).
REVOKED_GRACE_S = 30.0


def camera_of_partition(config: Config) -> dict[int, str]:
    """Partition number -> camera id, in config order."""
    return {index: camera.id for index, camera in enumerate(config.cameras)}


def ensure_camera_partitions(bus: KafkaBusConfig, cameras: int, timeout_s: float = 30.0,
                             retention_ms: int | None = None) -> int:
    """Create the facetrail topics (with the retention given), and give the cameras topic at least one
    partition per camera; returns the count."""
    ensure_topics(bus.bootstrap_servers, {**DEFAULT_TOPICS, CAMERAS_TOPIC: max(1, cameras)}, timeout_s=timeout_s,
                  retention_ms=retention_ms, prefix=bus.topic_prefix)
    cameras_topic = bus.topic(CAMERAS_TOPIC)
    admin = KafkaAdminClient(bootstrap_servers=bus.bootstrap_servers, client_id=f"{bus.client_id}-admin",
                             request_timeout_ms=int(timeout_s * 1000))
    try:
        (topic,) = admin.describe_topics([cameras_topic])
        have = len(topic["partitions"])
        if have < cameras:
            try:
                admin.create_partitions({cameras_topic: cameras})
            except InvalidPartitionsError:
                pass  # another process extended it between our look and our request
            log.info("cameras topic extended from %d to %d partitions", have, cameras)
            have = cameras
        return have
    finally:
        admin.close()


class _Listener(ConsumerRebalanceListener):
    def __init__(self, owner: "CameraAssignment"):
        self._owner = owner

    def on_partitions_revoked(self, revoked):
        with self._owner._lock:
            self._owner._revoked_at = time.monotonic()

    def on_partitions_assigned(self, assigned):
        self._owner._assigned({tp.partition for tp in assigned})


class CameraAssignment:
    """This process's membership of the workers group; calls start/stop as cameras arrive and leave.

    Membership (heartbeats, rebalances) runs on its own thread, so a slow frame or a broker
    outage never stalls analysis; ``poll``, called from the analysis loop, starts and stops
    cameras on the caller's thread to match the settled assignment.
    """

    def __init__(self, config: Config, start: Callable[[str], None], stop: Callable[[str], None],
                 expected_members: int = 1, group: str = WORKERS_GROUP):
        if not isinstance(config.bus, KafkaBusConfig):
            raise BusError("camera assignment needs bus.kind: kafka")
        self._bus = config.bus
        self._cameras = camera_of_partition(config)
        self._start, self._stop = start, stop
        self._group = group
        self._topic = config.bus.topic(CAMERAS_TOPIC)
        self._expected = expected_members
        self._members_ok = expected_members <= 1
        self._members_deadline = time.monotonic() + MEMBERS_WAIT_S
        self._next_members_check = 0.0
        self._lock = threading.Lock()
        self._wanted: set[int] = set()
        self._wanted_since = 0.0
        self._revoked_at: float | None = None
        self._closing = threading.Event()
        self.running: set[str] = set()
        ensure_camera_partitions(self._bus, len(self._cameras), retention_ms=config.retention.bus_retention_ms)
        self._consumer = KafkaConsumer(
            bootstrap_servers=self._bus.bootstrap_servers,
            client_id=f"{self._bus.client_id}-worker",
            group_id=self._bus.group(group),
            enable_auto_commit=False,
            session_timeout_ms=SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
            max_poll_interval_ms=MAX_POLL_INTERVAL_MS,
            reconnect_backoff_max_ms=2_000,
        )
        self._await_partitions(len(self._cameras))
        self._consumer.subscribe([self._topic], listener=_Listener(self))
        self._thread = threading.Thread(target=self._membership, name="camera-assignment", daemon=True)
        self._thread.start()

    def _await_partitions(self, cameras: int, timeout_s: float = 30.0) -> None:
        """Join only once this client sees every partition: a leader with stale metadata would assign none."""
        deadline = time.monotonic() + timeout_s
        while len(self._consumer.partitions_for_topic(self._topic) or ()) < cameras and time.monotonic() < deadline:
            self._consumer._client.cluster.request_update()
            self._consumer._client.poll(timeout_ms=200)  # not subscribed yet: only metadata moves
        if len(self._consumer.partitions_for_topic(self._topic) or ()) < cameras:
            raise BusError(f"Kafka at {self._bus.bootstrap_servers} shows fewer than {cameras} partitions of {self._topic}")

    def _membership(self) -> None:
        # kafka-python logs every failed connection, heartbeat and metadata request of a broker outage (about
        # 200 lines in 30 s); this thread says instead when the group's coordinator is lost and found again.
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
        lost_at: float | None = None
        while not self._closing.is_set():
            try:
                # Nothing is ever produced to the topic; poll only drives the group protocol.
                self._consumer.poll(timeout_ms=200, max_records=1)
            except KafkaError as exc:
                log.warning("camera assignment: %s", exc)
                self._closing.wait(1.0)
            lost_at = self._note_coordinator(lost_at)
        try:
            self._consumer.close(autocommit=False)  # leaves the group at once: the others take over now
        except KafkaError as exc:
            log.warning("leaving the workers group: %s", exc)

    def _note_coordinator(self, lost_at: float | None) -> float | None:
        """One line when the group's coordinator is lost (cameras keep running meanwhile), one when it is back."""
        coordinator = getattr(self._consumer, "_coordinator", None)
        try:
            unknown = bool(coordinator is not None and coordinator.coordinator_unknown())
        except Exception:  # kafka-python's internals moved: say nothing rather than stop the membership thread
            return lost_at
        if unknown and lost_at is None:
            log.warning("camera assignment: Kafka at %s unreachable (group coordinator lost); cameras keep "
                        "running, retrying", self._bus.bootstrap_servers)
            return time.monotonic()
        if not unknown and lost_at is not None:
            log.warning("camera assignment: Kafka at %s reachable again after %.0f s", self._bus.bootstrap_servers,
                        time.monotonic() - lost_at)
            return None
        return lost_at

    def _assigned(self, partitions: set[int]) -> None:
        with self._lock:
            self._revoked_at = None
            self._wanted = {p for p in partitions if p in self._cameras}
            self._wanted_since = time.monotonic()
        log.info("worker assigned camera(s): %s", ", ".join(sorted(self._cameras[p] for p in partitions
                                                                   if p in self._cameras)) or "none")

    def poll(self) -> None:
        """Start and stop cameras to match the settled assignment (call from the analysis loop)."""
        # Members first, assignment after: asking the broker takes a while, and a rebalance that completes
        # meanwhile (the last member joining) must not be acted on with the assignment read before it.
        if not self._all_members_joined(time.monotonic()):
            return
        now = time.monotonic()
        with self._lock:
            if self._revoked_at is not None and now - self._revoked_at > REVOKED_GRACE_S:
                # Revoked and not assigned again for long: another worker may own them now.
                self._wanted, self._revoked_at = set(), None
            settled = self._revoked_at is None and now - self._wanted_since >= SETTLE_S
            wanted = {self._cameras[p] for p in self._wanted}
        if not settled:
            return
        for camera_id in sorted(self.running - wanted):
            self.running.discard(camera_id)
            self._stop(camera_id)
        for camera_id in sorted(wanted - self.running):
            self.running.add(camera_id)
            self._start(camera_id)

    def _all_members_joined(self, now: float) -> bool:
        if not self._members_ok and now >= self._next_members_check:
            self._next_members_check = now + 0.5
            self._members_ok = now >= self._members_deadline or group_members(self._bus, self._group) >= self._expected
        return self._members_ok

    def close(self) -> None:
        """Stop every camera, then leave the group."""
        for camera_id in sorted(self.running):
            self._stop(camera_id)
        self.running.clear()
        self._closing.set()
        self._thread.join(timeout=15)


def group_members(bus: KafkaBusConfig, group: str = WORKERS_GROUP) -> int:
    """Members of a stable group (0 while it rebalances or cannot be asked); `group` before the bus's prefix."""
    group = bus.group(group)
    try:
        admin = KafkaAdminClient(bootstrap_servers=bus.bootstrap_servers, client_id=f"{bus.client_id}-admin")
    except KafkaError:
        return 0
    try:
        description = admin.describe_groups([group]).get(group) or {}
        return len(description.get("members", ())) if description.get("group_state") == "Stable" else 0
    except KafkaError:
        return 0
    finally:
        admin.close()
