"""Reviewers' decisions on sightings, and the sighting status they settle."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, distinct, func, select, update
from sqlalchemy.orm import Session

from facetrail.storage.database import Database
from facetrail.storage.models import ReviewRow, SightingRow


@dataclass(frozen=True)
class ReviewDecision:
    event_id: str
    reviewer: str
    decision: str
    note: str
    decided_at: datetime


@dataclass(frozen=True)
class Recorded:
    """A sighting after one decision was put to it: its status, who confirmed it, whether the decision counted.

    ``decided_before`` is True when the sighting was already confirmed or rejected: then nothing was written."""

    entry_id: str
    status: str
    confirmations: int
    counted: bool
    decided_before: bool = False


def _confirmers(session: Session, event_id: str) -> set[str]:
    return set(session.scalars(select(ReviewRow.reviewer).where(
        ReviewRow.event_id == event_id, ReviewRow.decision == "confirm")).all())


class ReviewStore:
    def __init__(self, db: Database):
        self._db = db

    def status(self, event_id: str) -> tuple[str, int] | None:
        """A sighting's review status and how many different people confirmed it; None when there is no such sighting."""
        with self._db.session() as session:
            row = session.get(SightingRow, event_id)
            return None if row is None else (row.status, len(_confirmers(session, event_id)))

    def record(self, event_id: str, reviewer: str, decision: str, note: str, required: int) -> Recorded | None:
        """Put one decision to a candidate sighting (one transaction); None when there is no such sighting.

        A confirmation by someone who confirmed already is not counted twice; one rejection rejects; ``required``
        different confirmations confirm."""
        with self._db.session() as session, session.begin():
            # A no-op write first takes the write lock, so two reviewers deciding at once are serialised.
            session.execute(update(SightingRow).where(SightingRow.event_id == event_id).values(status=SightingRow.status))
            row = session.get(SightingRow, event_id)
            if row is None:
                return None
            confirmers = _confirmers(session, event_id)
            if row.status != "candidate":
                return Recorded(row.entry_id, row.status, len(confirmers), counted=False, decided_before=True)
            counted = not (decision == "confirm" and reviewer in confirmers)
            if counted:
                session.add(ReviewRow(event_id=event_id, entry_id=row.entry_id, reviewer=reviewer, decision=decision,
                                      note=note, decided_at=datetime.now(timezone.utc)))
                if decision == "confirm":
                    confirmers.add(reviewer)
            if decision == "reject":
                row.status = "rejected"
            elif len(confirmers) >= required:
                row.status = "confirmed"
            return Recorded(row.entry_id, row.status, len(confirmers), counted)

    def confirmations_of(self, event_ids: list[str]) -> dict[str, int]:
        """Different people who confirmed each sighting so far (sightings nobody confirmed are left out)."""
        counts: dict[str, int] = {}
        with self._db.session() as session:
            for start in range(0, len(event_ids), 500):
                query = select(ReviewRow.event_id, func.count(distinct(ReviewRow.reviewer))).where(
                    ReviewRow.event_id.in_(event_ids[start:start + 500]), ReviewRow.decision == "confirm"
                ).group_by(ReviewRow.event_id)
                counts.update({event_id: count for event_id, count in session.execute(query).all()})
        return counts

    def decisions_of(self, event_ids: list[str]) -> dict[str, list[ReviewDecision]]:
        """Each sighting's decisions in the order they were taken (sightings nobody decided are left out)."""
        found: dict[str, list[ReviewDecision]] = {}
        with self._db.session() as session:
            for start in range(0, len(event_ids), 500):
                rows = session.scalars(select(ReviewRow).where(ReviewRow.event_id.in_(event_ids[start:start + 500]))
                                       .order_by(ReviewRow.id)).all()
                for r in rows:
                    found.setdefault(r.event_id, []).append(
                        ReviewDecision(r.event_id, r.reviewer, r.decision, r.note, r.decided_at))
        return found

    def decisions(self, event_id: str) -> list[ReviewDecision]:
        with self._db.session() as session:
            rows = session.scalars(select(ReviewRow).where(ReviewRow.event_id == event_id).order_by(ReviewRow.id)).all()
            return [ReviewDecision(r.event_id, r.reviewer, r.decision, r.note, r.decided_at) for r in rows]

    def delete_of_entry(self, entry_id: str) -> None:
        with self._db.session() as session, session.begin():
            session.execute(delete(ReviewRow).where(ReviewRow.entry_id == entry_id))
