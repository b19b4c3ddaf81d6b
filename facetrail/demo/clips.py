"""Rendering one camera's clip: people's cut-outs walking across a still scene, as H.264 MP4."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import av
import cv2
import numpy as np

from facetrail.demo.sprites import Sprite, composite


class ClipError(Exception):
    """A clip that cannot be encoded; the message says why."""


@dataclass(frozen=True, eq=False)
class Walk:
    """One person crossing the picture: enters at `start_s`, gone at `end_s` (seconds into the clip)."""

    sprite: Sprite
    start_s: float
    end_s: float
    left_to_right: bool

    def centre(self, t: float, width: int, height: int) -> tuple[int, int] | None:
        if not self.start_s <= t < self.end_s:
            return None
        progress = (t - self.start_s) / (self.end_s - self.start_s)
        # Half a sprite beyond each edge, so the person walks in and out of view.
        span_from, span_to = -self.sprite.width * 0.25, width + self.sprite.width * 0.25
        if not self.left_to_right:
            span_from, span_to = span_to, span_from
        x = span_from + (span_to - span_from) * progress
        bob = 4 * math.sin(2 * math.pi * 1.8 * (t - self.start_s))  # a walker's head rises and falls
        return int(x), int(height * 0.47 + bob)


def h264_encoder() -> str:
    """The H.264 encoder this PyAV build has: libx264 where present, else OpenH264."""
    for name in ("libx264", "libopenh264"):
        if name in av.codecs_available:
            return name
    raise ClipError("this PyAV build has no H.264 encoder (neither libx264 nor libopenh264)")


def scene(camera_id: str, width: int, height: int) -> np.ndarray:
    """A still, textured corridor scene, different for each camera id (deterministic)."""
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(camera_id.encode()).digest()[:8], "little"))
    wall = rng.integers(90, 200, 3)
    img = np.empty((height, width, 3), np.uint8)
    shade = np.linspace(0.75, 1.05, height)[:, None, None]
    img[:] = np.clip(wall[None, None, :] * shade, 0, 255).astype(np.uint8)
    horizon = int(height * 0.68)
    floor = np.empty_like(img)
    floor[:] = rng.integers(50, 130, 3).astype(np.uint8)
    vanish_x = int(rng.integers(width // 4, 3 * width // 4))
    for x in range(-width, 2 * width, 80):  # floor tile seams converging on a vanishing point
        cv2.line(floor, (vanish_x, horizon - 200), (x, height), (40, 40, 40), 1, cv2.LINE_AA)
    for y in (horizon + 12, horizon + 35, horizon + 70):
        cv2.line(floor, (0, y), (width, y), (40, 40, 40), 1, cv2.LINE_AA)
    img[horizon:] = floor[horizon:]
    for _ in range(3):  # doors and notice boards on the wall
        x0, w = int(rng.integers(0, width - 90)), int(rng.integers(40, 90))
        y0, h = int(rng.integers(20, horizon - 60)), int(rng.integers(30, 120))
        colour = tuple(int(c) for c in rng.integers(30, 230, 3))
        cv2.rectangle(img, (x0, y0), (x0 + w, min(horizon, y0 + h)), colour, -1)
        cv2.rectangle(img, (x0, y0), (x0 + w, min(horizon, y0 + h)), (30, 30, 30), 2)
    grain = rng.normal(0, 6, img.shape)
    return np.clip(img.astype(np.float32) + grain, 0, 255).astype(np.uint8)


def _stamp(frame: np.ndarray, label: str) -> None:
    cv2.rectangle(frame, (0, 0), (300, 22), (0, 0, 0), -1)
    cv2.putText(frame, label, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)


def render_clip(
    path: Path,
    *,
    camera_id: str,
    starts_at: datetime,
    duration_s: float,
    walks: list[Walk],
    width: int,
    height: int,
    fps: int,
    gop: int,
) -> None:
    """Encode the clip to `path` (atomically), stamping wall-clock time on each frame."""
    background = scene(camera_id, width, height)
    tmp = path.with_name(path.name + ".part.mp4")
    encoder = h264_encoder()
    options = {"preset": "veryfast", "crf": "23", "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0"}
    if encoder != "libx264":
        options = {"b": "1500000"}
    with av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
        out.metadata["creation_time"] = starts_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
        out.metadata["title"] = camera_id
        stream = out.add_stream(encoder, rate=fps, options=options)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.codec_context.max_b_frames = 0
        for index in range(int(round(duration_s * fps))):
            t = index / fps
            frame = background.copy()
            for walk in walks:
                centre = walk.centre(t, width, height)
                if centre:
                    composite(frame, walk.sprite, *centre)
            _stamp(frame, f"{camera_id}  {(starts_at + timedelta(seconds=t)).strftime('%Y-%m-%d %H:%M:%S')}")
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    tmp.replace(path)
