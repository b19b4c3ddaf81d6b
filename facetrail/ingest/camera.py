"""Camera sources: RTSP streams and recorded files decoded with PyAV into sampled frames."""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

import av

from facetrail.ingest.frames import Frame
from facetrail.ingest.pixels import Pixels
from facetrail.ingest.readahead import read_ahead
from facetrail.ingest.sampling import Backoff, FrameSampler

log = logging.getLogger(__name__)

# TCP avoids UDP packet loss on busy links; small probe sizes open a stream in well under a second.
RTSP_OPTIONS = {
    "rtsp_transport": "tcp",
    "probesize": "65536",
    "analyzeduration": "200000",
    "fflags": "nobuffer",
    "max_delay": "200000",
}
OPEN_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 5.0
# Sampled 1080p frames decoded ahead of analysis (3 MB each, as YUV): enough to ride out a slow embedding.
READ_AHEAD_FRAMES = 4
# Slice threads, not frame threads ("AUTO"): on the 1080p bench clip frame threading cost 25% more CPU
# (6.8 s against 5.4 s) and, with analysis busy on the other core, took twice the wall time (7 s against
# 3.1 s); it also holds frames back, which adds latency to a live stream.
DECODE_THREADING = "SLICE"


class SourceError(Exception):
    """A video source that cannot be used; the message says why in plain words."""


def _describe(exc: Exception) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text.replace("\n", " ")


def open_container(source: str) -> av.container.InputContainer:
    """Open a file or RTSP URL, raising SourceError with a clear message."""
    if source.startswith(("rtsp://", "rtsps://")):
        try:
            return av.open(source, options=RTSP_OPTIONS, timeout=(OPEN_TIMEOUT_S, READ_TIMEOUT_S))
        except (av.FFmpegError, OSError) as exc:
            raise SourceError(f"cannot open stream {source}: {_describe(exc)}") from None
    path = Path(source)
    if not path.exists():
        raise SourceError(f"video file not found: {path}")
    if not path.is_file():
        raise SourceError(f"not a file: {path}")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"not a readable video file: {path} ({_describe(exc)})") from None
    if not container.streams.video:
        container.close()
        raise SourceError(f"no video stream in {path}")
    return container


def _frame_seconds(frame: av.VideoFrame, stream: av.video.stream.VideoStream, fallback_index: int) -> float:
    if frame.pts is not None and stream.time_base is not None:
        return float(frame.pts * stream.time_base)
    rate = float(stream.average_rate or 25)
    return fallback_index / rate


def read_file(
    camera_id: str,
    path: str,
    fps: float,
    start: datetime,
    resume_from_s: float = 0.0,
    progress: Callable[[float], None] | None = None,
    read_ahead_frames: int = READ_AHEAD_FRAMES,
) -> Iterator[Frame]:
    """Sampled frames of a recorded file, stamped start + offset; raises SourceError.

    With read_ahead_frames > 0 decoding runs on its own thread that many sampled
    frames ahead (same frames, same order); 0 decodes on the caller's thread.
    """
    frames = _decode_sampled(camera_id, path, fps, start, resume_from_s)
    if read_ahead_frames > 0:
        frames = read_ahead(frames, read_ahead_frames, name=f"decode-{camera_id}")
    try:
        for frame in frames:
            if progress:
                progress((frame.captured_at - start).total_seconds())
            yield frame
    finally:
        frames.close()  # a consumer that stops early (an interrupted run) stops the reader thread at once


