"""Open-set identification accuracy on lfw-dev, on photos and on faces passing a camera.

Photos: K identities are enrolled (one photo, or two where they have three or
more), their other photos (up to 10) are mated probes; unenrolled identities'
photos are non-mated probes. lfw-dev has 1,090 identities (all with >= 2
photos), so at K=1000 only 90 stay unenrolled: their photos are joined by each
mated probe searched once more with its own identity left out of the list
(a non-mated search against 999 entries). The threshold for a target FPIR is
the distance that lets through that share of non-mated searches; FNIR counts
mated probes not matched to their own entry at it.

Video: the same photos cut out and walked across a 1920x1080 picture at face
widths 40, 60 and 100 px, 5 analysed frames per second through CameraAnalyser
(YuNet at detect_width 640, quality gating, up to 3 shots per pass, vote
along the track); one pass = one probe.

Baseline: face_recognition's defaults (HOG detection with one upsample, 5-point
alignment, one jitter) and compare_faces at tolerance 0.6, one enrolment photo.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

from bench.faces import LFW, YUNET, MissingData, detector_config
from bench.report import Figure, Section

SEED = 20240501
MAX_PROBES = 10
FPIRS = (0.003, 0.01)
TARGET_FNIR = 0.05
BASELINE_TOLERANCE = 0.6
FACE_WIDTHS = (40, 60, 100)
WALK_S = 6.0


@dataclass
class Searches:
    """Best distance and rank-1 correctness of mated searches; best distance of non-mated ones."""

    mated_best: np.ndarray
    mated_correct: np.ndarray
    non_mated_best: np.ndarray

    def threshold_at(self, fpir: float) -> float:
        """Largest distance threshold whose FPIR is at most `fpir`."""
        ordered = np.sort(self.non_mated_best[np.isfinite(self.non_mated_best)])
        allowed = int(np.floor(fpir * len(self.non_mated_best)))
        if allowed >= len(ordered):
            return float("inf")
        return float(np.nextafter(ordered[allowed], -np.inf))

    def fnir(self, threshold: float) -> float:
        return float(1 - np.mean(self.mated_correct & (self.mated_best <= threshold)))

    def fpir(self, threshold: float) -> float:
        return float(np.mean(self.non_mated_best <= threshold))


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
    best = md.min(axis=1)
    correct = md.argmin(axis=1) == truth
    nm = distances(non_mated).min(axis=1) if non_mated else np.zeros(0)
    if leave_one_out:
        others = md.copy()
        others[np.arange(len(truth)), truth] = np.inf
        nm = np.concatenate([nm, others.min(axis=1)])
    return Searches(best, correct, nm)


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
            section.add(Figure(f"photos K={k}: FNIR at FPIR {fpir:.1%} (threshold {t:.3f}; {counts})", ours_s.fnir(t), "",
                               higher_is_better=False, target=f"FNIR <= {TARGET_FNIR:.0%} (target is for video, faces >= 60 px)"))
        t_same = ours_s.threshold_at(b_fpir)
        mine = ours_s.fnir(t_same)
        section.add(Figure(f"photos K={k}: FNIR at the baseline's FPIR {b_fpir:.1%} (threshold {t_same:.3f})", mine, "",
                           baseline=b_fnir, baseline_label=f"face_recognition compare_faces tol {BASELINE_TOLERANCE}, FPIR {b_fpir:.1%}",
                           higher_is_better=False, target="<= half the baseline's FNIR", met=mine <= b_fnir / 2))
        if k == 100:
            rich = [n for n in names if len(people[n]) >= 3][:k]
            others = [n for n in names if n not in set(rich)]
            two = open_set(ours.embedding, people, rich, others, 2, False)
            # same mated probes: photos from the third on, for both
            one = open_set(ours.embedding, {n: people[n][:1] + people[n][2:] if n in rich else people[n] for n in people},
                           rich, others, 1, False)
            for fpir in FPIRS:
                t1, t2 = one.threshold_at(fpir), two.threshold_at(fpir)
                section.add(Figure(f"photos K={k} (identities with >= 3 photos): FNIR at FPIR {fpir:.1%}, two enrolment photos",
                                   two.fnir(t2), "", baseline=one.fnir(t1), baseline_label="one enrolment photo, same probes",
                                   higher_is_better=False))
    ours.save(), base.save()
    drift = _check_baseline_matches_face_recognition(base, [people[n][0] for n in names[:5]])
    section.note(f"Baseline embeddings are computed by facetrail's HogDetector + FaceEmbedder with face_recognition's defaults; "
                 f"on 5 photos they differ from face_recognition.face_encodings by at most {drift:.4f} (distance units).")
    _video(section, quick, people, names, ours, results[100])
    t = results[max(results)].threshold_at(FPIRS[0])
    section.note(f"What limits it: dlib's ResNet (face_recognition's model) separates lfw-dev identities only so far: at FPIR "
                 f"{FPIRS[0]:.1%} the threshold falls to {t:.3f}, and genuine pairs differing in pose, age or lighting are often "
                 "farther apart than that. Several enrolment photos and voting along a track help (figures above), but FNIR 5% at "
                 "FPIR 0.3% needs a stronger embedding model (ArcFace-class), not a pipeline change.")


def _video(section: Section, quick: bool, people, names, cache, photo_searches: Searches) -> None:
    """Per-pass FNIR/FPIR of faces walked past a 1080p camera, at the photo study's K=100 thresholds."""
    from facetrail.analytics.detector import create_detector
    from facetrail.analytics.embedder import FaceEmbedder
    from facetrail.analytics.matcher import Matcher
    from facetrail.analytics.pipeline import CameraAnalyser
    from facetrail.config import AnalysisConfig, MatchingConfig
    from facetrail.demo.clips import Walk, scene
    from facetrail.demo.sprites import FaceCheckError, composite, cut_out
    from facetrail.ingest.frames import Frame
    from facetrail.watchlist import EnrolledPerson, EntryRecord

    if not YUNET.is_file():
        section.note("Video part uses dlib HOG: ../shared/models has no YuNet model.")
    enrolled, unenrolled = names[:100], names[100:]
    now = datetime.now(timezone.utc)
    gallery = []
    for name in enrolled:
        vector = cache.embedding(people[name][0])
        if vector is not None:
            record = EntryRecord(name, name, "default", "benchmark", "lfw-dev", "bench", now, now + timedelta(days=1))
            gallery.append(EnrolledPerson(record, vector.reshape(1, 128)))
    passes = 4 if quick else 20
    rng = random.Random(SEED)
    mated = rng.sample([(n, p) for n in enrolled for p in people[n][1 : 1 + MAX_PROBES]], passes)
    non_mated = rng.sample([(n, p) for n in unenrolled for p in people[n][:MAX_PROBES]], passes)
    background = scene("bench-accuracy", 1920, 1080)
    detector, embedder = create_detector(detector_config()), FaceEmbedder()
    fps = 5.0
    for fpir in FPIRS[:1]:  # the target's operating point; each pass costs ~2 s
        threshold = photo_searches.threshold_at(fpir)
        analysis = AnalysisConfig(fps=fps, detector=detector_config(), matching=MatchingConfig(threshold=threshold))
        matcher = Matcher(gallery, threshold)
        for width in FACE_WIDTHS:
            outcome = {"mated": [], "non": []}
            for kind, probes in (("mated", mated), ("non", non_mated)):
                for name, photo in probes:
                    try:
                        sprite = cut_out(LFW / photo, width)
                    except FaceCheckError:
                        outcome[kind].append(None)
                        continue
                    walk = Walk(sprite, 0.0, WALK_S, left_to_right=True)
                    analyser = CameraAnalyser("bench-acc", analysis, detector, embedder, matcher)
                    found = []
                    for i in range(int(WALK_S * fps) + 7):  # and a little more: the track must expire
                        t = i / fps
                        image = background.copy()
                        centre = walk.centre(t, 1920, 1080)
                        if centre:
                            composite(image, sprite, *centre)
                        found += analyser.process(Frame("bench-acc", i, now + timedelta(seconds=t), image))
                    found += analyser.finish()
                    finals = [p.event.entry_id for p in found if p.event.final]
                    outcome[kind].append(finals[0] if finals else None)
            hits = np.mean([got == name for got, (name, _) in zip(outcome["mated"], mated)])
            false = np.mean([got is not None for got in outcome["non"]])
            section.add(Figure(f"video {width} px faces, K=100, threshold {threshold:.3f} (photo FPIR {fpir:.1%}): per-pass FNIR "
                               f"({passes} mated passes; per-pass FPIR {false:.1%} of {passes})", float(1 - hits), "",
                               higher_is_better=False,
                               target=f"FNIR <= {TARGET_FNIR:.0%} at FPIR <= 0.3%" if width >= 60 and fpir == FPIRS[0] else "",
                               met=(1 - hits <= TARGET_FNIR and false <= 0.003) if width >= 60 and fpir == FPIRS[0] else None))
    section.note("Video frames are composited in memory (no H.264 coding); a pass counts for the identity its final publication names. "
                 "With so few non-mated passes, per-pass FPIR only shows gross changes; the thresholds come from the photo study.")
