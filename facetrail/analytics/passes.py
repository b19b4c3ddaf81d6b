"""Deciding who a pass is from its analysed faces fused together, not from a few best shots.

A pass (one face moving past one camera) is embedded along its whole life, up to a
per-pass budget spread over the walk: its first shots (for a fast alert), every shot
clearly better than the best embedded so far, and otherwise every ``spacing``-th
frame. Each embedded shot is searched against the watch-list and leaves the distances
to its nearest entries (the candidates).

How the shots are fused (``PassPolicy.fusion``):

* ``top`` (the default): the pass's fused distance to an entry is the mean of its
  ``fuse_top`` smallest distances to that entry (also the fallback when a replayed pass
  carries no embeddings).
* ``mean``: the pass's appearance is the normalised mean of its embedded shots
  (optionally weighted by each shot's quality), searched against the watch-list like one
  face. It is not the default because the benchmark does not carry it: on the compound
  condition (BENCHMARKS.md section 7) it finds as many listed passes as ``top``, and on
  H.264 at a low bitrate and on motion blur at 60 px it finds fewer. The mean lives in
  memory for the life of the pass only, like every embedding: a pass that matches nobody
  leaves nothing behind.

Either way one lucky shot of a passer-by does not make a match, and the decision is the
fused distance against the threshold and the ratio test on fused distances (nearest
entry against the nearest entry of another identity).

An alert does not wait for the end of the pass: one clearly strong shot (distance at
least ``strong_margin`` inside the threshold, passing the ratio test alone) or a fused
decision over at least ``fuse_top`` shots announces it at once. Everything here lives
in memory for the life of the pass; a pass that matches nobody leaves only a count.

Pure: no images, no I/O. The analyser and the offline replay (benchmarks and
``facetrail calibrate``) run the very same code, so a replayed pass decides as the
live one did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Literal, Sequence

import numpy as np

# A later shot this much better than the best embedded one is embedded whatever the spacing:
# an approaching face improves a little every frame, the budget is for real gains.
QUALITY_GAIN = 0.05

Fusion = Literal["mean", "top"]


@dataclass(frozen=True)
class Candidate:
    """One entry a shot's embedding is near: its distance in the model's space."""

    entry_id: str
    identity: int
    """Entries sharing an identity (one person on two lists) are never each other's rival."""
    distance: float


@dataclass(frozen=True)
class PassPolicy:
    """How many shots of a pass are embedded, and how they are fused."""

    max_embeddings: int = 12
    """Most shots embedded for matching per pass."""
    first_shots: int = 3
    """Shots embedded at once, before spacing applies (a fast first decision)."""
    spacing: int = 2
    """Otherwise every spacing-th analysed frame of the pass (or a clearly better shot)."""
    fuse_top: int = 3
    """The fused distance to an entry is the mean of this many smallest distances to it."""
    strong_margin: float = 0.1
    """A single shot this far inside the threshold alerts at once."""
    settle: bool = True
    """Stop embedding a pass decided well inside the threshold (False: embed to the budget, for traces)."""
    fusion: Fusion = "top"
    """'top': decide on each entry's fuse_top nearest shots; 'mean': on the normalised mean of the embedded shots."""
    quality_weighted: bool = False
    """'mean' fusion: weight each shot by its quality (size, sharpness, pose) rather than equally."""


@dataclass(frozen=True)
class Rule:
    """The matching rule in force: the largest fused distance accepted and the ratio test (1: off)."""

    threshold: float
    max_distance_ratio: float = 1.0
    threshold_of: Callable[[str], float] | None = None
    """An entry's own threshold where it has one (None: `threshold` for everyone)."""

    def limit(self, entry_id: str) -> float:
        return self.threshold if self.threshold_of is None else self.threshold_of(entry_id)


@dataclass(frozen=True)
class Decision:
    entry_id: str
    distance: float
    """The fused distance (or the strong shot's) that decided."""
    shots: int
    """Embedded shots that had the entry among their candidates."""


Search = Callable[[np.ndarray], Sequence[Candidate]]
"""One embedding's nearest entries on the watch-list, nearest first (Matcher.candidates_many for one probe)."""


