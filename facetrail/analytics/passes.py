"""Deciding who a pass is from its analysed faces fused together, not from a few best shots.

A pass (one face moving past one camera) is embedded along its whole life, up to a
per-pass budget spread over the walk: its first shots (for a fast alert), every shot
clearly better than the best embedded so far, and otherwise every ``spacing``-th
frame. Each embedded shot is searched against the watch-list and leaves the distances
to its nearest entries (the candidates), never the embedding. The pass's fused distance
to an entry is the mean of its ``fuse_top`` smallest distances to that entry: one lucky
shot of a passer-by does not make a match, and a few good shots of a listed person do,
whatever the turned or blurred ones in between say. The decision is that fused
distance against the threshold, and the ratio test on fused distances (nearest entry
against the nearest entry of another identity).

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
from typing import Callable, Iterable, Sequence

# A later shot this much better than the best embedded one is embedded whatever the spacing:
# an approaching face improves a little every frame, the budget is for real gains.
QUALITY_GAIN = 0.05


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


@dataclass
class PassEvidence:
    """What one pass has learnt of who it is: per entry, the distances of its embedded shots."""

    embedded: int = 0
    frames: int = 0
    """Frames of the pass offered to `wants` so far."""
    last_embedded_frame: int = -1_000_000
    best_embedded_quality: float = -1.0
    _distances: dict[str, list[float]] = field(default_factory=dict)
    _identity: dict[str, int] = field(default_factory=dict)
    _strong: Decision | None = None

    def wants(self, quality: float, policy: PassPolicy, settled: bool) -> bool:
        """Whether this frame's shot should be embedded for matching; call once per frame of the pass, in order."""
        self.frames += 1
        if settled or self.embedded >= policy.max_embeddings:
            return False
        return (self.embedded < policy.first_shots or quality >= self.best_embedded_quality + QUALITY_GAIN
                or self.frames - self.last_embedded_frame >= policy.spacing)

    def add(self, candidates: Sequence[Candidate], quality: float, policy: PassPolicy, rule: Rule) -> None:
        """One embedded shot's candidates (nearest first)."""
        self.embedded += 1
        self.last_embedded_frame = self.frames
        self.best_embedded_quality = max(self.best_embedded_quality, quality)
        for candidate in candidates:
            self._distances.setdefault(candidate.entry_id, []).append(candidate.distance)
            self._identity[candidate.entry_id] = candidate.identity
        if self._strong is None:
            self._strong = _strong_shot(candidates, policy, rule)

    def fused(self, entry_id: str, policy: PassPolicy) -> float:
        distances = sorted(self._distances.get(entry_id, ()))[: policy.fuse_top]
        return sum(distances) / len(distances) if distances else float("inf")

    def decide(self, policy: PassPolicy, rule: Rule, known: Callable[[str], bool] = lambda _: True) -> Decision | None:
        """The entry the fused evidence names, if it is within the rule (entries `known` rejects are skipped)."""
        ranked = sorted((self.fused(e, policy), e) for e in self._distances if known(e))
        if not ranked:
            return None
        distance, entry_id = ranked[0]
        rival = next((d for d, e in ranked[1:] if self._identity[e] != self._identity[entry_id]), float("inf"))
        if distance > rule.limit(entry_id) or not distance < rule.max_distance_ratio * rival:
            return None
        return Decision(entry_id, distance, len(self._distances[entry_id]))

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


@dataclass(frozen=True)
class Replayed:
    alert: Decision | None
    """The first announcement and the shot number it came at (Decision.shots is then the shots embedded so far)."""
    final: Decision | None
    embedded: int


def replay(shots: Iterable[TracedShot], policy: PassPolicy, rule: Rule, min_quality: float = 0.0) -> Replayed:
    """A pass decided as the analyser decides it, from a trace in which every face was embedded."""
    evidence, alert = PassEvidence(), None
    for shot in shots:
        if shot.quality < min_quality:
            continue
        if not evidence.wants(shot.quality, policy, policy.settle and evidence.settled(policy, rule)):
            continue
        evidence.add(shot.candidates, shot.quality, policy, rule)
        if alert is None and (now := evidence.alert(policy, rule)) is not None:
            alert = Decision(now.entry_id, now.distance, evidence.embedded)
    final = evidence.decide(policy, rule)
    return Replayed(alert, final if final is not None else alert, evidence.embedded)
