"""SQLAlchemy tables. The same models serve SQLite (default) and PostgreSQL.

Nothing here can hold a face that matched nobody: every sighting and track names
a watch-list entry, and removing the entry removes them (storage.entry_locks
says how the busiest two tables keep that without a per-row foreign key).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UtcDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC, on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    pass


class WatchlistEntryRow(Base):
    __tablename__ = "watchlist_entries"

    entry_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), index=True)
    name_key: Mapped[str] = mapped_column(String(800))
    """facetrail.names.name_key of the display name: one entry per person and watch-list (the unique index below)."""
    watchlist: Mapped[str] = mapped_column(String(100), index=True, default="default")
    legal_basis: Mapped[str] = mapped_column(Text)
    image_source: Mapped[str] = mapped_column(Text)
    enrolled_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)

    embeddings: Mapped[list["EmbeddingRow"]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (Index("watchlist_entries_one_per_name", "watchlist", "name_key", unique=True),)


class EmbeddingRow(Base):
    __tablename__ = "entry_embeddings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("watchlist_entries.entry_id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="reference")  # reference | rejected
    model: Mapped[str] = mapped_column(String(64), default="dlib-resnet-v1", server_default="dlib-resnet-v1", index=True)
    """The embedding model that made the vector: templates of different models are never compared."""
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    photo_key: Mapped[str | None] = mapped_column(String(300), nullable=True)

    entry: Mapped[WatchlistEntryRow] = relationship(back_populates="embeddings")


class OperatingPointRow(Base):
    """A calibrated matching threshold for one embedding model (facetrail calibrate); the newest row per model rules.

    Rows are only ever added, so the history of operating points stays readable next to the audit log.
    """

    __tablename__ = "operating_points"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model: Mapped[str] = mapped_column(String(64), index=True)
    threshold: Mapped[float] = mapped_column(Float)
    max_distance_ratio: Mapped[float] = mapped_column(Float)
    target_fpir: Mapped[float] = mapped_column(Float)
    details: Mapped[str] = mapped_column(Text, default="{}")
    """JSON of the calibration's measured figures (per-search and per-pass FPIR, FNIR, cohort sizes)."""
    watchlist_version: Mapped[str] = mapped_column(String(64), default="")
    calibrated_by: Mapped[str] = mapped_column(String(100))
    calibrated_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class SightingRow(Base):
    __tablename__ = "sightings"

    event_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # No foreign key: its per-row check cost PostgreSQL more than the row itself (storage.entry_locks).
    entry_id: Mapped[str] = mapped_column(String(64))
    camera_id: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    score: Mapped[float] = mapped_column(Float)
    box_x: Mapped[int] = mapped_column(Integer)
    box_y: Mapped[int] = mapped_column(Integer)
    box_w: Mapped[int] = mapped_column(Integer)
    box_h: Mapped[int] = mapped_column(Integer)
    quality: Mapped[float] = mapped_column(Float)
    evidence_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    watchlist_version: Mapped[str] = mapped_column(String(64), default="")
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="candidate")  # candidate | confirmed | rejected
    stored_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("sightings_by_entry_time", "entry_id", "first_seen"),
        Index("sightings_by_camera_time", "camera_id", "first_seen"),
        Index("sightings_by_time", "first_seen"),
    )


class TrackRow(Base):
    __tablename__ = "tracks"

    track_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("watchlist_entries.entry_id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    ended_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    plausible: Mapped[bool] = mapped_column(Boolean)
    visits: Mapped[list["VisitRow"]] = relationship(
        primaryjoin="TrackRow.track_id == foreign(VisitRow.track_id)", viewonly=True, order_by="VisitRow.seq")


class VisitRow(Base):
    __tablename__ = "track_visits"

    # No foreign key, as sightings: TrackStore writes and deletes a track's visits with the track.
    track_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    exited_at: Mapped[datetime] = mapped_column(UtcDateTime)
    best_score: Mapped[float] = mapped_column(Float)
    sightings: Mapped[int] = mapped_column(Integer)
    plausible_arrival: Mapped[bool] = mapped_column(Boolean, default=True)
    speed_mps: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (Index("track_visits_by_camera_time", "camera_id", "entered_at"),)


class CameraHealthRow(Base):
    __tablename__ = "camera_health"

    camera_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    analysed_fps: Mapped[float] = mapped_column(Float, default=0.0)
    last_frame_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reconnects: Mapped[int] = mapped_column(Integer, default=0)
    lag_s: Mapped[float] = mapped_column(Float, default=0.0)
    faces_detected: Mapped[int] = mapped_column(Integer, default=0)
    unmatched_passes: Mapped[int] = mapped_column(Integer, default=0)
    matched_passes: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(32), default="unknown")
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    detection_ms: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    embedding_ms: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")


