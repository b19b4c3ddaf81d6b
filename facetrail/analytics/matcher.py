"""Open-set 1:N matching of face embeddings against the watch-list.

Exact search with numpy over one stacked (M, 128) matrix of every enrolment
embedding; a person's distance is the smallest over its own embeddings. A probe
matches the nearest person whose distance is within that person's threshold
(the entry's own ``threshold`` or the global one), unless the probe is at least
as close to one of the person's reviewer-rejected examples: then that person is
suppressed for it. Expired entries never match.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from facetrail.watchlist import EMBEDDING_DIM, EnrolledPerson


@dataclass(frozen=True)
class Match:
    entry_id: str
    distance: float
    score: float
    """clamp(1 - distance, 0, 1): higher is closer."""


def match_score(distance: float) -> float:
    return float(min(1.0, max(0.0, 1.0 - distance)))


def _stack(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """All rows in one matrix, plus which person each row belongs to."""
    rows = [np.asarray(a, np.float64).reshape(-1, EMBEDDING_DIM) for a in arrays]
    owners = np.concatenate([np.full(len(r), i, np.int64) for i, r in enumerate(rows)]) if rows else np.zeros(0, np.int64)
    matrix = np.concatenate(rows) if rows else np.zeros((0, EMBEDDING_DIM), np.float64)
    return matrix, owners


def _per_person_min(probes: np.ndarray, matrix: np.ndarray, owners: np.ndarray, people: int) -> np.ndarray:
    """(n, people) smallest Euclidean distance from each probe to each person's rows (inf if none)."""
    out = np.full((len(probes), people), np.inf, np.float64)
    if len(matrix) == 0:
        return out
    probes, matrix = probes.astype(np.float64, copy=False), matrix.astype(np.float64, copy=False)  # exact enough to agree across batch sizes
    sq = (probes**2).sum(1)[:, None] + (matrix**2).sum(1)[None, :] - 2.0 * probes @ matrix.T
    dist = np.sqrt(np.maximum(sq, 0.0))
    for person in range(people):  # M rows per person is small; one vectorised min each
        cols = owners == person
        if cols.any():
            out[:, person] = dist[:, cols].min(axis=1)
    return out


class Matcher:
    def __init__(self, people: list[EnrolledPerson], threshold: float):
        usable = [p for p in people if len(p.embeddings)]
        self.threshold = float(threshold)
        self._ids = [p.entry_id for p in usable]
        self._expires = [p.record.expires_at for p in usable]
        self._thresholds = np.array([threshold if p.record.threshold is None else p.record.threshold for p in usable], np.float32)
        self._refs, self._ref_owner = _stack([p.embeddings for p in usable])
        self._rejected, self._rej_owner = _stack([p.rejected for p in usable])

    def __len__(self) -> int:
        return len(self._ids)

    def distances(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, people) distance of each probe to each person (min over enrolment embeddings)."""
        probes = np.asarray(embeddings, np.float32).reshape(-1, EMBEDDING_DIM)
        return _per_person_min(probes, self._refs, self._ref_owner, len(self._ids))

    def match(self, embedding: np.ndarray, now: datetime | None = None) -> Match | None:
        return self.match_many(np.asarray(embedding).reshape(1, EMBEDDING_DIM), now)[0]

    def match_many(self, embeddings: np.ndarray, now: datetime | None = None) -> list[Match | None]:
        probes = np.asarray(embeddings, np.float32).reshape(-1, EMBEDDING_DIM)
        if not self._ids:
            return [None] * len(probes)
        now = now or datetime.now(timezone.utc)
        live = np.array([expires > now for expires in self._expires])
        refs = _per_person_min(probes, self._refs, self._ref_owner, len(self._ids))
        rejected = _per_person_min(probes, self._rejected, self._rej_owner, len(self._ids))
        accepted = (refs <= self._thresholds[None, :]) & (refs < rejected) & live[None, :]
        ranked = np.where(accepted, refs, np.inf)
        best = ranked.argmin(axis=1)
        matches: list[Match | None] = []
        for row, person in enumerate(best):
            distance = float(ranked[row, person])
            matches.append(None if not np.isfinite(distance) else Match(self._ids[person], distance, match_score(distance)))
        return matches

    def knows(self, entry_id: str, now: datetime | None = None) -> bool:
        """Whether entry_id is on this watch-list and not expired."""
        now = now or datetime.now(timezone.utc)
        return any(i == entry_id and e > now for i, e in zip(self._ids, self._expires))
