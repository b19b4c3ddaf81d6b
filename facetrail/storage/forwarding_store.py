"""The webhook delivery queue: what each target still has to receive, across restarts.

A delivery is claimed before it is sent (its next attempt moved past the send's time limit in one conditional
UPDATE), so two forwarding processes never send the same delivery at once, and a process that died mid-send
leaves the delivery to be taken again once the claim runs out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from facetrail.storage.database import Database
from facetrail.storage.models import ForwardingDeliveryRow

STATES = ("pending", "delivered", "dead", "cancelled")


@dataclass(frozen=True)
class QueuedDelivery:
    """One event for one target, before it is queued."""

    target: str
    message_id: str
    kind: str
    event_id: str
    entry_id: str | None
    body: str


@dataclass(frozen=True)
class Delivery:
    id: int
    target: str
    message_id: str
    kind: str
    event_id: str
    entry_id: str | None
    body: str
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class TargetCounts:
    target: str
    pending: int = 0
    delivered: int = 0
    dead: int = 0
    cancelled: int = 0
    oldest_pending: datetime | None = None


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _delivery(row: ForwardingDeliveryRow) -> Delivery:
    return Delivery(row.id, row.target, row.message_id, row.kind, row.event_id, row.entry_id, row.body or "",
                    row.attempts, row.created_at)


class ForwardingQueue:
    def __init__(self, db: Database):
        self._db = db

    def enqueue(self, deliveries: Sequence[QueuedDelivery]) -> int:
        """Queue each delivery unless its (target, message_id) was queued before; returns how many are new."""
        added = 0
        for delivery in deliveries:
            now = _now()
            row = ForwardingDeliveryRow(target=delivery.target, message_id=delivery.message_id, kind=delivery.kind,
                                        event_id=delivery.event_id, entry_id=delivery.entry_id, body=delivery.body,
                                        state="pending", attempts=0, next_attempt_at=now, created_at=now)
            try:
                with self._db.session() as session, session.begin():
                    session.add(row)
                added += 1
            except IntegrityError:
                continue  # the bus handed this event over again: it is queued (or delivered) already
        return added

    def claim_due(self, target: str, lease_s: float, limit: int = 50) -> list[Delivery]:
        """Pending deliveries of `target` whose attempt is due, oldest first, each claimed for `lease_s`."""
        now = _now()
        claimed: list[Delivery] = []
        with self._db.session() as session, session.begin():
            rows = session.scalars(select(ForwardingDeliveryRow).where(
                ForwardingDeliveryRow.target == target, ForwardingDeliveryRow.state == "pending",
                ForwardingDeliveryRow.next_attempt_at <= now).order_by(ForwardingDeliveryRow.id).limit(limit)).all()
            for row in rows:
                taken = session.execute(update(ForwardingDeliveryRow).where(
                    ForwardingDeliveryRow.id == row.id, ForwardingDeliveryRow.state == "pending",
                    ForwardingDeliveryRow.next_attempt_at == row.next_attempt_at,
                ).values(next_attempt_at=now + timedelta(seconds=lease_s)).execution_options(synchronize_session=False))
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(_delivery(row))
        return claimed

    def delivered(self, delivery_id: int) -> bool:
        """Mark a delivery done (its body is dropped); False when it was cancelled meanwhile."""
        return self._finish(delivery_id, "delivered", None, attempted=True)

    def failed(self, delivery_id: int, error: str, retry_at: datetime | None) -> bool:
        """Note a failed attempt: the next one at `retry_at`, or dead-lettered when None; False when cancelled meanwhile."""
        if retry_at is None:
            return self._finish(delivery_id, "dead", error, attempted=True)
        with self._db.session() as session, session.begin():
            done = session.execute(update(ForwardingDeliveryRow).where(
                ForwardingDeliveryRow.id == delivery_id, ForwardingDeliveryRow.state == "pending",
            ).values(attempts=ForwardingDeliveryRow.attempts + 1, next_attempt_at=retry_at, last_error=error[:300]))
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def _finish(self, delivery_id: int, state: str, error: str | None, attempted: bool) -> bool:
        with self._db.session() as session, session.begin():
            done = session.execute(update(ForwardingDeliveryRow).where(
                ForwardingDeliveryRow.id == delivery_id, ForwardingDeliveryRow.state == "pending",
            ).values(state=state, body=None if state == "delivered" else ForwardingDeliveryRow.body,
                     attempts=ForwardingDeliveryRow.attempts + (1 if attempted else 0), finished_at=_now(),
                     last_error=None if error is None else error[:300]))
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def cancel_of_entry(self, entry_id: str) -> list[Delivery]:
        """Cancel every undelivered delivery about an entry (erasure): their bodies are dropped; returns them."""
        with self._db.session() as session, session.begin():
            rows = session.scalars(select(ForwardingDeliveryRow).where(
                ForwardingDeliveryRow.entry_id == entry_id,
                ForwardingDeliveryRow.state.in_(("pending", "dead")))).all()
            cancelled = [_delivery(row) for row in rows]
            session.execute(update(ForwardingDeliveryRow).where(
                ForwardingDeliveryRow.id.in_([d.id for d in cancelled]),
            ).values(state="cancelled", body=None, finished_at=_now()))
        return cancelled

    def forget_entry(self, entry_id: str) -> int:
        """Remove the finished rows about an entry (erasure leaves no trace of the person in the queue)."""
        with self._db.session() as session, session.begin():
            done = session.execute(delete(ForwardingDeliveryRow).where(ForwardingDeliveryRow.entry_id == entry_id))
            return int(done.rowcount)  # type: ignore[attr-defined]

    def retry_dead(self, target: str | None = None) -> list[Delivery]:
        """Put dead-lettered deliveries (of one target, or all) back in the queue, due now, attempts reset."""
        with self._db.session() as session, session.begin():
            query = select(ForwardingDeliveryRow).where(ForwardingDeliveryRow.state == "dead")
            if target is not None:
                query = query.where(ForwardingDeliveryRow.target == target)
            revived = [_delivery(row) for row in session.scalars(query).all()]
            session.execute(update(ForwardingDeliveryRow).where(
                ForwardingDeliveryRow.id.in_([d.id for d in revived]),
            ).values(state="pending", attempts=0, next_attempt_at=_now(), finished_at=None))
        return revived

    def counts(self) -> list[TargetCounts]:
        """Deliveries by target and state, with the oldest pending one's age."""
        with self._db.session() as session:
            rows = session.execute(select(ForwardingDeliveryRow.target, ForwardingDeliveryRow.state, func.count(),
                                          func.min(ForwardingDeliveryRow.created_at))
                                   .group_by(ForwardingDeliveryRow.target, ForwardingDeliveryRow.state)).all()
        by_target: dict[str, dict[str, object]] = {}
        for target, state, count, oldest in rows:
            fields = by_target.setdefault(target, {})
            fields[state] = int(count)
            if state == "pending":
                fields["oldest_pending"] = oldest if oldest is None or oldest.tzinfo else oldest.replace(tzinfo=timezone.utc)
        return [TargetCounts(target, **fields) for target, fields in sorted(by_target.items())]  # type: ignore[arg-type]

    def dead(self, target: str | None = None, limit: int = 100) -> list[tuple[Delivery, str]]:
        """Dead-lettered deliveries with their last error, newest first."""
        with self._db.session() as session:
            query = select(ForwardingDeliveryRow).where(ForwardingDeliveryRow.state == "dead")
            if target is not None:
                query = query.where(ForwardingDeliveryRow.target == target)
            rows = session.scalars(query.order_by(ForwardingDeliveryRow.id.desc()).limit(limit)).all()
            return [(_delivery(row), row.last_error or "") for row in rows]

    def delete_queued_before(self, cutoff: datetime) -> int:
        """Delete every row queued before `cutoff`, sent or not (retention: they describe sightings that old)."""
        with self._db.session() as session, session.begin():
            done = session.execute(delete(ForwardingDeliveryRow).where(ForwardingDeliveryRow.created_at < cutoff))
            return int(done.rowcount)  # type: ignore[attr-defined]
