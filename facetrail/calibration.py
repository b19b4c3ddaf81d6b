"""`facetrail calibrate`: the threshold that gives a stated false-alert rate, measured on people not on the list.

A cohort is any folder of labelled face photos (``labels.csv`` with ``file,identity``, or one
subfolder per identity). Its identities whose name is a display name on the watch-list are
*mated* (they measure misses); the others are *non-mated* (they measure false alerts). Two
figures are measured, with the model and watch-list in use:

* per search: each cohort photo's face searched once, as enrolment probes are;
* per pass: cohort photos walked across a picture as short passes, through the real
  analyser, decided as live passes are (analytics.passes, with the configured fusion of the
  pass's shots), under the camera condition cameras really give (facetrail.cohort_walks'
  compound condition: small, blurred, dim and compressed at once). The non-mated walks
  include, for each listed person, the cohort photo the embedder puts nearest to their
  entry (their look-alike), then others at random. Per-pass false alerts are what
  operators see, so the threshold is chosen for the target per-pass FPIR on those walks;
  the listed people's photos are walked under every condition, and the report says how
  many of their passes the threshold finds on each.

Nothing of the cohort is stored: only the operating point (threshold, ratio, the measured
rates and counts) goes into the watch-list's metadata and the audit log.
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from facetrail.analytics.detector import FaceDetector
from facetrail.analytics.embedder import FaceEmbedder
from facetrail.analytics.enrolment import EnrolmentError, load_image, main_face
from facetrail.analytics.matcher import Matcher
from facetrail.analytics.passes import Candidate, PassPolicy, Rule, Search, TracedShot, replay
from facetrail.analytics.pipeline import CameraAnalyser, TracedPass, pass_policy
from facetrail.analytics.pipeline import TracedShot as AnalysedShot
from facetrail.cohort_walks import COMPOUND, WalkCondition, walk_frames
from facetrail.config import AnalysisConfig, MatchingConfig, PassConfig

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
# Thresholds tried besides the distances seen: a pass's mean can be nearer than any of its shots.
THRESHOLD_GRID = tuple(round(0.001 * i, 3) for i in range(1, 1600))
# A cohort photo this near its own entry is that entry's enrolment photo, not a new photo of the person.
SAME_PHOTO = 1e-3
# A pass is searched with every face embedded; the live policy's choices are replayed on that trace.
_TRACE_ALL = PassPolicy(max_embeddings=1_000_000, first_shots=1_000_000, settle=False)


class CalibrationError(Exception):
    """A cohort or a request calibration cannot use; the message says why."""


@dataclass(frozen=True)
class CohortPhoto:
    path: Path
    identity: str


def _name_key(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).casefold()


def read_cohort(folder: Path) -> list[CohortPhoto]:
    """Photos and identities of a cohort folder: labels.csv (file,identity) or one subfolder per identity."""
    if not folder.is_dir():
        raise CalibrationError(f"{folder}: no such folder")
    labels = folder / "labels.csv"
    if labels.is_file():
        with labels.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        if not rows or not {"file", "identity"} <= set(rows[0]):
            raise CalibrationError(f"{labels}: needs the columns file,identity")
        # a photo labelled with several people (group photos: 'a;b') says nothing clear about one face
        photos = [CohortPhoto(folder / r["file"], r["identity"]) for r in rows if ";" not in r["identity"]]
    else:
        photos = [CohortPhoto(p, d.name) for d in sorted(folder.iterdir()) if d.is_dir()
                  for p in sorted(d.iterdir()) if p.suffix.lower() in PHOTO_SUFFIXES]
    if not photos:
        raise CalibrationError(f"{folder}: no labelled photos (labels.csv with file,identity, or <identity>/<photos>)")
    return photos


@dataclass(frozen=True)
class Searches:
    """Per cohort search: the candidates of its face, whether it is mated and, if so, the true entry."""

    candidates: list[tuple[Candidate, ...]]
    truth: list[str | None]
    """The entry the photo shows (mated), or None (non-mated)."""
    photos: list[CohortPhoto] | None = None
    """The photo of each search (in memory only, to walk the look-alikes)."""

    def non_mated(self) -> list[tuple[Candidate, ...]]:
        return [c for c, t in zip(self.candidates, self.truth) if t is None]

    def mated(self) -> list[tuple[tuple[Candidate, ...], str]]:
        return [(c, t) for c, t in zip(self.candidates, self.truth) if t is not None]


def accepted_entry(candidates: Sequence[Candidate], rule: Rule) -> str | None:
    """The entry one search matches under the rule (nearest within the threshold, clear of other identities)."""
    if not candidates:
        return None
    best = candidates[0]
    rival = next((c.distance for c in candidates[1:] if c.identity != best.identity), math.inf)
    ok = best.distance <= rule.limit(best.entry_id) and best.distance < rule.max_distance_ratio * rival
    return best.entry_id if ok else None


def search_fpir(searches: Searches, rule: Rule) -> float:
    non = searches.non_mated()
    return sum(accepted_entry(c, rule) is not None for c in non) / len(non) if non else math.nan


def search_fnir(searches: Searches, rule: Rule) -> float:
    mated = searches.mated()
    return sum(accepted_entry(c, rule) != t for c, t in mated) / len(mated) if mated else math.nan


@dataclass(frozen=True)
class Walked:
    """One cohort pass: the analysed faces of each of its tracks, and the true entry (None: non-mated)."""

    tracks: list[list[TracedShot]]
    truth: str | None
    condition: str = COMPOUND.name


def pass_outcome(walk: Walked, policy: PassPolicy, rule: Rule, min_quality: float, search: Search | None = None) -> set[str]:
    """The entries the walk's passes were decided for (a walk split into two passes may name two)."""
    out = set()
    for shots in walk.tracks:
        decided = replay(shots, policy, rule, min_quality, search).final
        if decided is not None:
            out.add(decided.entry_id)
    return out


