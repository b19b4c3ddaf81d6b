"""Finding a job's recordings (local paths, or s3://bucket/prefix on the configured MinIO/S3) and reading their
key frames; fetching an s3:// recording to the local cache where a worker analyses it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import av

from facetrail.archive.plan import Recording
from facetrail.config import Config, MinioObjectsConfig
from facetrail.ingest.camera import SourceError, file_duration_s, open_container
from facetrail.reprocess import file_sha256
from facetrail.storage.recording_bucket import RecordingBucket

S3_SCHEME = "s3://"
UNREADABLE_SHA256 = "0" * 64  # a file that could not be read at all when the job was made


class RecordingProblem(Exception):
    """Recordings that cannot be found at all (an empty prefix, no object store); the message says why."""


@dataclass(frozen=True)
class Found:
    source: str  # as the job records it: a resolved local path or s3://bucket/key
    local: Path  # where it can be read on this machine


def split_s3(source: str) -> tuple[str, str]:
    bucket, _, key = source.removeprefix(S3_SCHEME).partition("/")
    if not bucket:
        raise RecordingProblem(f"{source}: no bucket (write s3://bucket/prefix)")
    return bucket, key


def bucket_of(config: Config, bucket: str) -> RecordingBucket:
    objects = config.objects
    if not isinstance(objects, MinioObjectsConfig):
        raise RecordingProblem("s3:// recordings need objects.kind: minio in the config (its endpoint and keys are used)")
    return RecordingBucket(objects.endpoint, objects.access_key, objects.secret_key, bucket, objects.secure)


def cache_path(config: Config, sha256: str, key: str) -> Path:
    return config.archive.cache_dir / f"{sha256}{Path(key).suffix[:10]}"


def find(sources: tuple[str, ...], config: Config) -> list[Found]:
    """Every recording the sources name, in the order given (an s3:// prefix in name order); s3:// ones fetched."""
    found: list[Found] = []
    for source in sources:
        if not source.startswith(S3_SCHEME):
            found.append(Found(str(Path(source).resolve()), Path(source)))
            continue
        name, prefix = split_s3(source)
        bucket = bucket_of(config, name)
        objects = bucket.objects(prefix)
        if not objects:
            raise RecordingProblem(f"{source}: no objects under this prefix")
        for obj in objects:
            staging = config.archive.cache_dir / f".fetch-{hashlib.sha256(obj.key.encode()).hexdigest()[:16]}"
            bucket.fetch(obj.key, staging)
            local = cache_path(config, file_sha256(staging), obj.key)
            staging.replace(local)
            found.append(Found(f"{S3_SCHEME}{name}/{obj.key}", local))
    return found


def keyframes_s(path: Path) -> tuple[float, ...]:
    """Offsets of the key frames (from the stream's start), read from packets without decoding; what a damaged
    file yields before the damage."""
    times: list[float] = []
    container = open_container(str(path))
    try:
        stream = container.streams.video[0]
        origin = float(stream.start_time * stream.time_base) if stream.start_time is not None and stream.time_base else 0.0
        try:
            for packet in container.demux(stream):
                if packet.is_keyframe and packet.pts is not None and packet.time_base is not None:
                    times.append(float(packet.pts * packet.time_base) - origin)
        except av.FFmpegError:
            pass  # the segments past the damage fail with the decoder's own message
    finally:
        container.close()
    return tuple(sorted(times))


def describe(found: Found, start: datetime | None) -> Recording:
    """The recording as a job plans it. A file that cannot be opened becomes one empty segment, failed by the
    worker with the reason, so one bad file never stops the job."""
    try:
        sha256, size = file_sha256(found.local), found.local.stat().st_size
    except OSError:
        return Recording(found.source, UNREADABLE_SHA256, 0, start or datetime.fromtimestamp(0).astimezone(), 0.0)
    try:
        duration = file_duration_s(str(found.local)) or 0.0
        keyframes = keyframes_s(found.local)
    except SourceError:
        duration, keyframes = 0.0, ()
    if start is None:
        closed = datetime.fromtimestamp(found.local.stat().st_mtime).astimezone()
        start = closed - timedelta(seconds=duration)
    return Recording(found.source, sha256, size, start, duration, keyframes)


def local_copy(source: str, sha256: str, config: Config) -> Path:
    """Where a worker reads a recording: the path itself, or the cached copy of an s3:// object (fetched if this
    machine has none, and checked against the SHA-256 the job recorded)."""
    if not source.startswith(S3_SCHEME):
        return Path(source)
    name, key = split_s3(source)
    cached = cache_path(config, sha256, key)
    if cached.is_file():
        return cached
    bucket = bucket_of(config, name)
    try:
        bucket.fetch(key, cached)
    except KeyError:
        raise SourceError(f"recording not found: {source}") from None
    if file_sha256(cached) != sha256:
        cached.unlink(missing_ok=True)
        raise SourceError(f"recording changed since the job was made (SHA-256 differs): {source}")
    return cached