@dataclass
class PassEvidence:
    """What one pass has learnt of who it is: per entry, the distances of its embedded shots, and (mean fusion) the
    running sum of their embeddings with the candidates of its normalised mean."""

    embedded: int = 0
    frames: int = 0
    """Frames of the pass offered to `wants` so far."""
    last_embedded_frame: int = -1_000_000
    best_embedded_quality: float = -1.0
    _distances: dict[str, list[float]] = field(default_factory=dict)
    _identity: dict[str, int] = field(default_factory=dict)
    _strong: Decision | None = None
    _appearance: np.ndarray | None = field(default=None, repr=False)
    """Sum of the embedded shots' embeddings (weighted): memory only, for the life of the pass."""
    _averaged: int = 0
    _weights: float = 0.0
    _norms: float = 0.0
    _mean_candidates: tuple[Candidate, ...] = ()

    def wants(self, quality: float, policy: PassPolicy, settled: bool) -> bool:
        """Whether this frame's shot should be embedded for matching; call once per frame of the pass, in order."""
        self.frames += 1
        if settled or self.embedded >= policy.max_embeddings:
            return False
        return (self.embedded < policy.first_shots or quality >= self.best_embedded_quality + QUALITY_GAIN
                or self.frames - self.last_embedded_frame >= policy.spacing)

    def add(self, candidates: Sequence[Candidate], quality: float, policy: PassPolicy, rule: Rule,
            embedding: np.ndarray | None = None, search: Search | None = None) -> None:
        """One embedded shot's candidates (nearest first) and, for mean fusion, its embedding and how to search."""
        self.embedded += 1
        if policy.fusion == "mean" and embedding is not None and search is not None:
            self._average(embedding, max(quality, 1e-3) if policy.quality_weighted else 1.0, search)
        self.last_embedded_frame = self.frames
        self.best_embedded_quality = max(self.best_embedded_quality, quality)
        for candidate in candidates:
            self._distances.setdefault(candidate.entry_id, []).append(candidate.distance)
            self._identity[candidate.entry_id] = candidate.identity
        if self._strong is None:
            self._strong = _strong_shot(candidates, policy, rule)

    def _average(self, embedding: np.ndarray, weight: float, search: Search) -> None:
        vector = np.asarray(embedding, np.float64).ravel()
        self._appearance = weight * vector if self._appearance is None else self._appearance + weight * vector
        self._weights += weight
        self._norms += weight * float(np.linalg.norm(vector))
        self._averaged += 1
        self._mean_candidates = tuple(search(self.mean()))

    def mean(self) -> np.ndarray:
        """The pass's mean embedding, normalised to its shots' mean length (unit for unit embeddings, as cosine
        spaces give), as float32; only while the pass is open."""
        if self._appearance is None:
            raise ValueError("no embedding was added to this pass")
        length = self._norms / max(self._weights, 1e-12)
        return (self._appearance * (length / max(float(np.linalg.norm(self._appearance)), 1e-12))).astype(np.float32)

    def fused(self, entry_id: str, policy: PassPolicy) -> float:
        distances = sorted(self._distances.get(entry_id, ()))[: policy.fuse_top]
        return sum(distances) / len(distances) if distances else float("inf")

    def decide(self, policy: PassPolicy, rule: Rule, known: Callable[[str], bool] = lambda _: True) -> Decision | None:
        """The entry the fused evidence names, if it is within the rule (entries `known` rejects are skipped)."""
        if policy.fusion == "mean" and self._averaged:
            return self._decide_on_mean(rule, known)
        ranked = sorted((self.fused(e, policy), e) for e in self._distances if known(e))
        if not ranked:
            return None
        distance, entry_id = ranked[0]
        rival = next((d for d, e in ranked[1:] if self._identity[e] != self._identity[entry_id]), float("inf"))
        if distance > rule.limit(entry_id) or not distance < rule.max_distance_ratio * rival:
            return None
        return Decision(entry_id, distance, len(self._distances[entry_id]))

    def _decide_on_mean(self, rule: Rule, known: Callable[[str], bool]) -> Decision | None:
        """The mean embedding's nearest entry, within its threshold and clear of every other identity (ratio test)."""
        ranked = [c for c in self._mean_candidates if known(c.entry_id)]
        if not ranked:
            return None
        best = ranked[0]
        rival = next((c.distance for c in ranked[1:] if c.identity != best.identity), float("inf"))
        if best.distance > rule.limit(best.entry_id) or not best.distance < rule.max_distance_ratio * rival:
            return None
        return Decision(best.entry_id, best.distance, self._averaged)

    def alert(self, policy: PassPolicy, rule: Rule, known: Callable[[str], bool] = lambda _: True) -> Decision | None:
        """Whether the pass can be announced now: a strong shot, or a fused decision over fuse_top shots."""
        if self._strong is not None and known(self._strong.entry_id):
            return self._strong
        decision = self.decide(policy, rule, known)
        return decision if decision is not None and decision.shots >= policy.fuse_top else None

    def settled(self, policy: PassPolicy, rule: Rule) -> bool:
        """Decided well inside the threshold on fuse_top shots: more embeddings would not change the outcome."""
        decision = self.decide(policy, rule)
        return decision is not None and decision.shots >= policy.fuse_top and \
            decision.distance <= rule.limit(decision.entry_id) - policy.strong_margin


def _strong_shot(candidates: Sequence[Candidate], policy: PassPolicy, rule: Rule) -> Decision | None:
    if not candidates:
        return None
    best = candidates[0]
    rival = next((c.distance for c in candidates[1:] if c.identity != best.identity), float("inf"))
    if best.distance <= rule.limit(best.entry_id) - policy.strong_margin and best.distance < rule.max_distance_ratio * rival:
        return Decision(best.entry_id, best.distance, 1)
    return None


@dataclass(frozen=True)
class TracedShot:
    """One analysed face of a pass, embedded (benchmarks, calibration: never kept in a deployment)."""

    frame_index: int
    quality: float
    candidates: tuple[Candidate, ...]
    embedding: np.ndarray | None = field(default=None, compare=False, repr=False)
    """The shot's embedding, for mean fusion (None: the replay fuses distances)."""


@dataclass(frozen=True)
class Replayed:
    alert: Decision | None
    """The first announcement and the shot number it came at (Decision.shots is then the shots embedded so far)."""
    final: Decision | None
    embedded: int


def replay(shots: Iterable[TracedShot], policy: PassPolicy, rule: Rule, min_quality: float = 0.0,
           search: Search | None = None) -> Replayed:
    """A pass decided as the analyser decides it, from a trace in which every face was embedded (mean fusion needs
    the shots' embeddings and `search`; without them the replay fuses distances)."""
    evidence, alert = PassEvidence(), None
    for shot in shots:
        if shot.quality < min_quality:
            continue
        if not evidence.wants(shot.quality, policy, policy.settle and evidence.settled(policy, rule)):
            continue
        evidence.add(shot.candidates, shot.quality, policy, rule, shot.embedding, search)
        if alert is None and (now := evidence.alert(policy, rule)) is not None:
            alert = Decision(now.entry_id, now.distance, evidence.embedded)
    final = evidence.decide(policy, rule)
    return Replayed(alert, final if final is not None else alert, evidence.embedded)
