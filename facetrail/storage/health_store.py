"""Latest health report per camera."""

from __future__ import annotations

from sqlalchemy import select

from facetrail.health import CameraHealth
from facetrail.storage.database import Database
from facetrail.storage.models import CameraHealthRow


class HealthStore:
    def __init__(self, db: Database):
        self._db = db

    def record(self, report: CameraHealth) -> None:
        with self._db.session() as session, session.begin():
            row = session.get(CameraHealthRow, report.camera_id) or CameraHealthRow(camera_id=report.camera_id)
            if row.updated_at is not None and row.updated_at > report.reported_at:
                return  # a late, older report never overwrites a newer one
            row.state, row.analysed_fps, row.last_frame_at = report.state, report.analysed_fps, report.last_frame_at
            row.reconnects, row.lag_s = report.reconnects, report.lag_s
            row.faces_detected, row.matched_passes, row.unmatched_passes = (
                report.faces_detected, report.matched_passes, report.unmatched_passes)
            row.detection_ms, row.embedding_ms = report.detection_ms, report.embedding_ms
            row.updated_at = report.reported_at
            session.add(row)

    def all(self) -> list[CameraHealth]:
        with self._db.session() as session:
            rows = session.scalars(select(CameraHealthRow).order_by(CameraHealthRow.camera_id)).all()
            return [
                CameraHealth(
                    camera_id=r.camera_id, state=r.state, analysed_fps=r.analysed_fps, last_frame_at=r.last_frame_at,
                    reconnects=r.reconnects, lag_s=r.lag_s, faces_detected=r.faces_detected,
                    matched_passes=r.matched_passes, unmatched_passes=r.unmatched_passes, reported_at=r.updated_at,
                    detection_ms=r.detection_ms or 0.0, embedding_ms=r.embedding_ms or 0.0,
                )
                for r in rows if r.updated_at is not None
            ]
