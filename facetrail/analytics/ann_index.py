"""Approximate nearest-neighbour search over enrolment embeddings (usearch HNSW).

Exact search costs one pass over every enrolment row per probe: fine up to tens
of thousands of rows, ~30 ms per probe at a million. An HNSW graph answers in
about a millisecond and, with the search breadth below, finds the exact nearest
row for more than 99% of real face probes (measured in bench/matching.py).
The index only narrows the candidates: the matcher re-checks thresholds,
expiry and rejected examples on them exactly.
"""

from __future__ import annotations

import os

import numpy as np

# Graph degree and build/search breadth, measured on 1M real-face rows (BENCHMARKS.md,
# section matching): degree 16 left recall@1 at 0.986-0.99 whatever the search breadth
# (dense clusters of near-identical faces trap the search); 32 gives 0.998 at ~1 ms.
CONNECTIVITY = 32
EXPANSION_ADD = 64
EXPANSION_SEARCH = 512


class AnnIndex:
    """Rows of an (M, dim) matrix, searchable by Euclidean distance."""

    def __init__(self, vectors: np.ndarray, *, expansion_search: int = EXPANSION_SEARCH, threads: int = 0):
        from usearch.index import Index  # compiled extension: import only where a large list needs it

        array = np.asarray(vectors, np.float32)
        self.dim = int(array.shape[-1])
        rows = np.ascontiguousarray(array.reshape(-1, self.dim))
        self._index = Index(
            ndim=self.dim, metric="l2sq", dtype="f32",
            connectivity=CONNECTIVITY, expansion_add=EXPANSION_ADD, expansion_search=expansion_search,
        )
        self._threads = threads or os.cpu_count() or 1
        if len(rows):
            self._index.add(np.arange(len(rows), dtype=np.uint64), rows, threads=self._threads)
        self._size = len(rows)

    def __len__(self) -> int:
        return self._size

    @property
    def expansion_search(self) -> int:
        """Search breadth: wider finds the true nearest row more often, a little more slowly."""
        return int(self._index.expansion_search)

    @expansion_search.setter
    def expansion_search(self, value: int) -> None:
        self._index.expansion_search = int(value)

    def search(self, probes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(n, k) row numbers and Euclidean distances, nearest first; -1 / inf pad missing neighbours."""
        queries = np.ascontiguousarray(np.asarray(probes, np.float32).reshape(-1, self.dim))
        k = max(1, min(k, self._size)) if self._size else max(1, k)
        rows = np.full((len(queries), k), -1, np.int64)
        dists = np.full((len(queries), k), np.inf, np.float64)
        if not self._size or not len(queries):
            return rows, dists
        found = self._index.search(queries, k, threads=self._threads)
        keys = np.asarray(found.keys).reshape(len(queries), -1)
        squared = np.asarray(found.distances, np.float64).reshape(len(queries), -1)
        counts = np.asarray(getattr(found, "counts", [keys.shape[1]])).reshape(-1)
        for i in range(len(queries)):
            n = int(counts[i] if len(counts) > 1 else counts[0])
            rows[i, :n] = keys[i, :n].astype(np.int64)
            dists[i, :n] = np.sqrt(np.maximum(squared[i, :n], 0.0))
        return rows, dists
