"""Open-set identification on LFW (development split in ../shared/faces/lfw-dev).

Protocol: K identities form the watch-list, each enrolled from its first photo;
their other photos are mated probes (up to ``max_probes`` each). K other
identities are never enrolled; all their photos are non-mated probes.
FNIR: share of mated probes not matched to their own entry (missed or wrong).
FPIR: share of non-mated probes matched to any entry.

Embeddings are cached under .cache/analytics keyed by the file's SHA-256, the
detector and the embedder settings, so repeat runs take seconds.
"""

from __future__ import annotations

import csv
import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facetrail.analytics.detector import FaceDetector
from facetrail.analytics.embedder import FaceEmbedder
from facetrail.analytics.enrolment import load_image, main_face
from facetrail.analytics.matcher import Matcher

ROOT = Path(__file__).resolve().parents[2]
LFW = ROOT.parent / "shared" / "faces" / "lfw-dev"
CACHE = ROOT / ".cache" / "analytics"


@dataclass(frozen=True)
class Split:
    enrolled: dict[str, str]
    """identity -> enrolment photo (relative path)"""
    mated: list[tuple[str, str]]
    """(identity, photo) of enrolled identities"""
    non_mated: list[str]


@dataclass(frozen=True)
class Rates:
    threshold: float
    fnir: float
    fpir: float
    mated: int
    non_mated: int


def identities() -> dict[str, list[str]]:
    photos: dict[str, list[str]] = defaultdict(list)
    with open(LFW / "labels.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            photos[row["identity"]].append(row["file"])
    return {k: sorted(v) for k, v in sorted(photos.items())}


def split(k: int, seed: int = 20240501, max_probes: int = 10) -> Split:
    people = identities()
    names = sorted(people)
    random.Random(seed).shuffle(names)
    enrolled = {name: people[name][0] for name in names[:k]}
    mated = [(name, photo) for name in names[:k] for photo in people[name][1 : 1 + max_probes]]
    non_mated = [photo for name in names[k : 2 * k] for photo in people[name][:max_probes]]
    return Split(enrolled, mated, non_mated)


class EmbeddingCache:
    """Embedding of each photo's main face (None when no face is found), cached on disk."""

    def __init__(self, detector: FaceDetector, embedder: FaceEmbedder):
        self.detector, self.embedder = detector, embedder
        score = getattr(detector, "score_threshold", None)  # YuNet's; HOG has none
        space = embedder.space
        model = "" if space.model == "dlib-resnet-v1" else f"-{space.model}"  # dlib's caches keep their first names
        # j0: no jitter; LFW photos (250 px) are never downscaled, so the width rule does not matter
        self.path = CACHE / f"lfw-{detector.name}-{detector.min_face_px}{'' if score is None else f'-s{score}'}-j0{model}.npz"
        self._known: dict[str, np.ndarray] = {}
        if self.path.is_file():
            with np.load(self.path) as stored:
                keys, embeddings = stored["keys"], stored["embeddings"]  # each access would re-read the file
                self._known = dict(zip(keys.tolist(), embeddings))
        self._dirty = False

    def embedding(self, relative: str) -> np.ndarray | None:
        path = LFW / relative
        key = hashlib.sha256(path.read_bytes()).hexdigest()
        if key not in self._known:
            image = load_image(path)
            faces = self.detector.detect(image)
            vector = self.embedder.embed(image, [main_face_of(image, faces)])[0] if faces \
                else np.full(self.embedder.space.dim, np.nan, np.float32)
            self._known[key], self._dirty = vector, True
        vector = self._known[key]
        return None if np.isnan(vector).any() else vector

    def save(self) -> None:
        if self._dirty:
            CACHE.mkdir(parents=True, exist_ok=True)
            keys = sorted(self._known)
            np.savez(self.path, keys=np.array(keys), embeddings=np.stack([self._known[k] for k in keys]))
            self._dirty = False


def main_face_of(image, faces):
    """The enrolment rule's main face, without refusing photos with rivals (probes are not enrolments)."""
    from facetrail.analytics.enrolment import EnrolmentError

    try:
        return main_face(image.shape, faces)
    except EnrolmentError:
        return max(faces, key=lambda d: d.w)


@dataclass(frozen=True)
class Scored:
    """Per probe: the best distance to each enrolled identity, computed once for every threshold."""

    identities: list[str]
    mated_truth: list[int]
    mated: np.ndarray  # (n_mated, K), inf rows when no face was found
    non_mated: np.ndarray  # (n_non_mated, K)


def score(split_: Split, cache: EmbeddingCache) -> Scored:
    from datetime import datetime, timedelta, timezone

    from facetrail.watchlist import EnrolledPerson, EntryRecord

    now = datetime.now(timezone.utc)
    people, names = [], []
    for name, photo in split_.enrolled.items():
        vector = cache.embedding(photo)
        if vector is None:
            continue
        record = EntryRecord(name, name, "lfw", "study", "lfw-dev", "study", now, now + timedelta(days=1))
        people.append(EnrolledPerson(record, vector.reshape(1, -1)))
        names.append(name)
    matcher = Matcher(people, threshold=1.0, metric=cache.embedder.space.metric)

    def distances(photos: list[str]) -> np.ndarray:
        rows = []
        for photo in photos:
            vector = cache.embedding(photo)
            rows.append(np.full(len(names), np.inf) if vector is None else matcher.distances(vector)[0])
        return np.array(rows).reshape(len(photos), len(names))

    mated = [(n, p) for n, p in split_.mated if n in names]
    result = Scored(names, [names.index(n) for n, _ in mated], distances([p for _, p in mated]), distances(split_.non_mated))
    cache.save()
    return result


def rates(scored: Scored, threshold: float) -> Rates:
    mated = scored.mated
    best = mated.argmin(axis=1)
    hit = (best == np.array(scored.mated_truth)) & (mated.min(axis=1) <= threshold)
    false_positive = scored.non_mated.min(axis=1) <= threshold
    return Rates(threshold, float(1 - hit.mean()), float(false_positive.mean()), len(mated), len(scored.non_mated))