class ReprocessProgressRow(Base):
    """How far a recorded file has been reprocessed, so an interrupted run resumes."""

    __tablename__ = "reprocess_progress"

    source_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    done_until_s: Mapped[float] = mapped_column(Float, default=0.0)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuditRow(Base):
    """Append-only: database triggers refuse UPDATE and DELETE (see audit/log.py)."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class ReviewRow(Base):
    """One reviewer's decision on one sighting (human oversight, EU AI Act Art. 14).

    No foreign key to the sighting: the decision history outlives a sighting
    deleted by retention, and an erasure deletes its entry's reviews explicitly.
    """

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(32), index=True)
    entry_id: Mapped[str] = mapped_column(String(64), index=True)
    reviewer: Mapped[str] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(String(16))  # confirm | reject
    note: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class UserRow(Base):
    """A person who may use the API; only an argon2 hash of the password is kept."""

    __tablename__ = "api_users"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # operator | enroller | auditor | admin
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ApiTokenRow(Base):
    """A bearer token, stored as its SHA-256 only, so a copy of the database grants no access."""

    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("api_users.username", ondelete="CASCADE"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class LoginFailureRow(Base):
    """One failed login, counted against an account or a client address (auth/throttle.py).

    In the database, so that every API process counts the same failures; rows
    older than the throttle's window are deleted as new failures arrive.
    """

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), index=True)  # "account:<name>" | "client:<address>"
    failed_at: Mapped[float] = mapped_column(Float, index=True)  # seconds since the epoch: comparable across hosts


class LoginLockoutRow(Base):
    """An account or client address that may not try to log in before `locked_until` (seconds since the epoch)."""

    __tablename__ = "login_lockouts"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    locked_until: Mapped[float] = mapped_column(Float, index=True)


class ForwardingDeliveryRow(Base):
    """One event queued for one webhook target: the queue survives a restart, and (target, message_id) is
    unique, so an event the bus hands over twice is delivered once."""

    __tablename__ = "forwarding_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target: Mapped[str] = mapped_column(String(63))
    message_id: Mapped[str] = mapped_column(String(100))  # the webhook-id header: the receiver's idempotency key
    kind: Mapped[str] = mapped_column(String(20))  # candidate | confirmed | rejected | camera_health
    event_id: Mapped[str] = mapped_column(String(64))
    entry_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)  # null: camera health
    body: Mapped[str | None] = mapped_column(Text, nullable=True)  # dropped once delivered, dead or cancelled
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending | delivered | dead | cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)

    __table_args__ = (
        Index("forwarding_by_target_message", "target", "message_id", unique=True),
        Index("forwarding_due", "target", "state", "next_attempt_at"),
    )


class AlertOutboxRow(Base):
    """An alert owed for a new sighting: written in the sighting's own transaction, deleted once the bus has
    acknowledged the alert (trajectory/outbox.py), so a crash anywhere between the two sends it again."""

    __tablename__ = "alert_outbox"

    event_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ErasedEntryRow(Base):
    """What is left of an erased watch-list entry: a keyed hash of its id, kept while the bus may still hold its
    messages, so a replay of them is refused. The key (``SiteKeyRow``) makes the hash useless without it."""

    __tablename__ = "erased_entries"

    entry_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    forget_after: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class SiteKeyRow(Base):
    """A random secret this deployment made for itself (e.g. the key of erased entries' hashes)."""

    __tablename__ = "site_keys"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret: Mapped[bytes] = mapped_column(LargeBinary)


class ArchiveJobRow(Base):
    """An archive search: one camera's recordings, searched under an authorisation reference (facetrail.archive)."""

    __tablename__ = "archive_jobs"

    job_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(64), index=True)
    authorisation: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(200))
    watchlist_version: Mapped[str] = mapped_column(String(64))
    since: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ArchiveSegmentRow(Base):
    """A stretch of one recording that one worker at a time leases, checkpoints and completes."""

    __tablename__ = "archive_segments"
    __table_args__ = (Index("ix_archive_segments_lease", "state", "priority", "lease_until"),)

    segment_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(32), ForeignKey("archive_jobs.job_id", ondelete="CASCADE"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    recording_start: Mapped[datetime] = mapped_column(UtcDateTime)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    read_from_s: Mapped[float] = mapped_column(Float)
    read_until_s: Mapped[float] = mapped_column(Float)
    last_of_recording: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    checkpoint_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    published: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    first_leased_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
