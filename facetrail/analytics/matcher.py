"""Open-set 1:N matching of face embeddings against the watch-list.

Exact search with numpy over one stacked (M, 128) matrix of every enrolment
embedding; a person's distance is the smallest over its own embeddings. From
``APPROXIMATE_FROM_ROWS`` rows on, an HNSW index (facetrail.analytics.ann_index)
narrows each probe to its nearest rows first, and the rules below run on those. A probe
matches the nearest person whose distance is within that person's threshold
(the entry's own ``threshold`` or the global one), unless the probe is at least
as close to one of the person's reviewer-rejected examples: then that person is
suppressed for it. Expired entries never match.

Ratio test (``max_distance_ratio`` < 1): the match must also be clearly nearer than
every other identity on the list, i.e. its distance below that share of the
nearest live, unsuppressed entry with another entry_id. A face that is no one on the
list tends to sit among several entries at similar distances; a listed person's
other photo sits near their own entry and farther from the rest. On lfw-dev this
cuts FNIR at a fixed FPIR by about 40% (docs/threshold.md). The test needs no
statistics of the list, only the candidates each search already returns (on the
approximate path: the owners of the nearest rows): ~10 us per probe, and under a
second at load for a million entries. The reported distance is still the distance to
the matched entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from facetrail.analytics.ann_index import AnnIndex
from facetrail.config import MatchingConfig
from facetrail.watchlist import EMBEDDING_DIM, EnrolledPerson


@dataclass(frozen=True)
class Match:
    entry_id: str
    distance: float
    score: float
    """clamp(1 - distance, 0, 1): higher is closer."""


def match_score(distance: float) -> float:
    return float(min(1.0, max(0.0, 1.0 - distance)))


# Exact search reads every row per probe (~30 ms at 1M rows); beyond this many the index does.
APPROXIMATE_FROM_ROWS = 50_000
# Nearest rows the index returns per probe; people with several photos take several.
CANDIDATE_ROWS = 32
# Distance-matrix cells per exact chunk (float64): bounds memory for big batches.
_CHUNK_CELLS = 8_000_000


def _stack(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """All rows in one matrix, plus which person each row belongs to (ascending, contiguous)."""
    rows = [np.asarray(a, np.float64).reshape(-1, EMBEDDING_DIM) for a in arrays]
    owners = np.repeat(np.arange(len(rows), dtype=np.int64), [len(r) for r in rows]) if rows else np.zeros(0, np.int64)
    matrix = np.concatenate(rows) if rows else np.zeros((0, EMBEDDING_DIM), np.float64)
    return matrix, owners


def _euclidean(probes: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    sq = (probes**2).sum(1)[:, None] + (matrix**2).sum(1)[None, :] - 2.0 * probes @ matrix.T
    return np.sqrt(np.maximum(sq, 0.0))


def _per_person_min(probes: np.ndarray, matrix: np.ndarray, owners: np.ndarray, people: int) -> np.ndarray:
    """(n, people) smallest Euclidean distance from each probe to each person's rows (inf if none)."""
    out = np.full((len(probes), people), np.inf, np.float64)
    if len(matrix) == 0 or len(probes) == 0:
        return out
    probes = probes.astype(np.float64, copy=False)  # exact enough to agree across batch sizes
    # Rows of one person are contiguous, so one reduceat takes every person's minimum at once.
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    segment_owner = owners[starts]
    chunk = max(1, _CHUNK_CELLS // len(matrix))
    for lo in range(0, len(probes), chunk):
        dist = _euclidean(probes[lo : lo + chunk], matrix)
        out[lo : lo + chunk, segment_owner] = np.minimum.reduceat(dist, starts, axis=1)
    return out


class Matcher:
    def __init__(self, people: list[EnrolledPerson], threshold: float, approximate_from_rows: int = APPROXIMATE_FROM_ROWS,
                 max_distance_ratio: float = 1.0):
        usable = [p for p in people if len(p.embeddings)]
        self.threshold = float(threshold)
        self.max_distance_ratio = float(max_distance_ratio)
        self._ids = [p.entry_id for p in usable]
        # one code per entry_id: an entry listed twice (two lists) is one identity, never its own rival
        self._identity = np.unique(np.array(self._ids, dtype=object), return_inverse=True)[1].astype(np.int64)
        self._expires_s = np.array([p.record.expires_at.timestamp() for p in usable], np.float64)
        self._latest_expiry: dict[str, float] = {}
        for entry_id, expires in zip(self._ids, self._expires_s):
            self._latest_expiry[entry_id] = max(expires, self._latest_expiry.get(entry_id, -np.inf))
        self._thresholds = np.array([threshold if p.record.threshold is None else p.record.threshold for p in usable], np.float32)
        self._refs, self._ref_owner = _stack([p.embeddings for p in usable])
        self._rejected, self._rej_owner = _stack([p.rejected for p in usable])
        self._index = AnnIndex(self._refs) if len(self._refs) >= approximate_from_rows else None

    @classmethod
    def configured(cls, people: list[EnrolledPerson], matching: MatchingConfig) -> "Matcher":
        """The matcher the services run: the configured threshold and ratio test."""
        return cls(people, matching.threshold, max_distance_ratio=matching.max_distance_ratio)

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def approximate(self) -> bool:
        """Whether probes are narrowed by the ANN index (large lists) rather than compared with every row."""
        return self._index is not None

    def distances(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, people) exact distance of each probe to each person (min over enrolment embeddings)."""
        probes = np.asarray(embeddings, np.float32).reshape(-1, EMBEDDING_DIM)
        return _per_person_min(probes, self._refs, self._ref_owner, len(self._ids))

    def match(self, embedding: np.ndarray, now: datetime | None = None) -> Match | None:
        return self.match_many(np.asarray(embedding).reshape(1, EMBEDDING_DIM), now)[0]

    def match_many(self, embeddings: np.ndarray, now: datetime | None = None) -> list[Match | None]:
        probes = np.asarray(embeddings, np.float32).reshape(-1, EMBEDDING_DIM)
        if not self._ids:
            return [None] * len(probes)
        people, refs, rejected = self._candidates(probes) if self._index is not None else self._everyone(probes)
        now_s = (now or datetime.now(timezone.utc)).timestamp()
        valid = people >= 0
        safe = np.where(valid, people, 0)
        live = self._expires_s[safe] > now_s
        eligible = valid & (refs < rejected) & live
        accepted = eligible & (refs <= self._thresholds[safe])
        ranked = np.where(accepted, refs, np.inf)
        best = ranked.argmin(axis=1)
        if self.max_distance_ratio < 1.0:
            ranked = self._ratio_tested(ranked, best, safe, refs, eligible)
        matches: list[Match | None] = []
        for row, column in enumerate(best):
            distance = float(ranked[row, column])
            matches.append(None if not np.isfinite(distance) else Match(self._ids[people[row, column]], distance, match_score(distance)))
        return matches

    def _ratio_tested(self, ranked: np.ndarray, best: np.ndarray, people: np.ndarray, refs: np.ndarray,
                      eligible: np.ndarray) -> np.ndarray:
        """`ranked` with each probe's best candidate dropped when another identity is nearly as near."""
        rows = np.arange(len(best))
        nearest = ranked[rows, best]
        identity = self._identity[people]
        rivals = eligible & (identity != identity[rows, best][:, None])
        runner_up = np.where(rivals, refs, np.inf).min(axis=1)
        # strictly below: when two identities were enrolled from one face (d1 = d2 = 0) neither is clear
        clear = nearest < self.max_distance_ratio * runner_up
        out = ranked.copy()
        out[rows[~clear], best[~clear]] = np.inf
        return out

    def _everyone(self, probes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Exact: every person is a candidate of every probe."""
        refs = _per_person_min(probes, self._refs, self._ref_owner, len(self._ids))
        rejected = _per_person_min(probes, self._rejected, self._rej_owner, len(self._ids))
        return np.broadcast_to(np.arange(len(self._ids)), refs.shape), refs, rejected

    def _candidates(self, probes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Approximate: the people owning each probe's nearest rows, with their exact distances."""
        rows, dists = self._index.search(probes, CANDIDATE_ROWS)
        owners = np.where(rows >= 0, self._ref_owner[np.maximum(rows, 0)], -1)
        # Rows come nearest first, so a person's first appearance is its smallest distance.
        people = np.full(rows.shape, -1, np.int64)
        refs = np.full(rows.shape, np.inf, np.float64)
        for i in range(len(rows)):
            seen, at = np.unique(owners[i], return_index=True)
            keep = seen >= 0
            people[i, : keep.sum()], refs[i, : keep.sum()] = seen[keep], dists[i, at[keep]]
        return people, refs, self._rejected_distances(probes, people)

    def _rejected_distances(self, probes: np.ndarray, people: np.ndarray) -> np.ndarray:
        out = np.full(people.shape, np.inf, np.float64)
        if not len(self._rejected):
            return out
        for i, j in zip(*np.nonzero(np.isin(people, self._rej_owner))):
            mine = self._rejected[self._rej_owner == people[i, j]]
            out[i, j] = _euclidean(probes[i : i + 1].astype(np.float64), mine).min()
        return out

    def knows(self, entry_id: str, now: datetime | None = None) -> bool:
        """Whether entry_id is on this watch-list and not expired."""
        now = now or datetime.now(timezone.utc)
        return self._latest_expiry.get(entry_id, -np.inf) > now.timestamp()