def _decode_sampled(camera_id: str, path: str, fps: float, start: datetime, resume_from_s: float) -> Iterator[Frame]:
    container = open_container(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = DECODE_THREADING
        if resume_from_s > 0:
            container.seek(int(resume_from_s / stream.time_base), stream=stream, backward=True, any_frame=False)
        sampler = FrameSampler(fps)
        origin: float | None = None
        try:
            for index, frame in enumerate(container.decode(stream)):
                t = _frame_seconds(frame, stream, index)
                if origin is None:
                    origin = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
                offset = t - origin
                if offset < resume_from_s - 1e-3 or not sampler.take(offset):
                    continue
                yield Frame(camera_id, index, start + timedelta(seconds=offset), Pixels.of_video_frame(frame))
        except av.FFmpegError as exc:
            raise SourceError(f"video file is damaged or truncated: {path} ({_describe(exc)})") from None
    finally:
        container.close()


def file_duration_s(path: str) -> float | None:
    container = open_container(path)
    try:
        stream = container.streams.video[0]
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        return container.duration / 1_000_000 if container.duration else None
    finally:
        container.close()


@dataclass
class StreamHealth:
    state: str = "starting"
    reconnects: int = 0
    last_frame_at: datetime | None = None
    frames_decoded: int = 0
    frames_sampled: int = 0
    frames_dropped: int = 0
    last_error: str = ""


@dataclass
class LiveCamera:
    """A live RTSP (or looping file) camera read on its own thread.

    Decoding runs ahead on a thread; only the newest sampled frame waits for
    analysis, so a slow analyser drops frames instead of building up lag.
    """

    camera_id: str
    source: str
    fps: float
    backoff: Backoff = field(default_factory=Backoff)
    health: StreamHealth = field(default_factory=StreamHealth)
    stall_timeout_s: float = READ_TIMEOUT_S

    def __post_init__(self) -> None:
        self._frames: queue.Queue[Frame] = queue.Queue(maxsize=2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"camera-{self.camera_id}", daemon=True)

    def start(self) -> "LiveCamera":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=READ_TIMEOUT_S + 2)

    def latest(self, wait_s: float = 0.0) -> Frame | None:
        """The oldest waiting sampled frame (at most two wait), or None."""
        try:
            return self._frames.get(timeout=wait_s) if wait_s > 0 else self._frames.get_nowait()
        except queue.Empty:
            return None

    @property
    def is_live(self) -> bool:
        return self.source.startswith(("rtsp://", "rtsps://"))

    def _offer(self, frame: Frame) -> None:
        while True:
            try:
                self._frames.put_nowait(frame)
                return
            except queue.Full:
                try:
                    self._frames.get_nowait()
                    self.health.frames_dropped += 1
                except queue.Empty:
                    pass

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._read_until_drop()
            except SourceError as exc:
                self.health.last_error = str(exc)
            if self._stop.is_set():
                break
            if not self.is_live and self.health.last_error == "end of stream":
                break  # a recorded file played as a camera ends once
            self.health.state = "reconnecting"
            delay = self.backoff.next_delay()
            log.warning("camera %s: stream lost (%s); reconnecting in %.1fs", self.camera_id, self.health.last_error, delay)
            self._stop.wait(delay)
            self.health.reconnects += 1
        self.health.state = "stopped"

    def _read_until_drop(self) -> None:
        container = open_container(self.source)
        try:
            stream = container.streams.video[0]
            stream.thread_type = DECODE_THREADING
            sampler = FrameSampler(self.fps)
            started = time.monotonic()
            self.health.state = "streaming"
            for index, frame in enumerate(container.decode(stream)):
                if self._stop.is_set():
                    return
                self.health.frames_decoded += 1
                if not self.is_live:  # a file played as a camera keeps its own pace
                    self._stop.wait(max(0.0, started + _frame_seconds(frame, stream, index) - time.monotonic()))
                now = datetime.now(timezone.utc)
                if not sampler.take(time.monotonic() - started):
                    continue
                self.backoff.reset()
                self.health.last_frame_at = now
                self.health.frames_sampled += 1
                self._offer(Frame(self.camera_id, self.health.frames_decoded - 1, now, Pixels.of_video_frame(frame)))
            self.health.last_error = "end of stream"
        except av.FFmpegError as exc:
            self.health.last_error = _describe(exc)
        finally:
            container.close()
