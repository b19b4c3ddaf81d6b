"""Tracks and their visits; a person's tracks are replaced whenever they are re-stitched."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from facetrail.storage.bulk import among, delete_among, insert_rows, row_per_key, update_rows
from facetrail.storage.database import Database
from facetrail.storage.entry_locks import live_entries
from facetrail.storage.models import TrackRow, VisitRow
from facetrail.tracks import GrownTail, TailState, Track, TrackRecord, Visit, VisitRecord


def _visit_record(row: VisitRow) -> VisitRecord:
    return VisitRecord(row.camera_id, row.entered_at, row.exited_at, row.best_score, row.sightings,
                       row.plausible_arrival, row.speed_mps)


def _record(row: TrackRow) -> TrackRecord:
    return TrackRecord(row.track_id, row.entry_id, row.started_at, row.ended_at, row.plausible,
                       tuple(_visit_record(v) for v in row.visits))


# The columns of a new track and of a new visit, in the order _rows and _visit_row give them.
_TRACK_COLUMNS = ("track_id", "entry_id", "started_at", "ended_at", "plausible")
_VISIT_COLUMNS = ("track_id", "seq", "camera_id", "entered_at", "exited_at", "best_score", "sightings",
                  "plausible_arrival", "speed_mps")


def _visit_row(track_id: str, seq: int, v: VisitRecord) -> tuple:
    return (track_id, seq, v.camera_id, v.entered_at, v.exited_at, v.best_score, v.sightings, v.plausible_arrival,
            v.speed_mps)


def _rows(tracks: list[Track]) -> tuple[list[tuple], list[tuple]]:
    """The track rows and the visit rows of new tracks: what a read gives back as their TrackRecord."""
    records = [TrackRecord.of(t) for t in tracks]
    return ([(r.track_id, r.entry_id, r.started_at, r.ended_at, r.plausible) for r in records],
            [_visit_row(r.track_id, seq, v) for r in records for seq, v in enumerate(r.visits)])


def _last_visit(row) -> Visit:
    # Stored visits keep counts, not event ids: a grown visit names only the passes that joined it.
    return Visit(row.camera_id, row.entered_at, row.exited_at, row.best_score, row.sightings, ())


def _appended_visit_rows(grown: GrownTail) -> list[tuple]:
    return [_visit_row(grown.track_id, grown.first_seq + i, VisitRecord.of(v, arrival))
            for i, (v, arrival) in enumerate(zip(grown.visits[1:], grown.arrivals), start=1)]


_TRACKS, _VISITS = TrackRow.__table__, VisitRow.__table__


class TracksChanged(Exception):
    """A track was deleted, or changed by another writer, between reading its tail and growing it: re-stitch its
    person in full."""


class TrackStore:
    def __init__(self, db: Database):
        self._db = db

    def spans(self, entry_ids: set[str]) -> dict[str, list[tuple[str, datetime, datetime]]]:
        """(track id, start, end) of every stored track of these people, in one query."""
        query = select(TrackRow.entry_id, TrackRow.track_id, TrackRow.started_at, TrackRow.ended_at).where(
            among(TrackRow.entry_id, entry_ids, self._db.engine.dialect))
        spans: dict[str, list[tuple[str, datetime, datetime]]] = {e: [] for e in entry_ids}
        with self._db.session() as session:
            for entry_id, track_id, started, ended in session.execute(query):
                spans[entry_id].append((track_id, started, ended))
        return spans

    def tail_states(self, entry_ids: set[str]) -> dict[str, TailState | None]:
        """Each person's last track (latest start) with only its last visit, in two queries.

        People without a track are absent; a person whose last track has no visit left maps to None.
        Growing a track needs no more of it (facetrail.tracks.TailState), so this reads two rows a person
        however long the track is.
        """
        dialect = self._db.engine.dialect
        with self._db.session() as session:
            tracks = {row.track_id: row for row in session.execute(
                row_per_key(_TRACKS, "entry_id", entry_ids, dialect, latest_by="started_at"))} if entry_ids else {}
            lasts = {v.track_id: v for v in session.execute(
                row_per_key(_VISITS, "track_id", tracks, dialect, latest_by="seq"))} if tracks else {}
        return {t.entry_id: TailState(t.started_at, t.ended_at, t.plausible, lasts[t.track_id].seq + 1,
                                      _last_visit(lasts[t.track_id])) if t.track_id in lasts else None
                for t in tracks.values()}

    def grow(self, grown: list[GrownTail], following: list[Track]) -> None:
        """Store last tracks grown in place and the new tracks after them: one transaction.

        A grown track keeps its row and its visits up to its old last visit; that visit is updated and the
        new ones appended, so the write follows the new passes, not the track. Nothing is written for people
        no longer enrolled (storage.entry_locks); TracksChanged when a grown track is no longer stored.
        """
        if not grown and not following:
            return
        with self._db.session() as session, session.begin():
            live = live_entries(session, {g.entry_id for g in grown} | {t.entry_id for t in following})
            grown = [g for g in grown if g.entry_id in live]
            following = [t for t in following if t.entry_id in live]
            tracks = [(g.track_id, g.ended_at, g.plausible) for g in grown]
            last_visits = [(g.track_id, g.first_seq, g.visits[0].exited_at, g.visits[0].best_score,
                            g.visits[0].sightings) for g in grown]
            # A track deleted since its tail was read (retention), or a row another writer changed meanwhile
            # (storage.bulk.update_rows), is not updated: visits appended now would belong to no track.
            if (update_rows(session, _TRACKS, ("track_id",), ("ended_at", "plausible"), tracks) != len(tracks)
                    or update_rows(session, _VISITS, ("track_id", "seq"), ("exited_at", "best_score", "sightings"),
                                   last_visits) != len(last_visits)):
                raise TracksChanged("a track being grown was deleted or changed meanwhile")
            track_rows, visit_rows = _rows(following)
            insert_rows(session, _TRACKS, _TRACK_COLUMNS, track_rows)
            insert_rows(session, _VISITS, _VISIT_COLUMNS, [row for g in grown for row in _appended_visit_rows(g)]
                        + visit_rows)

    def swap(self, stale_ids: set[str], tracks: list[Track]) -> None:
        """Delete the stale tracks (and any that the new ones replace), insert the new ones: one transaction.

        New tracks of people no longer enrolled are not inserted (storage.entry_locks).
        """
        doomed = sorted(set(stale_ids) | {t.track_id for t in tracks})
        with self._db.session() as session, session.begin():
            live = live_entries(session, {t.entry_id for t in tracks})
            track_rows, visit_rows = _rows([t for t in tracks if t.entry_id in live])
            delete_among(session, VisitRow.track_id, doomed)
            delete_among(session, TrackRow.track_id, doomed)
            insert_rows(session, _TRACKS, _TRACK_COLUMNS, track_rows)
            insert_rows(session, _VISITS, _VISIT_COLUMNS, visit_rows)

    def search(
        self,
        *,
        entry_ids: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
        camera_id: str | None = None,
    ) -> list[TrackRecord]:
        query = select(TrackRow).options(selectinload(TrackRow.visits))
        if entry_ids is not None:
            query = query.where(TrackRow.entry_id.in_(entry_ids))
        if camera_id is not None:  # tracks that passed this camera
            query = query.where(TrackRow.visits.any(VisitRow.camera_id == camera_id))
        if since is not None:
            query = query.where(TrackRow.ended_at >= since)
        if until is not None:
            query = query.where(TrackRow.started_at <= until)
        query = query.order_by(TrackRow.started_at, TrackRow.track_id).limit(limit).offset(offset)
        with self._db.session() as session:
            return [_record(r) for r in session.scalars(query).all()]

    def get(self, track_id: str) -> TrackRecord | None:
        with self._db.session() as session:
            row = session.get(TrackRow, track_id, options=[selectinload(TrackRow.visits)])
            return _record(row) if row else None

    def visits_at(self, camera_id: str, since: datetime, until: datetime, limit: int = 100, offset: int = 0) -> list[tuple[str, VisitRecord]]:
        query = (
            select(VisitRow, TrackRow.entry_id)
            .join(TrackRow, TrackRow.track_id == VisitRow.track_id)
            .where(VisitRow.camera_id == camera_id, VisitRow.exited_at >= since, VisitRow.entered_at <= until)
            .order_by(VisitRow.entered_at)
            .limit(limit)
            .offset(offset)
        )
        with self._db.session() as session:
            return [(entry_id, _visit_record(v)) for v, entry_id in session.execute(query).all()]

    def track_covering(self, entry_id: str, moment: datetime) -> str | None:
        """The id of the person's track that spans ``moment`` (a stored pass's track), if any."""
        with self._db.session() as session:
            return session.scalar(select(TrackRow.track_id).where(
                TrackRow.entry_id == entry_id, TrackRow.started_at <= moment, TrackRow.ended_at >= moment).limit(1))

    def count_of(self, entry_id: str) -> int:
        with self._db.session() as session:
            return session.scalar(select(func.count()).select_from(TrackRow).where(TrackRow.entry_id == entry_id)) or 0

    def delete_ended_before(self, cutoff: datetime) -> int:
        """Delete tracks that ended before ``cutoff`` and their visits; returns how many tracks.

        The tracks go first: that waits for any transaction growing one of them, whose appended visits are
        then seen and deleted too (one that starts later finds its track gone: grow's TracksChanged).
        """
        with self._db.session() as session, session.begin():
            doomed = session.scalars(delete(TrackRow).where(TrackRow.ended_at < cutoff).returning(TrackRow.track_id)).all()
            delete_among(session, VisitRow.track_id, doomed)
            return len(doomed)
