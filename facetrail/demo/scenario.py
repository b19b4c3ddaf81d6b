"""The demo scenario: two watch-listed people and two passers-by walk past three cameras.

Everything is built from real public-domain photos that packages on PyPI ship
(see facetrail.demo.photos), so the demo needs no data of its own. The built
folder holds the watch-list photos, one H.264 clip per camera, a config for
facetrail.config.load_config and ``scenario.json`` with the ground truth: which
camera each enrolled person passes, in which order, and when each clip starts.

Build with ``python -m facetrail.demo.scenario OUT_DIR``; a second build with the
same scenario version only checks the stamp and returns.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import yaml

from facetrail.demo.clips import Walk, render_clip
from facetrail.demo.photos import PHOTOS, fetch_photo
from facetrail.demo.sprites import FaceCheckError, cut_out, embedding, load_rgb, sprite_on_plain

SCENARIO_VERSION = 1
MATCH_THRESHOLD = 0.5
"""Largest embedding distance counted as the same person (the config's matching default)."""
WIDTH, HEIGHT, FPS, GOP = 640, 360, 25, 50
CLIP_S = 20.0
WALK_S = 4.0
SITE_START = datetime(2026, 1, 1, 9, 0, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class _PersonSpec:
    display_name: str
    enrolled: bool
    enrolment_photos: tuple[str, ...]
    clip_photo: str
    face_px: int


@dataclass(frozen=True)
class _CameraSpec:
    id: str
    name: str
    x: float
    y: float
    offset_s: float
    """Clip start, seconds after SITE_START."""


@dataclass(frozen=True)
class _WalkSpec:
    camera_id: str
    person: str
    start_s: float
    """Seconds into that camera's clip."""
    left_to_right: bool


_PEOPLE = (
    _PersonSpec("Barack Obama", True, ("obama.jpg", "obama3.jpg"), "obama2.jpg", 100),
    # face_recognition's sdist ships a single photo of Biden, so his clip reuses it
    # (scaled down and video-coded); only Obama's clip face is an unseen photo.
    _PersonSpec("Joe Biden", True, ("biden.jpg",), "biden.jpg", 90),
    _PersonSpec("Grace Hopper", False, (), "grace_hopper.jpg", 95),
    _PersonSpec("Eileen Collins", False, (), "astronaut.png", 100),
)

# Lobby is 30 m east of the entrance, the lift hall 16 m north of the lobby; the
# clips overlap in time so that people walking in opposite directions can be shown.
_CAMERAS = (
    _CameraSpec("cam-a", "Main entrance", 0.0, 0.0, 0.0),
    _CameraSpec("cam-b", "Lobby", 30.0, 0.0, 14.0),
    _CameraSpec("cam-c", "Lift hall", 30.0, 16.0, 18.0),
)

# Implied walking speeds between pass centres: Obama a->b 1.6 m/s, b->c 1.6 m/s;
# Biden c->b 1.8 m/s; Eileen Collins b->c 1.6 m/s.
_WALKS = (
    _WalkSpec("cam-a", "Barack Obama", 2.0, True),
    _WalkSpec("cam-a", "Grace Hopper", 10.0, False),
    _WalkSpec("cam-b", "Eileen Collins", 1.0, False),
    _WalkSpec("cam-b", "Barack Obama", 7.0, True),
    _WalkSpec("cam-b", "Joe Biden", 14.0, False),
    _WalkSpec("cam-c", "Joe Biden", 1.0, True),
    _WalkSpec("cam-c", "Eileen Collins", 7.0, False),
    _WalkSpec("cam-c", "Barack Obama", 13.0, True),
)


class ScenarioError(Exception):
    """The scenario cannot be built; the message says why."""


@dataclass(frozen=True)
class ScenarioCamera:
    id: str
    name: str
    x: float
    y: float
    """Position on the site plan, metres."""
    clip: Path
    starts_at: datetime
    """Wall-clock time of the clip's first frame (also in the MP4's creation_time)."""
    duration_s: float


@dataclass(frozen=True)
class ScenarioPerson:
    display_name: str
    enrolled: bool
    enrolment_photos: tuple[Path, ...]
    """Photos under watchlist/<display name>/ (empty for passers-by)."""
    clip_photo: str
    """Packaged photo the clip cut-out comes from."""

    @property
    def clip_photo_is_unseen(self) -> bool:
        """True when the clip face comes from a photo not used for enrolment."""
        return self.clip_photo not in {p.name for p in self.enrolment_photos}


@dataclass(frozen=True)
class ScenarioPass:
    """One person crossing one camera's view (ground truth)."""

    person: str
    enrolled: bool
    camera_id: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class FaceCheck:
    """The nearest enrolled person to one clip face, measured when the scenario was built."""

    person: str
    nearest_enrolled: str
    distance: float


@dataclass(frozen=True)
class Scenario:
    root: Path
    config_path: Path
    watchlist_dir: Path
    cameras: tuple[ScenarioCamera, ...]
    people: tuple[ScenarioPerson, ...]
    passes: tuple[ScenarioPass, ...]
    face_checks: tuple[FaceCheck, ...] = field(default=())
    width: int = WIDTH
    height: int = HEIGHT
    fps: int = FPS

    @property
    def enrolled(self) -> tuple[ScenarioPerson, ...]:
        return tuple(p for p in self.people if p.enrolled)

    @property
    def passers_by(self) -> tuple[ScenarioPerson, ...]:
        return tuple(p for p in self.people if not p.enrolled)

    def camera(self, camera_id: str) -> ScenarioCamera:
        for camera in self.cameras:
            if camera.id == camera_id:
                return camera
        raise ScenarioError(f"no camera {camera_id!r} in the scenario")

    def expected_route(self, display_name: str) -> tuple[str, ...]:
        """Camera ids the person passes, in wall-clock order."""
        mine = sorted((p for p in self.passes if p.person == display_name), key=lambda p: p.starts_at)
        return tuple(p.camera_id for p in mine)

    @property
    def expected_routes(self) -> dict[str, tuple[str, ...]]:
        """Each enrolled display name to the exact camera order of their track."""
        return {p.display_name: self.expected_route(p.display_name) for p in self.enrolled}

    @property
    def clip_starts(self) -> dict[str, datetime]:
        return {c.id: c.starts_at for c in self.cameras}


def _stamp() -> str:
    """Changes whenever anything that shapes the built files changes, this code included."""
    code = b"".join((Path(__file__).parent / name).read_bytes() for name in ("scenario.py", "clips.py", "sprites.py"))
    spec = repr((hashlib.sha256(code).hexdigest(), SCENARIO_VERSION, WIDTH, HEIGHT, FPS, GOP, CLIP_S, WALK_S, SITE_START, _PEOPLE, _CAMERAS, _WALKS,
                 sorted((p.name, p.sha256) for p in PHOTOS.values())))
    return hashlib.sha256(spec.encode()).hexdigest()[:16]


def _describe(out_dir: Path, face_checks: tuple[FaceCheck, ...] = ()) -> Scenario:
    """The scenario's values for `out_dir`, straight from the spec (no files touched)."""
    watchlist = out_dir / "watchlist"
    cameras = tuple(
        ScenarioCamera(c.id, c.name, c.x, c.y, out_dir / "clips" / f"{c.id}.mp4",
                       SITE_START + timedelta(seconds=c.offset_s), CLIP_S)
        for c in _CAMERAS
    )
    people = tuple(
        ScenarioPerson(p.display_name, p.enrolled, tuple(watchlist / p.display_name / n for n in p.enrolment_photos),
                       p.clip_photo)
        for p in _PEOPLE
    )
    enrolled = {p.display_name for p in _PEOPLE if p.enrolled}
    starts = {c.id: c.starts_at for c in cameras}
    passes = tuple(
        sorted(
            (ScenarioPass(w.person, w.person in enrolled, w.camera_id, starts[w.camera_id] + timedelta(seconds=w.start_s),
                          starts[w.camera_id] + timedelta(seconds=w.start_s + WALK_S)) for w in _WALKS),
            key=lambda p: (p.starts_at, p.camera_id),
        )
    )
    return Scenario(out_dir, out_dir / "demo.yaml", watchlist, cameras, people, passes, face_checks)


def _check_identities(cache_dir: Path | None) -> tuple[FaceCheck, ...]:
    """Embed each clip cut-out as the clip shows it and prove who it is, or raise."""
    references: dict[str, list[np.ndarray]] = {}
    for person in (p for p in _PEOPLE if p.enrolled):
        for name in person.enrolment_photos:
            vector = embedding(load_rgb(fetch_photo(name, cache_dir)))
            if vector is None:
                raise FaceCheckError(f"no face in enrolment photo {name}")
            references.setdefault(person.display_name, []).append(vector)
    checks = []
    for person in _PEOPLE:
        canvas = sprite_on_plain(cut_out(fetch_photo(person.clip_photo, cache_dir), person.face_px))
        vector = embedding(canvas, upsample=1)
        if vector is None:
            raise FaceCheckError(f"no face in the clip cut-out of {person.clip_photo} at {person.face_px} px")
        nearest, distance = min(
            ((name, float(min(np.linalg.norm(r - vector) for r in refs))) for name, refs in references.items()),
            key=lambda item: item[1],
        )
        matched = distance < MATCH_THRESHOLD
        if person.enrolled and not (matched and nearest == person.display_name):
            raise FaceCheckError(f"{person.display_name}'s clip face is nearest {nearest} at {distance:.2f}")
        if not person.enrolled and matched:
            raise FaceCheckError(f"passer-by {person.display_name} matches {nearest} at {distance:.2f}")
        checks.append(FaceCheck(person.display_name, nearest, round(distance, 4)))
    return tuple(checks)


def _write_watchlist(scenario: Scenario, cache_dir: Path | None) -> None:
    for person in scenario.enrolled:
        for target in person.enrolment_photos:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(fetch_photo(target.name, cache_dir), target)


def _write_clips(scenario: Scenario, cache_dir: Path | None) -> None:
    sprites = {p.display_name: cut_out(fetch_photo(p.clip_photo, cache_dir), p.face_px) for p in _PEOPLE}
    for camera in scenario.cameras:
        walks = [Walk(sprites[w.person], w.start_s, w.start_s + WALK_S, w.left_to_right)
                 for w in _WALKS if w.camera_id == camera.id]
        camera.clip.parent.mkdir(parents=True, exist_ok=True)
        render_clip(camera.clip, camera_id=camera.id, starts_at=camera.starts_at, duration_s=camera.duration_s,
                    walks=walks, width=WIDTH, height=HEIGHT, fps=FPS, gop=GOP)


def _write_config(scenario: Scenario) -> None:
    """demo.yaml: every path relative to the file, so the folder can move."""
    config = {
        "site": "facetrail-demo",
        "cameras": [
            {"id": c.id, "name": c.name, "source": c.clip.relative_to(scenario.root).as_posix(),
             "position": {"x": c.x, "y": c.y}}
            for c in scenario.cameras
        ],
        # auto: YuNet and face-reidentification-retail-0095 when their files are found, else dlib (one line says so)
        "analysis": {"detector": {"backend": "auto"}, "embedder": {"backend": "auto"}},
        "bus": {"kind": "sqlite", "path": "var/bus.db"},
        "database": {"url": "sqlite:///var/facetrail.db"},
        "objects": {"kind": "local", "path": "var/evidence"},
    }
    scenario.config_path.write_text(yaml.safe_dump(config, sort_keys=False))


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _write_record(scenario: Scenario) -> None:
    """scenario.json: the stamp (written last, so a half-built folder is rebuilt) and the ground truth."""
    record = {
        "stamp": _stamp(),
        "expected_routes": scenario.expected_routes,
        "clip_starts": scenario.clip_starts,
        "passes": [asdict(p) for p in scenario.passes],
        "face_checks": [asdict(c) for c in scenario.face_checks],
        "photo_credits": {p.name: f"{p.person}: {p.credit} ({p.requirement})" for p in PHOTOS.values()},
    }
    tmp = scenario.root / "scenario.json.part"
    tmp.write_text(json.dumps(record, indent=2, default=_json_default))
    tmp.replace(scenario.root / "scenario.json")


def _load_built(out_dir: Path) -> Scenario | None:
    """The scenario already in out_dir when its stamp is current and its files are all there."""
    try:
        record = json.loads((out_dir / "scenario.json").read_text())
    except (OSError, ValueError):
        return None
    if record.get("stamp") != _stamp():
        return None
    checks = tuple(FaceCheck(**c) for c in record.get("face_checks", []))
    scenario = _describe(out_dir, checks)
    files = [scenario.config_path, *(c.clip for c in scenario.cameras), *(f for p in scenario.enrolled for f in p.enrolment_photos)]
    return scenario if all(f.is_file() for f in files) else None


def build_scenario(out_dir: Path, cache_dir: Path | None = None) -> Scenario:
    """Build (or reuse) the scenario in out_dir; raises ScenarioError with a one-line reason."""
    out_dir = Path(out_dir).resolve()
    built = _load_built(out_dir)
    if built is not None:
        return built
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for stale in (out_dir / "watchlist", out_dir / "clips"):
            shutil.rmtree(stale, ignore_errors=True)
        scenario = _describe(out_dir, _check_identities(cache_dir))
        _write_watchlist(scenario, cache_dir)
        _write_clips(scenario, cache_dir)
        _write_config(scenario)
        _write_record(scenario)
    except ScenarioError:
        raise
    except Exception as exc:  # one line for the operator; the cause stays chained for debugging
        raise ScenarioError(f"cannot build the demo scenario in {out_dir}: {exc}") from exc
    return scenario


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m facetrail.demo.scenario OUT_DIR", file=sys.stderr)
        return 2
    began = time.monotonic()
    try:
        scenario = build_scenario(Path(args[0]))
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"scenario ready in {scenario.root} ({time.monotonic() - began:.1f} s)")
    print(f"config: {scenario.config_path}")
    for name, route in scenario.expected_routes.items():
        print(f"  {name}: {' -> '.join(route)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
