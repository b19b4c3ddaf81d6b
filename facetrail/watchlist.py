"""Watch-list values shared by enrolment, matching and storage.

Every entry carries its accountability record: who enrolled it, on what legal
basis or case reference, from which image source, and when it expires.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

EMBEDDING_DIM = 128


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
    """(k, 128) float32 embeddings of the enrolment photos."""
    rejected: np.ndarray = field(default_factory=lambda: np.zeros((0, EMBEDDING_DIM), np.float32))
    """(m, 128) embeddings a reviewer marked 'not this person', suppressed next time."""

    @property
    def entry_id(self) -> str:
        return self.record.entry_id
