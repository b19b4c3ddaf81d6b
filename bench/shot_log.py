"""What happened to each matched pass before it was announced, written from inside a worker process.

The worker runs facetrail's analyser unchanged, with a pass trace (the analyser's
``trace=`` hook, for tests and benchmarks) that notes each face of a pass (its
quality, box, and whether it was embedded for matching), and a wrapper around
``CameraAnalyser.analyse`` that notes every analysed frame's capture time and
which passes it announced. A pass's notes are kept in memory and written only once
the pass is announced for a watch-list entry, so nothing about a face that matches
nobody ever leaves the process (no distance is noted at all, matched or not).
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
    embedded: bool = False
    """Embedded and searched for matching (the pass's policy wanted it)."""
    matched: bool = False
    """The shot at which the pass was announced."""
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
                why["embedded, evidence not yet enough"] += 1
            elif shot.quality < min_quality:
                why["below the quality gate"] += 1
            else:
                why["not embedded (spacing or budget)"] += 1
        seen = sum(1 for s in self.shots if s.at < self.matched_at)
        missing = self.frames - 1 - seen
        if missing > 0:
            why["face not detected"] += missing
        return why


class _PassNotes:
    """The trace of one analyser: its passes' shots, in memory until the pass is announced."""

    def __init__(self, write) -> None:
        self._write = write
        self.now: datetime | None = None
        """Capture time of the frame being analysed (set by the analyse wrapper)."""
        self.pending: dict[int, list[dict]] = {}
        self.announced: set[int] = set()  # later shots say nothing about the delay

    def shot(self, traced) -> None:
        if traced.track_id in self.announced or self.now is None:
            return
        d = traced.detection
        self.pending.setdefault(traced.track_id, []).append(
            {"at": self.now.isoformat(), "quality": float(traced.quality), "box": [d.x, d.y, d.w, d.h],
             "embedded": traced.candidates is not None})

    def closed(self, traced) -> None:
        self.pending.pop(traced.track_id, None)  # unmatched, or already written: forgotten
        self.announced.discard(traced.track_id)

    def announce(self, first_seen: datetime) -> None:
        """The pass that began at first_seen was announced by this frame: its notes so far are written."""
        for track_id, shots in list(self.pending.items()):
            if shots and datetime.fromisoformat(shots[0]["at"]) == first_seen and shots[-1]["at"] == self.now.isoformat():
                shots[-1]["matched"] = True
                self._write({"kind": "pass", "first_seen": first_seen.isoformat(), "shots": self.pending.pop(track_id)})
                self.announced.add(track_id)
                return


def install(path: Path) -> None:
    """Trace every analyser of this (worker) process so announced passes' histories go to `path`."""
    from facetrail.analytics.pipeline import CameraAnalyser

    lock = threading.Lock()
    out = open(path, "a")

    def write(row: dict) -> None:
        out.write(json.dumps(row) + "\n")
        out.flush()

    original_init, original_analyse = CameraAnalyser.__init__, CameraAnalyser.analyse

    def init(self, *args, **kwargs):
        if kwargs.get("trace") is None:
            kwargs["trace"] = _PassNotes(write)
        original_init(self, *args, **kwargs)
        self._bench_shot_log = kwargs["trace"]

    def analyse(self, looked):
        notes: _PassNotes = self._bench_shot_log
        with lock:
            notes.now = looked.frame.captured_at
            write({"kind": "frame", "at": notes.now.isoformat()})
            published = original_analyse(self, looked)
            for matched in published:
                if not matched.event.final:
                    notes.announce(matched.event.first_seen)
        return published

    CameraAnalyser.__init__ = init
    CameraAnalyser.analyse = analyse


def read(path: Path) -> dict[datetime, PassHistory]:
    """Matched passes by first_seen (one camera), with the frames analysed during each."""
    if not path.is_file():
        return {}
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    frames = sorted(datetime.fromisoformat(r["at"]) for r in rows if r["kind"] == "frame")
    histories = {}
    for row in (r for r in rows if r["kind"] == "pass"):
        shots = [ShotNote(datetime.fromisoformat(s["at"]), s["quality"], s.get("embedded", False),
                          s.get("matched", False), tuple(s["box"])) for s in row["shots"]]
        first_seen = datetime.fromisoformat(row["first_seen"])
        matched_at = next((s.at for s in shots if s.matched), shots[-1].at)
        histories[first_seen] = PassHistory(first_seen, matched_at, shots,
                                            sum(1 for f in frames if first_seen <= f <= matched_at))
    return histories
