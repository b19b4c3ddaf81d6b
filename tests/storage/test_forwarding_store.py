"""The webhook delivery queue on each backend: once per (target, message id), claimed before sending, erasable."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from facetrail.storage.forwarding_store import ForwardingQueue, QueuedDelivery


def _delivery(target: str, entry_id: str, n: int = 0) -> QueuedDelivery:
    return QueuedDelivery(target, f"candidate-{n:032x}", "candidate", f"{n:032x}", entry_id, '{"id": 1}')


def test_a_delivery_queued_twice_is_queued_once(entry_db):
    db, entry_id = entry_db
    queue, target = ForwardingQueue(db), f"t-{uuid.uuid4().hex[:8]}"
    assert queue.enqueue([_delivery(target, entry_id)]) == 1
    assert queue.enqueue([_delivery(target, entry_id)]) == 0
    assert [c.pending for c in queue.counts() if c.target == target] == [1]
    queue.forget_entry(entry_id)


def test_a_claimed_delivery_is_not_claimed_again_until_its_lease_runs_out(entry_db):
    db, entry_id = entry_db
    queue, target = ForwardingQueue(db), f"t-{uuid.uuid4().hex[:8]}"
    queue.enqueue([_delivery(target, entry_id)])
    [claimed] = queue.claim_due(target, lease_s=60)
    assert queue.claim_due(target, lease_s=60) == []
    assert queue.delivered(claimed.id) and not queue.delivered(claimed.id)
    queue.forget_entry(entry_id)


def test_a_failed_delivery_waits_for_its_retry_time_and_a_dead_one_can_be_retried(entry_db):
    db, entry_id = entry_db
    queue, target = ForwardingQueue(db), f"t-{uuid.uuid4().hex[:8]}"
    queue.enqueue([_delivery(target, entry_id)])
    [claimed] = queue.claim_due(target, lease_s=0)
    queue.failed(claimed.id, "HTTP 500", datetime.now(timezone.utc) + timedelta(hours=1))
    assert queue.claim_due(target, lease_s=0) == []
    assert queue.retry_dead(target) == []  # not dead yet: nothing to retry
    queue.failed(claimed.id, "HTTP 500", None)
    assert [(d.message_id, error) for d, error in queue.dead(target)] == [(claimed.message_id, "HTTP 500")]
    assert len(queue.retry_dead(target)) == 1 and len(queue.claim_due(target, lease_s=0)) == 1
    queue.forget_entry(entry_id)


def test_cancelling_an_entrys_deliveries_stops_them_and_drops_their_bodies(entry_db):
    db, entry_id = entry_db
    queue, target = ForwardingQueue(db), f"t-{uuid.uuid4().hex[:8]}"
    queue.enqueue([_delivery(target, entry_id, n) for n in range(3)])
    assert len(queue.cancel_of_entry(entry_id)) == 3
    assert queue.claim_due(target, lease_s=0) == []
    assert [(c.pending, c.cancelled) for c in queue.counts() if c.target == target] == [(0, 3)]
    assert queue.forget_entry(entry_id) == 3
