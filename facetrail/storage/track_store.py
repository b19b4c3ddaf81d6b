"""Tracks and their visits; a person's tracks are replaced whenever they are re-stitched."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select
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


def _stored(row: TrackRow) -> StoredTrack:
    visits = tuple(
        StoredVisit(v.camera_id, v.entered_at, v.exited_at, v.best_score, v.sightings, v.plausible_arrival, v.speed_mps)
        for v in row.visits
    )
    return StoredTrack(row.track_id, row.entry_id, row.started_at, row.ended_at, row.plausible, visits)


def _visit_rows(track: Track) -> list[dict]:
    arrivals = {i + 1: t for i, t in enumerate(track.transitions)}
    return [
        {"track_id": track.track_id, "seq": seq, "camera_id": v.camera_id, "entered_at": v.entered_at,
         "exited_at": v.exited_at, "best_score": v.best_score, "sightings": v.sightings,
         "plausible_arrival": arrivals[seq].plausible if seq in arrivals else True,
         "speed_mps": arrivals[seq].speed_mps if seq in arrivals else None}
        for seq, v in enumerate(track.visits)
    ]


class TrackStore:
    def __init__(self, db: Database):
        self._db = db

    def spans(self, entry_ids: set[str]) -> dict[str, list[tuple[str, datetime, datetime]]]:
        """(track id, start, end) of every stored track of these people, in one query."""
        query = select(TrackRow.entry_id, TrackRow.track_id, TrackRow.started_at, TrackRow.ended_at).where(
            TrackRow.entry_id.in_(entry_ids))
        spans: dict[str, list[tuple[str, datetime, datetime]]] = {e: [] for e in entry_ids}
        with self._db.session() as session:
            for entry_id, track_id, started, ended in session.execute(query):
                spans[entry_id].append((track_id, started, ended))
        return spans

    def swap(self, stale_ids: set[str], tracks: list[Track]) -> None:
        """Delete the stale tracks (and any that the new ones replace), insert the new ones: one transaction."""
        doomed = set(stale_ids) | {t.track_id for t in tracks}
        with self._db.session() as session, session.begin():
            if doomed:
                session.execute(delete(VisitRow).where(VisitRow.track_id.in_(doomed)))
                session.execute(delete(TrackRow).where(TrackRow.track_id.in_(doomed)))
            if tracks:
                session.execute(insert(TrackRow), [
                    {"track_id": t.track_id, "entry_id": t.entry_id, "started_at": t.started_at,
                     "ended_at": t.ended_at, "plausible": t.plausible} for t in tracks])
                visits = [row for t in tracks for row in _visit_rows(t)]
                if visits:
                    session.execute(insert(VisitRow), visits)

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