def pass_fpir(walks: Sequence[Walked], policy: PassPolicy, rule: Rule, min_quality: float,
              search: Search | None = None) -> float:
    non = [w for w in walks if w.truth is None]
    return sum(bool(pass_outcome(w, policy, rule, min_quality, search)) for w in non) / len(non) if non else math.nan


def pass_fnir(walks: Sequence[Walked], policy: PassPolicy, rule: Rule, min_quality: float,
              search: Search | None = None) -> float:
    mated = [w for w in walks if w.truth is not None]
    return sum(pass_outcome(w, policy, rule, min_quality, search) != {w.truth} for w in mated) / len(mated) \
        if mated else math.nan


def passes_found(walks: Sequence[Walked], policy: PassPolicy, rule: Rule, min_quality: float,
                 search: Search | None = None) -> int:
    """Passes of listed people decided for their own entry."""
    return sum(pass_outcome(w, policy, rule, min_quality, search) == {w.truth} for w in walks if w.truth is not None)


def lookalikes(searches: Searches) -> list[CohortPhoto]:
    """Per listed entry, the non-mated cohort photo nearest to it (each cohort identity once), nearest first: the
    look-alikes an unlucky crowd, or an attacker, would supply."""
    if searches.photos is None:
        return []
    nearest: dict[str, tuple[float, CohortPhoto]] = {}
    for candidates, truth, photo in zip(searches.candidates, searches.truth, searches.photos):
        if truth is not None:
            continue
        for candidate in candidates:
            if candidate.entry_id not in nearest or candidate.distance < nearest[candidate.entry_id][0]:
                nearest[candidate.entry_id] = (candidate.distance, photo)
    out, used = [], set()
    for _, photo in sorted(nearest.values(), key=lambda pair: pair[0]):
        if photo.identity not in used:
            used.add(photo.identity)
            out.append(photo)
    return out


def threshold_for(fpir_at: Callable[[float], float], target: float, distances: Iterable[float]) -> float:
    """The largest threshold, among the distances seen, whose FPIR stays at or below the target (FPIR grows with
    the threshold, so a bisection over the sorted distances finds it in a few evaluations); 0 when none does."""
    values = sorted(set(d for d in distances if math.isfinite(d)))
    if not values or fpir_at(values[0]) > target:
        return 0.0
    low, high = 0, len(values)  # fpir_at(values[low]) <= target; values[high:] are all above it
    while high - low > 1:
        middle = (low + high) // 2
        if fpir_at(values[middle]) <= target:
            low = middle
        else:
            high = middle
    return values[low]


