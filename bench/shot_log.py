"""What happened to each matched pass before it matched, written from inside a worker process.

The worker runs facetrail's analyser unchanged; wrappers note every analysed
frame's capture time and, per pass, each shot the tracker took (its quality,
whether it was offered for embedding) and each embedding's outcome (matched or
not). A pass's notes are kept in memory and written only once the pass matches
a watch-list entry, so nothing about a face that matches nobody ever leaves the
process (no distance is noted at all, matched or not).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class ShotNote:
    at: datetime
    quality: float
    offered: bool
    """Offered for embedding by the tracker (good enough and clearly better than the last embedded shot)."""
    embedded: bool = False
    matched: bool = False
    box: tuple[int, int, int, int] = (0, 0, 0, 0)
    """x, y, width, height in full-resolution pixels: where in the picture the face was."""


@dataclass(frozen=True)
class PassHistory:
    """A matched pass up to and including its first matching shot."""

    first_seen: datetime
    matched_at: datetime
    shots: list[ShotNote]
    frames: int
    """Frames analysed from first_seen to matched_at (both included)."""

    def switches(self) -> list[str]:
        """Links where the track's face changed size or turned back: the tracker took another person.

        The bench clip's walkers keep one face size and one direction each, so either is a switch there:
        a size step over 15 % between consecutive shots, or a move of over a third of the face width
        against the track's last such move."""
        found, heading = [], 0
        for prev, now in zip(self.shots, self.shots[1:]):
            (px, _, pw, _), (nx, _, nw, _) = prev.box, now.box
            if not 1 / 1.15 <= nw / pw <= 1.15:
                found.append(f"width {pw} -> {nw} px at {now.at:%H:%M:%S.%f}"[:-4])
            if abs(nx - px) > pw / 3:
                if heading and (nx - px) * heading < 0:
                    found.append(f"turned back at x={px} px, {now.at:%H:%M:%S.%f}"[:-4])
                heading = nx - px
        return found

    def before_match(self, min_quality: float) -> Counter:
        """Why each analysed frame before the matching one did not announce the pass."""
        why: Counter = Counter()
        for shot in self.shots:
            if shot.at >= self.matched_at:
                continue
            if shot.embedded:
                why["embedded, no match"] += 1
            elif shot.quality < min_quality:
                why["below the quality gate"] += 1
            else:
                why["not embedded (no clear gain or budget spent)"] += 1
        seen = sum(1 for s in self.shots if s.at < self.matched_at)
        missing = self.frames - 1 - seen
        if missing > 0:
            why["face not detected"] += missing
        return why


def install(path: Path) -> None:
    """Wrap the analyser of this (worker) process so matched passes' histories go to `path`."""
    from facetrail.analytics.pipeline import CameraAnalyser
    from facetrail.analytics.tracker import FaceTracker

    pending: dict[tuple[int, int], list[dict]] = {}
    written: set[tuple[int, int]] = set()  # passes already matched: later shots say nothing about the delay
    lock = threading.Lock()
    out = open(path, "a")

    def write(row: dict) -> None:
        out.write(json.dumps(row) + "\n")
        out.flush()

    original_update = FaceTracker.update

    def update(self, captured_at, frame_index, detections, qualities):
        result = original_update(self, captured_at, frame_index, detections, qualities)
        with lock:
            write({"kind": "frame", "at": captured_at.isoformat()})
            for track in self.open_tracks:
                if track.last_seen == captured_at and (id(self), track.track_id) not in written:
                    shot = {"kind": "shot", "at": captured_at.isoformat(), "quality": _quality_of(track, detections, qualities),
                            "box": [track.last.x, track.last.y, track.last.w, track.last.h],
                            "offered": any(t is track for t, _ in result.to_embed)}
                    pending.setdefault((id(self), track.track_id), []).append(shot)
            for track in result.ended:
                pending.pop((id(self), track.track_id), None)  # unmatched: forgotten
                written.discard((id(self), track.track_id))
        return result

    original_embed = CameraAnalyser._embed_and_match

    def embed_and_match(self, frame, to_embed):
        votes = {t.track_id: len(self._passes[t.track_id].votes) for t, _ in to_embed}
        embedded = {t.track_id for t, _ in to_embed if not self._settled(self._passes[t.track_id])}
        result = original_embed(self, frame, to_embed)
        with lock:
            for track, _ in to_embed:
                key = (id(self._tracker), track.track_id)
                notes = pending.get(key)
                if notes is None or track.track_id not in embedded:
                    continue
                matched = len(self._passes[track.track_id].votes) > votes[track.track_id]
                notes[-1].update(embedded=True, matched=matched)
                if matched:
                    written.add(key)
                    write({"kind": "pass", "first_seen": track.first_seen.isoformat(), "shots": pending.pop(key)})
        return result

    FaceTracker.update = update
    CameraAnalyser._embed_and_match = embed_and_match


def _quality_of(track, detections, qualities) -> float:
    for detection, quality in zip(detections, qualities):
        if detection is track.last:
            return float(quality)
    return 0.0


def read(path: Path) -> dict[datetime, PassHistory]:
    """Matched passes by first_seen (one camera), with the frames analysed during each."""
    if not path.is_file():
        return {}
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    frames = sorted(datetime.fromisoformat(r["at"]) for r in rows if r["kind"] == "frame")
    histories = {}
    for row in (r for r in rows if r["kind"] == "pass"):
        shots = [ShotNote(datetime.fromisoformat(s["at"]), s["quality"], s["offered"], s.get("embedded", False),
                          s.get("matched", False), tuple(s["box"])) for s in row["shots"]]
        first_seen = datetime.fromisoformat(row["first_seen"])
        matched_at = next((s.at for s in shots if s.matched), shots[-1].at)
        histories[first_seen] = PassHistory(first_seen, matched_at, shots,
                                            sum(1 for f in frames if first_seen <= f <= matched_at))
    return histories
