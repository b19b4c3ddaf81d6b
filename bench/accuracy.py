"""Open-set identification accuracy on lfw-dev, on photos and on faces passing a camera.

Photos: K identities are enrolled (one photo, or two where they have three or
more), their other photos (up to 10) are mated probes; unenrolled identities'
photos are non-mated probes. lfw-dev has 1,090 identities (all with >= 2
photos), so at K=1000 only 90 stay unenrolled: their photos are joined by each
mated probe searched once more with its own identity left out of the list
(a non-mated search against 999 entries). The threshold for a target FPIR is
the distance that lets through that share of non-mated searches; FNIR counts
mated probes not matched to their own entry at it.

Rules, on the same searches: the plain one (nearest distance d1 <= threshold) and the
matcher's ratio test (also d1 < r x d2, d2 = the nearest other identity; r = 0.9,
the default, and 0.8, best at FPIR 0.3% in tests/analytics/lfw_open_set_study.py,
which tunes on half the identities and measures on the other half).

Video: the same photos cut out and walked across a 1920x1080 picture at face
widths 40, 60 and 100 px, 5 analysed frames per second through CameraAnalyser
(YuNet at its default width: 960 for 1080p, score 0.6; quality gating, up to 3 shots per pass, vote
along the track); one pass = one probe. Identities with three photos or more
are walked, enrolled from one photo (plain rule) and from two (ratio test).

Baseline: face_recognition's defaults (HOG detection with one upsample, 5-point
alignment, one jitter) and compare_faces at tolerance 0.6, one enrolment photo.
facetrail is compared with it as the issue asks it be used too: two enrolment
photos and the ratio test the held-out study picked, on the same probes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial

import numpy as np

from bench.faces import LFW, YUNET, MissingData, detector_config
from bench.report import Figure, Section

SEED = 20240501
MAX_PROBES = 10
FPIRS = (0.003, 0.01)
TARGET_FNIR = 0.05
BASELINE_TOLERANCE = 0.6
RATIOS = (0.9, 0.8)
# The ratio the held-out study (tests/analytics/lfw_open_set_study.py, docs/threshold.md) picks at FPIR 0.3%:
# tuned on half the identities, it landed at 0.78-0.86 in every fold.
HELD_OUT_RATIO = 0.8
FACE_WIDTHS = (40, 60, 100)
WALK_S = 6.0
VIDEO_FPS = 5.0


@dataclass
class Searches:
    """Best distance and rank-1 correctness of mated searches; best distance of non-mated ones;
    for both, the distance to the nearest other identity (the ratio test's d2)."""

    mated_best: np.ndarray
    mated_correct: np.ndarray
    non_mated_best: np.ndarray
    mated_runner_up: np.ndarray
    non_mated_runner_up: np.ndarray

    def _non_mated_passing(self, ratio: float) -> np.ndarray:
        return _passes_ratio(self.non_mated_best, self.non_mated_runner_up, ratio)

    def threshold_at(self, fpir: float, ratio: float = 1.0) -> float:
        """Largest distance threshold whose FPIR (with the ratio test at `ratio`) is at most `fpir`."""
        kept = self.non_mated_best[self._non_mated_passing(ratio) & np.isfinite(self.non_mated_best)]
        ordered = np.sort(kept)
        allowed = int(np.floor(fpir * len(self.non_mated_best)))
        if allowed >= len(ordered):
            return float("inf")
        return float(np.nextafter(ordered[allowed], -np.inf))

    def fnir(self, threshold: float, ratio: float = 1.0) -> float:
        passing = _passes_ratio(self.mated_best, self.mated_runner_up, ratio)
        return float(1 - np.mean(self.mated_correct & (self.mated_best <= threshold) & passing))

    def fpir(self, threshold: float, ratio: float = 1.0) -> float:
        return float(np.mean((self.non_mated_best <= threshold) & self._non_mated_passing(ratio)))


def _passes_ratio(best: np.ndarray, runner_up: np.ndarray, ratio: float) -> np.ndarray:
    """The matcher's ratio test (facetrail.analytics.matcher); ratio 1 turns it off."""
    return np.ones(len(best), bool) if ratio >= 1.0 else best < ratio * runner_up


def _best_two(distances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per search (row): the smallest distance and the next one (another identity: one column per identity)."""
    if distances.shape[1] < 2:
        return distances.min(axis=1), np.full(len(distances), np.inf)
    two = np.partition(distances, 1, axis=1)
    return two[:, 0], two[:, 1]


def _gallery_search(gallery: np.ndarray, owners: np.ndarray, people: int, probes: np.ndarray) -> np.ndarray:
    """(n, people) per-person smallest distance."""
    from facetrail.analytics.matcher import _per_person_min

    return _per_person_min(probes.astype(np.float64), gallery.astype(np.float64), owners, people)


def open_set(vec, people: dict[str, list[str]], enrolled: list[str], unenrolled: list[str], enrol_photos: int,
             leave_one_out: bool) -> Searches:
    """Searches of one split; `vec(photo)` is an embedding or None (no face found)."""
    rows, owners, kept = [], [], []
    for name in enrolled:
        vectors = [v for p in people[name][:enrol_photos] if (v := vec(p)) is not None]
        if vectors:
            rows += vectors
            owners += [len(kept)] * len(vectors)
            kept.append(name)
    gallery, owner = np.array(rows), np.array(owners)
    mated = [(i, p) for i, name in enumerate(kept) for p in people[name][enrol_photos : enrol_photos + MAX_PROBES]]
    non_mated = [p for name in unenrolled for p in people[name][:MAX_PROBES]]

    def distances(photos: list[str]) -> np.ndarray:
        found = [(j, v) for j, p in enumerate(photos) if (v := vec(p)) is not None]
        out = np.full((len(photos), len(kept)), np.inf)
        if found:
            out[[j for j, _ in found]] = _gallery_search(gallery, owner, len(kept), np.array([v for _, v in found]))
        return out

    md = distances([p for _, p in mated])
    truth = np.array([i for i, _ in mated])
    best, runner_up = _best_two(md)
    correct = md.argmin(axis=1) == truth
    nm, nm_runner_up = _best_two(distances(non_mated) if non_mated else np.zeros((0, len(kept))))
    if leave_one_out:
        others = md.copy()
        others[np.arange(len(truth)), truth] = np.inf
        loo, loo_runner_up = _best_two(others)
        nm, nm_runner_up = np.concatenate([nm, loo]), np.concatenate([nm_runner_up, loo_runner_up])
    return Searches(best, correct, nm, runner_up, nm_runner_up)


def _ratio_figures(section: Section, what: str, searches: Searches, fpir: float, plain_fnir: float) -> None:
    """FNIR of the ratio test at `fpir`, beside the plain rule's on the same searches."""
    for ratio in RATIOS:
        t = searches.threshold_at(fpir, ratio)
        # threshold inf: the ratio test alone lets through less than `fpir`; the label says how much
        section.add(Figure(f"{what}: FNIR at FPIR {fpir:.1%}, ratio test d1 < {ratio} x d2 (threshold {t:.3f}, "
                           f"FPIR {searches.fpir(t, ratio):.2%})", searches.fnir(t, ratio), "", baseline=plain_fnir, baseline_label="nearest distance only, same searches",
                           higher_is_better=False))


def _ratio_at_baseline(section: Section, what: str, searches: Searches, b_fpir: float, b_fnir: float) -> None:
    """The default ratio test at the face_recognition baseline's FPIR (or below it, when the test alone lets fewer through)."""
    from facetrail.config import MatchingConfig

    ratio = MatchingConfig().max_distance_ratio
    t = searches.threshold_at(b_fpir, ratio)
    fnir, fpir = searches.fnir(t, ratio), searches.fpir(t, ratio)
    section.add(Figure(f"{what}: FNIR at the baseline's FPIR, ratio test d1 < {ratio} x d2 (threshold {t:.3f}, FPIR {fpir:.1%})",
                       fnir, "", baseline=b_fnir, baseline_label=f"face_recognition compare_faces tol {BASELINE_TOLERANCE}, FPIR {b_fpir:.1%}",
                       higher_is_better=False, target="<= half the baseline's FNIR", met=fnir <= b_fnir / 2))


def _at_baseline_fpir(section: Section, what: str, searches: Searches, b_fpir: float, b_fnir: float, b_label: str) -> None:
    """FNIR of the plain rule at the face_recognition baseline's own FPIR (compare_faces, tolerance 0.6)."""
    t = searches.threshold_at(b_fpir)
    mine = searches.fnir(t)
    section.add(Figure(f"{what}: FNIR at the baseline's FPIR {b_fpir:.1%} (threshold {t:.3f})", mine, "",
                       baseline=b_fnir, baseline_label=b_label, higher_is_better=False,
                       target="<= half the baseline's FNIR", met=mine <= b_fnir / 2))


def _against_baseline(section: Section, what: str, two: Searches, baseline: Searches) -> None:
    """facetrail as the issue asks it be used (two enrolment photos, the held-out ratio test) against
    face_recognition with one enrolment photo, on the same probes: at the baseline's own operating point
    (compare_faces, tolerance 0.6) and with its tolerance moved to each target FPIR."""
    label = f"{what}, two enrolment photos, ratio test d1 < {HELD_OUT_RATIO} x d2"
    b_fpir, b_fnir = baseline.fpir(BASELINE_TOLERANCE), baseline.fnir(BASELINE_TOLERANCE)
    # the plain rule: the ratio test alone lets through less than the baseline's FPIR
    _at_baseline_fpir(section, f"{what}, two enrolment photos", two, b_fpir, b_fnir,
                      f"face_recognition compare_faces tol {BASELINE_TOLERANCE}, one enrolment photo, same probes")
    for fpir in FPIRS:
        t, tb = two.threshold_at(fpir, HELD_OUT_RATIO), baseline.threshold_at(fpir)
        mine, theirs = two.fnir(t, HELD_OUT_RATIO), baseline.fnir(tb)
        section.add(Figure(f"{label}: FNIR at FPIR {fpir:.1%} (threshold {t:.3f}, FPIR {two.fpir(t, HELD_OUT_RATIO):.2%})",
                           mine, "", baseline=theirs,
                           baseline_label=f"face_recognition distance, one enrolment photo, tolerance {tb:.3f} for FPIR "
                                          f"{baseline.fpir(tb):.2%}, same probes",
                           higher_is_better=False, target="<= half the baseline's FNIR", met=mine <= theirs / 2))


def _default_point(section: Section, what: str, searches: Searches) -> None:
    """FNIR and FPIR at the default threshold, with and without the default ratio test."""
    from facetrail.config import MatchingConfig

    default = MatchingConfig()
    threshold, ratio = default.threshold, default.max_distance_ratio
    for label, r in (("nearest distance only", 1.0), (f"with the ratio test d1 < {ratio} x d2 (default)", ratio)):
        fpir = searches.fpir(threshold, r)
        section.add(Figure(f"{what}: FNIR at the default threshold {threshold}, {label} (FPIR {fpir:.2%})",
                           searches.fnir(threshold, r), "", higher_is_better=False))


def _caches():
    from facetrail.analytics.detector import HogDetector, create_detector
    from facetrail.analytics.embedder import FaceEmbedder
    from tests.analytics.lfw import EmbeddingCache

    embedder = FaceEmbedder()
    ours = EmbeddingCache(create_detector(detector_config()), embedder)
    # face_recognition's defaults: HOG on the whole photo (250 px: never downscaled), one upsample, 5-point landmarks
    baseline = EmbeddingCache(HogDetector(detect_width=640, min_face_px=16, upsample=1), embedder)
    return ours, baseline


def _check_baseline_matches_face_recognition(cache, photos: list[str]) -> float:
    """Largest difference between the cached baseline embeddings and face_recognition.face_encodings itself."""
    import face_recognition

    worst = 0.0
    for photo in photos:
        image = face_recognition.load_image_file(str(LFW / photo))
        locations = face_recognition.face_locations(image)
        ours = cache.embedding(photo)
        if not locations or ours is None:
            continue
        theirs = face_recognition.face_encodings(image, locations)
        worst = max(worst, min(float(np.linalg.norm(t - ours)) for t in theirs))
    return worst


def run(section: Section, quick: bool) -> None:
    from tests.analytics.lfw import identities

    if not (LFW / "labels.csv").is_file():
        raise MissingData(f"{LFW} is absent (../shared/faces/lfw-dev)")
    people = identities()
    names = sorted(people)
    random.Random(SEED).shuffle(names)
    ours, base = _caches()
    sizes = (100,) if quick else (100, 1000)
    if quick:
        names = names[:300]
    results: dict[int, Searches] = {}
    rich = [n for n in names if len(people[n]) >= 3][:100]
    others = [n for n in names if n not in set(rich)]
    for k in sizes:
        enrolled, unenrolled = names[:k], names[k:]
        loo = len(unenrolled) < k
        ours_s = open_set(ours.embedding, people, enrolled, unenrolled, 1, loo)
        base_s = open_set(base.embedding, people, enrolled, unenrolled, 1, loo)
        ours.save(), base.save()
        results[k] = ours_s
        b_fnir, b_fpir = base_s.fnir(BASELINE_TOLERANCE), base_s.fpir(BASELINE_TOLERANCE)
        counts = f"{len(ours_s.mated_best)} mated / {len(ours_s.non_mated_best)} non-mated searches"
        for fpir in FPIRS:
            t = ours_s.threshold_at(fpir)
            plain = section.add(Figure(f"photos K={k}: FNIR at FPIR {fpir:.1%} (threshold {t:.3f}; {counts})", ours_s.fnir(t), "",
                                       higher_is_better=False, target=f"FNIR <= {TARGET_FNIR:.0%} (target is for video, faces >= 60 px)"))
            _ratio_figures(section, f"photos K={k}", ours_s, fpir, plain.value)
        _default_point(section, f"photos K={k}", ours_s)
        _at_baseline_fpir(section, f"photos K={k}", ours_s, b_fpir, b_fnir,
                          f"face_recognition compare_faces tol {BASELINE_TOLERANCE}, FPIR {b_fpir:.1%}")
        _ratio_at_baseline(section, f"photos K={k}", ours_s, b_fpir, b_fnir)
        if k == 100:
            two = open_set(ours.embedding, people, rich, others, 2, False)
            # same mated probes: photos from the third on, for both
            second_left_out = {n: people[n][:1] + people[n][2:] if n in rich else people[n] for n in people}
            one = open_set(ours.embedding, second_left_out, rich, others, 1, False)
            for fpir in FPIRS:
                t1, t2 = one.threshold_at(fpir), two.threshold_at(fpir)
                section.add(Figure(f"photos K={k} (identities with >= 3 photos): FNIR at FPIR {fpir:.1%}, two enrolment photos",
                                   two.fnir(t2), "", baseline=one.fnir(t1), baseline_label="one enrolment photo, same probes",
                                   higher_is_better=False))
                _ratio_figures(section, f"photos K={k} (identities with >= 3 photos), two enrolment photos", two, fpir,
                               two.fnir(t2))
            _against_baseline(section, f"photos K={k} (identities with >= 3 photos)", two,
                              open_set(base.embedding, second_left_out, rich, others, 1, False))
    ours.save(), base.save()
    drift = _check_baseline_matches_face_recognition(base, [people[n][0] for n in names[:5]])
    section.note(f"Baseline embeddings are computed by facetrail's HogDetector + FaceEmbedder with face_recognition's defaults; "
                 f"on 5 photos they differ from face_recognition.face_encodings by at most {drift:.4f} (distance units).")
    section.note("Ratio-test figures: d2 is the distance to the nearest other enrolled identity; their thresholds are picked on the "
                 "same non-mated searches as the plain rule's, like every threshold here. Held-out figures (thresholds tuned on half "
                 "the identities, measured on the other half) and other rules tried (Z-/T-/S-norm, margin): docs/threshold.md.")
    _video(section, quick, people, rich, others, ours, (
        VideoSetup("one enrolment photo, nearest distance only", 1, one.threshold_at(FPIRS[0]), 1.0),
        VideoSetup(f"two enrolment photos, ratio test d1 < {HELD_OUT_RATIO} x d2", 2,
                   two.threshold_at(FPIRS[0], HELD_OUT_RATIO), HELD_OUT_RATIO)))
    t = results[max(results)].threshold_at(FPIRS[0])
    section.note(f"What limits it: dlib's ResNet (face_recognition's model) separates lfw-dev identities only so far: at FPIR "
                 f"{FPIRS[0]:.1%} the threshold falls to {t:.3f}, and genuine pairs differing in pose, age or lighting are often "
                 "farther apart than that. Several enrolment photos, the ratio test and voting along a track help (figures above), but FNIR 5% at "
                 "FPIR 0.3% needs a stronger embedding model (ArcFace-class), not a pipeline change.")


@dataclass(frozen=True)
class VideoSetup:
    """How the walked-past identities are enrolled and matched."""

    label: str
    enrol_photos: int
    threshold: float
    ratio: float


def _video(section: Section, quick: bool, people, enrolled: list[str], unenrolled: list[str], cache,
           setups: tuple[VideoSetup, ...]) -> None:
    """Per-pass FNIR/FPIR of faces walked past a 1080p camera, enrolled and matched as each setup says.

    Every setup walks the same probes: photos from each identity's third on (the first two may be enrolled)."""
    from facetrail.analytics.detector import create_detector
    from facetrail.analytics.embedder import FaceEmbedder
    from facetrail.analytics.matcher import Matcher
    from facetrail.analytics.pipeline import CameraAnalyser
    from facetrail.config import AnalysisConfig, MatchingConfig
    from facetrail.demo.clips import scene

    if not YUNET.is_file():
        section.note("Video part uses dlib HOG: ../shared/models has no YuNet model.")
    passes = 4 if quick else 40
    rng = random.Random(SEED)
    mated = rng.sample([(n, p) for n in enrolled for p in people[n][2 : 2 + MAX_PROBES]], passes)
    non_mated = rng.sample([(n, p) for n in unenrolled for p in people[n][:MAX_PROBES]], passes)
    background = scene("bench-accuracy", 1920, 1080)
    detector, embedder = create_detector(detector_config()), FaceEmbedder()
    for setup in setups:
        matching = MatchingConfig(threshold=setup.threshold, max_distance_ratio=setup.ratio)
        analysis = AnalysisConfig(fps=VIDEO_FPS, detector=detector_config(), matching=matching)
        matcher = Matcher.configured(_gallery(people, enrolled, setup.enrol_photos, cache), matching)
        fresh_analyser = partial(CameraAnalyser, "bench-acc", analysis, detector, embedder, matcher)
        for width in FACE_WIDTHS:
            hits = np.mean([_walked(LFW / photo, width, background, fresh_analyser()) == name for name, photo in mated])
            false = np.mean([_walked(LFW / photo, width, background, fresh_analyser()) is not None for _, photo in non_mated])
            at_target = width >= 60
            section.add(Figure(f"video {width} px faces, K={len(enrolled)}, {setup.label}, threshold {setup.threshold:.3f} "
                               f"(photo FPIR {FPIRS[0]:.1%}): per-pass FNIR ({passes} mated passes; per-pass FPIR {false:.1%} "
                               f"of {passes})", float(1 - hits), "", higher_is_better=False,
                               target=f"FNIR <= {TARGET_FNIR:.0%} at FPIR <= 0.3%" if at_target else "",
                               met=(1 - hits <= TARGET_FNIR and false <= 0.003) if at_target else None))
    section.note("Video passes walk identities with >= 3 photos (their third photo on), enrolled and matched as each figure says, "
                 "at the threshold the photo study of the same identities gives for FPIR 0.3% under that rule. "
                 "Video frames are composited in memory (no H.264 coding); a pass counts for the identity its final publication names. "
                 "With so few non-mated passes, per-pass FPIR only shows gross changes; the thresholds come from the photo study.")


def _gallery(people, enrolled: list[str], photos: int, cache) -> list:
    from facetrail.watchlist import EnrolledPerson, EntryRecord

    now = datetime.now(timezone.utc)
    gallery = []
    for name in enrolled:
        vectors = [v for p in people[name][:photos] if (v := cache.embedding(p)) is not None]
        if vectors:
            record = EntryRecord(name, name, "default", "benchmark", "lfw-dev", "bench", now, now + timedelta(days=1))
            gallery.append(EnrolledPerson(record, np.array(vectors, np.float32)))
    return gallery


def _walked(photo, width: int, background: np.ndarray, analyser) -> str | None:
    """The entry a pass of this photo's face, walked across the picture, is finally matched to (None: no one)."""
    from facetrail.demo.clips import Walk
    from facetrail.demo.sprites import FaceCheckError, composite, cut_out
    from facetrail.ingest.frames import Frame

    try:
        sprite = cut_out(photo, width)
    except FaceCheckError:
        return None
    walk, now, found = Walk(sprite, 0.0, WALK_S, left_to_right=True), datetime.now(timezone.utc), []
    for i in range(int(WALK_S * VIDEO_FPS) + 7):  # and a little more: the track must expire
        t = i / VIDEO_FPS
        image = background.copy()
        centre = walk.centre(t, 1920, 1080)
        if centre:
            composite(image, sprite, *centre)
        found += analyser.process(Frame.of_bgr("bench-acc", i, now + timedelta(seconds=t), image))
    found += analyser.finish()
    finals = [p.event.entry_id for p in found if p.event.final]
    return finals[0] if finals else None
