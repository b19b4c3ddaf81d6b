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
from facetrail.analytics.embedder import EmbeddingSpace, Metric
from facetrail.analytics.passes import Candidate
from facetrail.config import MatchingConfig
from facetrail.watchlist import EnrolledPerson, OperatingPoint


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
# Entries a pass remembers per embedded shot: enough for the true one and its nearest rivals.
CANDIDATES_PER_PROBE = 8
# Distance-matrix cells per exact chunk (float64): bounds memory for big batches.
_CHUNK_CELLS = 8_000_000


def _stack(arrays: list[np.ndarray], dim: int) -> tuple[np.ndarray, np.ndarray]:
    """All rows in one matrix, plus which person each row belongs to (ascending, contiguous)."""
    rows = [np.asarray(a, np.float64).reshape(-1, dim) for a in arrays]
    owners = np.repeat(np.arange(len(rows), dtype=np.int64), [len(r) for r in rows]) if rows else np.zeros(0, np.int64)
    matrix = np.concatenate(rows) if rows else np.zeros((0, dim), np.float64)
    return matrix, owners


def metric_distance(euclidean: np.ndarray, metric: Metric) -> np.ndarray:
    """A space's distance from the Euclidean one: for L2-normalised vectors 1 - cos = d^2 / 2, in the same order."""
    return euclidean if metric == "euclidean" else np.square(euclidean) / 2.0


@dataclass(frozen=True)
class MatchingRule:
    """The threshold and ratio test in force, and where they come from (shown to operators)."""

    threshold: float
    max_distance_ratio: float
    source: str


def matching_rule(matching: MatchingConfig, space: EmbeddingSpace, calibrated: OperatingPoint | None) -> MatchingRule:
    """The config's values where it sets them, else the operating point calibrated for this model, else the model's defaults."""
    point = calibrated if calibrated is not None and calibrated.model == space.model else None
    threshold = matching.threshold if matching.threshold is not None else \
        point.threshold if point is not None else space.threshold
    ratio = matching.max_distance_ratio if matching.max_distance_ratio is not None else \
        point.max_distance_ratio if point is not None else space.max_distance_ratio
    source = "config" if matching.threshold is not None else \
        f"calibrated {point.calibrated_at:%Y-%m-%d} for FPIR {point.target_fpir:.2%}" if point is not None else \
        f"{space.model} default"
    return MatchingRule(float(threshold), float(ratio), source)


def _euclidean(probes: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    sq = (probes**2).sum(1)[:, None] + (matrix**2).sum(1)[None, :] - 2.0 * probes @ matrix.T
    distances: np.ndarray = np.sqrt(np.maximum(sq, 0.0))
    return distances


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
    """Matches probes of one embedding space against the templates of that space."""

    def __init__(self, people: list[EnrolledPerson], threshold: float, approximate_from_rows: int = APPROXIMATE_FROM_ROWS,
                 max_distance_ratio: float = 1.0, metric: Metric = "euclidean", dim: int | None = None):
        usable = [p for p in people if len(p.embeddings)]
        self.dim = dim or (int(np.asarray(usable[0].embeddings).shape[-1]) if usable else 0)
        self.metric: Metric = metric
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
        self._entry_thresholds = {p.entry_id: float(p.record.threshold) for p in usable if p.record.threshold is not None}
        self._refs, self._ref_owner = _stack([p.embeddings for p in usable], self.dim)
        self._rejected, self._rej_owner = _stack([p.rejected for p in usable], self.dim)
        self._index = AnnIndex(self._refs) if len(self._refs) >= approximate_from_rows else None

    @classmethod
    def for_space(cls, people: list[EnrolledPerson], space: EmbeddingSpace, rule: MatchingRule) -> "Matcher":
        """The matcher the services run: templates of one space, with the rule in force for it."""
        return cls(people, rule.threshold, max_distance_ratio=rule.max_distance_ratio, metric=space.metric, dim=space.dim)

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def approximate(self) -> bool:
        """Whether probes are narrowed by the ANN index (large lists) rather than compared with every row."""
        return self._index is not None

    def distances(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, people) exact distance of each probe to each person (min over enrolment embeddings)."""
        probes = self._probes(embeddings)
        return metric_distance(_per_person_min(probes, self._refs, self._ref_owner, len(self._ids)), self.metric)

    def _probes(self, embeddings: np.ndarray) -> np.ndarray:
        array = np.asarray(embeddings, np.float32)
        return array.reshape(-1, self.dim or array.shape[-1])

    def match(self, embedding: np.ndarray, now: datetime | None = None) -> Match | None:
        return self.match_many(self._probes(embedding), now)[0]

    def _eligible(self, probes: np.ndarray, now: datetime | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per probe: candidate people (safe indices), their distances, and which are eligible (live, not suppressed)."""
        index = self._index
        people, refs, rejected = self._candidates(index, probes) if index is not None else self._everyone(probes)
        now_s = (now or datetime.now(timezone.utc)).timestamp()
        valid = people >= 0
        safe = np.where(valid, people, 0)
        live = self._expires_s[safe] > now_s
        return safe, refs, valid & (refs < rejected) & live, people

    def candidates_many(self, embeddings: np.ndarray, now: datetime | None = None,
                        k: int = CANDIDATES_PER_PROBE) -> list[tuple[Candidate, ...]]:
        """Per probe, its k nearest eligible entries (nearest first), whatever their distance: a pass fuses them."""
        probes = self._probes(embeddings)
        if not self._ids:
            return [() for _ in probes]
        safe, refs, eligible, _ = self._eligible(probes, now)
        ranked = np.where(eligible, refs, np.inf)
        order = np.argsort(ranked, axis=1)[:, :k]
        out = []
        for row, columns in enumerate(order):
            out.append(tuple(Candidate(self._ids[safe[row, c]], int(self._identity[safe[row, c]]), float(ranked[row, c]))
                             for c in columns if np.isfinite(ranked[row, c])))
        return out

    def threshold_of(self, entry_id: str) -> float:
        """The entry's own threshold where it has one, else the matcher's."""
        return self._entry_thresholds.get(entry_id, self.threshold)

    def match_many(self, embeddings: np.ndarray, now: datetime | None = None) -> list[Match | None]:
        probes = self._probes(embeddings)
        if not self._ids:
            return [None] * len(probes)
        safe, refs, eligible, people = self._eligible(probes, now)
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
        people = np.broadcast_to(np.arange(len(self._ids)), refs.shape)
        return people, metric_distance(refs, self.metric), metric_distance(rejected, self.metric)

    def _candidates(self, index: AnnIndex, probes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Approximate: the people owning each probe's nearest rows, with their exact distances."""
        rows, dists = index.search(probes, CANDIDATE_ROWS)
        owners = np.where(rows >= 0, self._ref_owner[np.maximum(rows, 0)], -1)
        # Rows come nearest first, so a person's first appearance is its smallest distance.
        people = np.full(rows.shape, -1, np.int64)
        refs = np.full(rows.shape, np.inf, np.float64)
        for i in range(len(rows)):
            seen, at = np.unique(owners[i], return_index=True)
            keep = seen >= 0
            people[i, : keep.sum()], refs[i, : keep.sum()] = seen[keep], dists[i, at[keep]]
        return people, metric_distance(refs, self.metric), metric_distance(self._rejected_distances(probes, people), self.metric)

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
