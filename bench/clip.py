"""The benchmark camera: a 1080p25 H.264 clip of real lfw-dev faces walking past, and its watch-list.

People enter every ``EVERY_S`` seconds and take ``WALK_S`` to cross, so one or
two faces are in view at a time; face widths cycle through 60-120 px. Each
walker's clip photo is one of their lfw-dev photos; the watch-list enrols a
different photo of them. Cached under .cache/bench (rendering takes a minute).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import yaml

from bench.faces import LFW, MissingData, world_models
from bench.report import CACHE
from facetrail.demo.clips import Walk, render_clip
from facetrail.demo.sprites import FaceCheckError, cut_out

CLIP_VERSION = 1
WIDTH, HEIGHT, FPS, GOP = 1920, 1080, 25, 50
EVERY_S, WALK_S = 3.0, 6.0
FACE_PX = (60, 80, 100, 120)
T0 = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Walker:
    entry_id: str
    clip_photo: str
    enrol_photo: str
    start_s: float
    end_s: float
    face_px: int


@dataclass(frozen=True)
class BenchClip:
    path: Path
    duration_s: float
    walkers: list[Walker]


def _people(count: int) -> list[tuple[str, list[str]]]:
    from tests.analytics.lfw import identities

    if not (LFW / "labels.csv").is_file():
        raise MissingData(f"{LFW} is absent (../shared/faces/lfw-dev)")
    multi = [(name, photos) for name, photos in identities().items() if len(photos) >= 2]
    step = max(1, len(multi) // count)
    return multi[::step][:count]


def bench_clip(duration_s: float = 30.0) -> BenchClip:
    folder = CACHE / "clips"
    path = folder / f"walkers-1080p25-{int(duration_s)}s-v{CLIP_VERSION}.mp4"
    meta = path.with_suffix(".json")
    if path.is_file() and meta.is_file():
        walkers = [Walker(**w) for w in json.loads(meta.read_text())]
        return BenchClip(path, duration_s, walkers)
    folder.mkdir(parents=True, exist_ok=True)
    starts = np.arange(0.5, duration_s - WALK_S + 1e-6, EVERY_S)
    walks, walkers = [], []
    candidates = iter(_people(len(starts) * 2))
    for i, start in enumerate(starts):
        face_px = FACE_PX[i % len(FACE_PX)]
        for name, photos in candidates:  # a photo HOG cannot find a face in is skipped
            try:
                sprite = cut_out(LFW / photos[1], face_px)
            except FaceCheckError:
                continue
            entry = name.lower().replace("_", "-")[:60]
            walkers.append(Walker(entry, photos[1], photos[0], float(start), float(start + WALK_S), face_px))
            walks.append(Walk(sprite, float(start), float(start + WALK_S), left_to_right=i % 2 == 0))
            break
    render_clip(path, camera_id="bench-cam", starts_at=T0, duration_s=duration_s, walks=walks,
                width=WIDTH, height=HEIGHT, fps=FPS, gop=GOP)
    meta.write_text(json.dumps([asdict(w) for w in walkers], indent=1))
    return BenchClip(path, duration_s, walkers)


def world_analysis(fps: float, workers: int) -> dict:
    """The `analysis` block of the configs the bench writes: the defaults (YuNet and retail-0095 where the
    config's `models` finds them), faces from 40 px."""
    return {"fps": fps, "workers": workers, "detector": {"min_face_px": 40}}


def write_world(folder: Path, clip: BenchClip, cameras: dict[str, str], *, fps: float = 5.0, workers: int = 0) -> Path:
    """A facetrail config (SQLite bus and DB in `folder`) with the clip's walkers enrolled; returns the config path."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "site": "bench",
        "cameras": [{"id": cid, "name": cid, "source": src, "position": {"x": float(i * 30), "y": 0.0}}
                    for i, (cid, src) in enumerate(cameras.items())],
        "analysis": world_analysis(fps, workers),
        "models": world_models(),
        "bus": {"kind": "sqlite", "path": "bus.db"},
        "objects": {"kind": "local", "path": "evidence"},
        "database": {"url": "sqlite:///facetrail.db"},
    }
    path = folder / "facetrail.yaml"
    path.write_text(yaml.safe_dump(config))
    enrol_walkers(f"sqlite:///{folder / 'facetrail.db'}", clip, config["analysis"])
    return path


def enrol_walkers(database_url: str, clip: BenchClip, analysis: dict) -> str:
    """The clip's walkers, each from another photo of them, with the embedder the world's config resolves to;
    returns that embedder's model."""
    from facetrail.analytics.enrolment import load_image
    from facetrail.analytics.face_models import build_face_models
    from facetrail.config import AnalysisConfig, ModelsConfig
    from facetrail.storage.database import Database
    from facetrail.storage.watchlist_store import WatchlistStore
    from facetrail.watchlist import EntryRecord
    from tests.analytics.lfw import main_face_of

    models = build_face_models(AnalysisConfig.model_validate(analysis), ModelsConfig.model_validate(world_models()))
    model = models.embedder.space.model
    db = Database(database_url)
    store, now = WatchlistStore(db), datetime.now(timezone.utc)
    for walker in clip.walkers:
        image = load_image(LFW / walker.enrol_photo)
        faces = models.detector.detect(image)
        if faces:
            record = EntryRecord(walker.entry_id, walker.entry_id, "default", "benchmark", "lfw-dev", "bench", now,
                                 now + timedelta(days=30))
            store.add(record, models.embedder.embed(image, [main_face_of(image, faces)]), [None], model=model)
    db.dispose()
    return model
