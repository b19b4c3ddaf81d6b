"""CameraAssignment.poll: cameras start only on a settled assignment of the full group.

The race under test needs exact timing (a rebalance completing while the group is being described), so the
broker's answer is replaced by a function that delivers that rebalance; the rebalance listener and poll are real.
"""

from __future__ import annotations

import threading

import facetrail.bus.assignment as assignment
from facetrail.bus.assignment import CameraAssignment, _Listener
from facetrail.config import KafkaBusConfig


class _Partition:
    def __init__(self, partition: int):
        self.partition = partition


def _lone_worker_holding_every_camera(started: list[str]) -> CameraAssignment:
    """A worker that joined first, alone, was assigned all three cameras long ago, and waits for a second member."""
    worker = CameraAssignment.__new__(CameraAssignment)
    worker._bus = KafkaBusConfig(kind="kafka", bootstrap_servers="127.0.0.1:1")
    worker._group, worker._cameras = "workers", {0: "cam-a", 1: "cam-b", 2: "cam-c"}
    worker._start, worker._stop = started.append, (lambda camera_id: None)
    worker._expected, worker._members_ok = 2, False
    worker._members_deadline, worker._next_members_check = float("inf"), 0.0
    worker._lock, worker.running = threading.Lock(), set()
    worker._wanted, worker._wanted_since, worker._revoked_at = {0, 1, 2}, 0.0, None
    return worker


def test_a_rebalance_completing_while_the_group_is_described_does_not_start_the_cameras_it_takes_away(monkeypatch):
    started: list[str] = []
    worker = _lone_worker_holding_every_camera(started)
    listener = _Listener(worker)

    def second_member_joins_during_the_question(bus, group):
        listener.on_partitions_revoked({_Partition(p) for p in (0, 1, 2)})
        listener.on_partitions_assigned({_Partition(0), _Partition(1)})
        return 2

    monkeypatch.setattr(assignment, "group_members", second_member_joins_during_the_question)
    worker.poll()
    assert started == []  # the new assignment has not settled yet
    monkeypatch.setattr(assignment, "SETTLE_S", 0.0)
    worker.poll()
    assert started == ["cam-a", "cam-b"]  # cam-c went to the other worker and was never opened here