class _Trace:
    def __init__(self) -> None:
        self.tracks: dict[int, list[TracedShot]] = {}

    def shot(self, traced: AnalysedShot) -> None:
        if traced.candidates is not None:  # embeddings kept while the calibration runs, in memory only
            self.tracks.setdefault(traced.track_id, []).append(
                TracedShot(traced.frame_index, traced.quality, traced.candidates, traced.embedding))

    def closed(self, traced: TracedPass) -> None:
        pass


@dataclass(frozen=True)
class Calibrated:
    rule: Rule
    per_search_fpir: float
    per_search_fnir: float
    per_pass_fpir: float
    per_pass_fnir: float
    searches: int
    mated_searches: int
    passes: int
    mated_passes: int
    search_threshold: float
    """The threshold per-search FPIR alone would give (shown for comparison)."""
    lookalike_passes: int = 0
    """Non-mated passes walked from the listed people's look-alikes."""
    found: dict[str, tuple[int, int]] | None = None
    """Per walk condition: listed people's passes the threshold finds, of those walked."""
    condition: str = COMPOUND.name
    """The condition the non-mated passes were walked under (the threshold's)."""


class Calibration:
    """Searches and walks a cohort with the deployment's models and watch-list."""

    def __init__(self, detector: FaceDetector, embedder: FaceEmbedder, matcher: Matcher, analysis: AnalysisConfig):
        self.detector, self.embedder, self.matcher, self.analysis = detector, embedder, matcher, analysis
        self.policy = pass_policy(analysis)
        self._searched: dict[bytes, tuple[Candidate, ...]] = {}

    def search_one(self, embedding: np.ndarray) -> tuple[Candidate, ...]:
        """A pass's mean searched as the analyser searches it (remembered while the calibration runs: replays at
        many thresholds search the same means)."""
        key = np.asarray(embedding, np.float32).tobytes()
        if key not in self._searched:
            self._searched[key] = self.matcher.candidates_many(np.asarray(embedding, np.float32)[None, :])[0]
        return self._searched[key]

    def _face(self, photo: CohortPhoto):
        try:
            image = load_image(photo.path)
        except EnrolmentError:
            return None, None
        faces = self.detector.detect(image)
        if not faces:
            return image, None
        try:
            return image, main_face(image.shape, faces)
        except EnrolmentError:
            return image, max(faces, key=lambda d: d.w)  # a probe, not an enrolment: take the largest

    def search(self, photos: Sequence[CohortPhoto], truth_of: Callable[[str], str | None],
               progress: Callable[[], None] = lambda: None) -> Searches:
        candidates, truth, searched = [], [], []
        for photo in photos:
            image, face = self._face(photo)
            progress()
            if face is None:
                continue
            found, entry = self.matcher.candidates_many(self.embedder.embed(image, [face]))[0], truth_of(photo.identity)
            if entry is not None and any(c.entry_id == entry and c.distance < SAME_PHOTO for c in found):
                continue  # the enrolment photo itself: it would flatter the miss rate
            candidates.append(found)
            truth.append(entry)
            searched.append(photo)
        return Searches(candidates, truth, searched)

    def walk(self, photos: Sequence[CohortPhoto], truth_of: Callable[[str], str | None], seed: int = 7,
             progress: Callable[[], None] = lambda: None, condition: WalkCondition = COMPOUND) -> list[Walked]:
        rng = random.Random(seed)
        tracing = self.analysis.model_copy(update={
            "passes": PassConfig(max_embeddings=200, max_embeddings_per_frame=200, fuse_top=self.policy.fuse_top),
            "matching": MatchingConfig(min_quality=0.0)})
        walked = []
        for photo in photos:
            image, face = self._face(photo)
            progress()
            entry = truth_of(photo.identity)
            if face is None or (entry is not None and self._enrolled_from(image, face, entry)):
                continue
            trace = _Trace()
            analyser = CameraAnalyser("calibration", tracing, self.detector, self.embedder, self.matcher,
                                      policy=_TRACE_ALL, trace=trace)
            for frame in walk_frames(image, face, rng, condition=condition):
                analyser.process(frame)
            analyser.finish()
            walked.append(Walked(list(trace.tracks.values()), entry, condition.name))
        return walked

    def _enrolled_from(self, image: np.ndarray, face, entry: str) -> bool:
        """Whether this photo is one the entry was enrolled from (its own template, at distance ~0)."""
        found = self.matcher.candidates_many(self.embedder.embed(image, [face]))[0]
        return any(c.entry_id == entry and c.distance < SAME_PHOTO for c in found)

    def operating_point(self, searches: Searches, walks: Sequence[Walked], target_fpir: float,
                        max_distance_ratio: float, lookalike_passes: int = 0,
                        condition: str = COMPOUND.name) -> Calibrated:
        """The threshold for the target per-pass FPIR on the non-mated walks of `condition`; mated walks of every
        condition are scored at it (listed passes found), those of `condition` give the expected FNIR."""
        gate, search = self.analysis.matching.min_quality, self.search_one

        def rule(threshold: float) -> Rule:
            return Rule(threshold, max_distance_ratio)

        seen = [c.distance for shots in searches.candidates for c in shots[:1]]
        search_t = threshold_for(lambda t: search_fpir(searches, rule(t)), target_fpir, seen)
        chosen_walks = [w for w in walks if w.condition == condition]
        if not [w for w in chosen_walks if w.truth is None]:
            raise CalibrationError("no cohort pass of a person off the watch-list could be walked (no face found)")
        fused = [d for w in chosen_walks if w.truth is None for shots in w.tracks for d in _fused_bests(shots, self.policy)]
        pass_t = threshold_for(lambda t: pass_fpir(chosen_walks, self.policy, rule(t), gate, search), target_fpir,
                               fused + seen + list(THRESHOLD_GRID))
        chosen = rule(pass_t)
        found = {}
        for name in dict.fromkeys(w.condition for w in walks):
            mine = [w for w in walks if w.condition == name]
            found[name] = (passes_found(mine, self.policy, chosen, gate, search), sum(w.truth is not None for w in mine))
        return Calibrated(
            rule=chosen, per_search_fpir=search_fpir(searches, chosen), per_search_fnir=search_fnir(searches, chosen),
            per_pass_fpir=pass_fpir(chosen_walks, self.policy, chosen, gate, search),
            per_pass_fnir=pass_fnir(chosen_walks, self.policy, chosen, gate, search), searches=len(searches.non_mated()),
            mated_searches=len(searches.mated()), passes=sum(w.truth is None for w in chosen_walks),
            mated_passes=sum(w.truth is not None for w in chosen_walks), search_threshold=search_t,
            lookalike_passes=lookalike_passes, found=found, condition=condition)


def _fused_bests(shots: Sequence[TracedShot], policy: PassPolicy) -> list[float]:
    """Candidate thresholds where a non-mated pass could flip: its shots' distances and their running top-k means."""
    out = []
    per_entry: dict[str, list[float]] = {}
    for shot in shots:
        for candidate in shot.candidates:
            mine = per_entry.setdefault(candidate.entry_id, [])
            mine.append(candidate.distance)
            best = sorted(mine)[: policy.fuse_top]
            out.extend((candidate.distance, sum(best) / len(best)))
    return out


def truth_by_name(display_names: dict[str, str]) -> Callable[[str], str | None]:
    """Cohort identity -> entry id, matching display names loosely (case, underscores, spaces)."""
    keyed = {_name_key(name): entry_id for name, entry_id in display_names.items()}
    return lambda identity: keyed.get(_name_key(identity))


def sample(photos: Sequence[CohortPhoto], count: int, seed: int) -> list[CohortPhoto]:
    chosen = list(photos)
    random.Random(seed).shuffle(chosen)
    return chosen[:count]
