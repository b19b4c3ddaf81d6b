"""Tracks and their visits; a person's tracks are replaced whenever they are re-stitched."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from facetrail.storage.database import Database
from facetrail.storage.models import TrackRow, VisitRow
from facetrail.trajectory.tracks import Track


@dataclass(frozen=True)
class StoredVisit:
    camera_id: str
    entered_at: datetime
    exited_at: datetime
    best_score: float
    sightings: int
    plausible_arrival: bool
    speed_mps: float | None


@dataclass(frozen=True)
class StoredTrack:
    track_id: str
    entry_id: str
    started_at: datetime
    ended_at: datetime
    plausible: bool
    visits: tuple[StoredVisit, ...]

    @property
    def camera_order(self) -> tuple[str, ...]:
        return tuple(v.camera_id for v in self.visits)


def _rows(track: Track) -> TrackRow:
    row = TrackRow(
        track_id=track.track_id,
        entry_id=track.entry_id,
        started_at=track.started_at,
        ended_at=track.ended_at,
        plausible=track.plausible,
    )
    arrivals = {i + 1: t for i, t in enumerate(track.transitions)}
    for seq, visit in enumerate(track.visits):
        arrival = arrivals.get(seq)
        row.visits.append(
            VisitRow(
                seq=seq,
                camera_id=visit.camera_id,
                entered_at=visit.entered_at,
                exited_at=visit.exited_at,
                best_score=visit.best_score,
                sightings=visit.sightings,
                plausible_arrival=arrival.plausible if arrival else True,
                speed_mps=arrival.speed_mps if arrival else None,
            )
        )
    return row


def _stored(row: TrackRow) -> StoredTrack:
    visits = tuple(
        StoredVisit(v.camera_id, v.entered_at, v.exited_at, v.best_score, v.sightings, v.plausible_arrival, v.speed_mps)
        for v in row.visits
    )
    return StoredTrack(row.track_id, row.entry_id, row.started_at, row.ended_at, row.plausible, visits)


class TrackStore:
    def __init__(self, db: Database):
        self._db = db

    def replace_for_entry(self, entry_id: str, tracks: list[Track], since: datetime | None = None) -> None:
        """Swap a person's tracks (those ending at or after `since`) for freshly stitched ones, atomically."""
        with self._db.session() as session, session.begin():
            stale = delete(TrackRow).where(TrackRow.entry_id == entry_id)
            if since is not None:
                stale = stale.where(TrackRow.ended_at >= since)
            session.execute(stale)
            session.flush()
            for track in tracks:
                session.merge(_rows(track))

    def search(
        self,
        *,
        entry_ids: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[StoredTrack]:
        query = select(TrackRow).options(selectinload(TrackRow.visits))
        if entry_ids is not None:
            query = query.where(TrackRow.entry_id.in_(entry_ids))
        if since is not None:
            query = query.where(TrackRow.ended_at >= since)
        if until is not None:
            query = query.where(TrackRow.started_at <= until)
        query = query.order_by(TrackRow.started_at, TrackRow.track_id).limit(limit).offset(offset)
        with self._db.session() as session:
            return [_stored(r) for r in session.scalars(query).all()]

    def get(self, track_id: str) -> StoredTrack | None:
        with self._db.session() as session:
            row = session.get(TrackRow, track_id, options=[selectinload(TrackRow.visits)])
            return _stored(row) if row else None

    def visits_at(self, camera_id: str, since: datetime, until: datetime, limit: int = 100, offset: int = 0) -> list[tuple[str, StoredVisit]]:
        query = (
            select(VisitRow, TrackRow.entry_id)
            .join(TrackRow)
            .where(VisitRow.camera_id == camera_id, VisitRow.exited_at >= since, VisitRow.entered_at <= until)
            .order_by(VisitRow.entered_at)
            .limit(limit)
            .offset(offset)
        )
        with self._db.session() as session:
            return [
                (entry_id, StoredVisit(v.camera_id, v.entered_at, v.exited_at, v.best_score, v.sightings, v.plausible_arrival, v.speed_mps))
                for v, entry_id in session.execute(query).all()
            ]
