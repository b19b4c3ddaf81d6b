"""Watch-list values shared by enrolment, matching and storage.

Every entry carries its accountability record: who enrolled it, on what legal
basis or case reference, from which image source, and when it expires.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np



@dataclass(frozen=True)
class EntryRecord:
    entry_id: str
    display_name: str
    watchlist: str
    legal_basis: str
    image_source: str
    enrolled_by: str
    created_at: datetime
    expires_at: datetime
    threshold: float | None = None

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires_at <= (now or datetime.now(timezone.utc))


@dataclass(frozen=True, eq=False)
class EnrolledPerson:
    """What the matcher needs of one entry: its record and its reference embeddings."""

    record: EntryRecord
    embeddings: np.ndarray
    """(k, dim) float32 templates of the enrolment photos, all of one embedding model."""
    rejected: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    """(m, dim) embeddings a reviewer marked 'not this person', suppressed next time (same model)."""

    @property
    def entry_id(self) -> str:
        return self.record.entry_id


@dataclass(frozen=True)
class OperatingPoint:
    """A threshold `facetrail calibrate` measured for one embedding model on a cohort of people not on the list."""

    model: str
    threshold: float
    max_distance_ratio: float
    target_fpir: float
    calibrated_at: datetime
    calibrated_by: str
    watchlist_version: str = ""
    per_search_fpir: float | None = None
    per_pass_fpir: float | None = None
    expected_fnir: float | None = None
    cohort_searches: int = 0
    mated_searches: int = 0
