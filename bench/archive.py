"""Archive search throughput: one job over several recordings worked by 1 and by 2 `facetrail jobs work`
processes, against one `facetrail reprocess` of the same files (the baseline, and the sightings both must store).

Camera-hours per hour is footage searched / wall time, job creation (hashing, key-frame scan) excluded and
worker start included. Coordination cost is counted by the workers themselves (statements that lease, renew,
checkpoint and complete segments).
"""

from __future__ import annotations

import json
import os
import re
import resource
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from bench.clip import bench_clip, enrol_walkers, write_world
from bench.report import CACHE, Figure, Section, Table
from bench.services import scratch_database, service_env

CLIP_S, QUICK_CLIP_S = 120.0, 10.0
RECORDINGS = 3
# A segment per minute of footage (two per recording), read one pass length (10 s) either side.
ARCHIVE = {"segment_s": 60.0, "overlap_s": 10.0, "lease_s": 30.0, "nice": 0}
QUICK_ARCHIVE = {"segment_s": 4.0, "overlap_s": 6.0, "lease_s": 30.0, "nice": 0}
# When the recordings began: recent, because the trajectory service drops sightings older than the retention
# limit (a replay after a sweep), so footage dated bench.clip.T0 would store nothing and compare nothing.
START = (datetime.now(timezone.utc) - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)


def _facetrail(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "facetrail.cli.main", *args], capture_output=True, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})})
    if result.returncode != 0:
        raise RuntimeError(f"facetrail {args[0]} failed: {(result.stderr or result.stdout).strip()[-400:]}")
    return result


def _site(folder: Path, clip, archive: dict) -> Path:
    config = write_world(folder, clip, {"cam-r": str(clip.path)})
    values = yaml.safe_load(config.read_text())
    values["archive"] = archive
    config.write_text(yaml.safe_dump(values))
    return config


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _sightings(config: Path) -> list[tuple]:
    _facetrail("trajectory", "-c", str(config), "--drain")
    rows = json.loads(_facetrail("sightings", "-c", str(config), "--format", "json").stdout)
    return sorted((r["person"], r["first_seen"], r["last_seen"]) for r in rows)


def _job(config: Path, recordings: list[str], workers: int) -> dict:
    made = _facetrail("search-archive", "-c", str(config), "--camera", "cam-r", "--authorisation", "benchmark",
                      "--start", START.isoformat(), *recordings)
    job_id = re.search(r"job ([0-9a-f]{16})", made.stdout).group(1)  # type: ignore[union-attr]
    t, cpu = time.perf_counter(), _children_cpu_s()
    processes = [subprocess.Popen([sys.executable, "-m", "facetrail.cli.main", "jobs", "work", "-c", str(config),
                                   "--until-idle"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  env={**os.environ, "PYTHONWARNINGS": "ignore"}) for _ in range(workers)]
    outputs = [p.communicate()[0] for p in processes]
    wall, cpu = time.perf_counter() - t, _children_cpu_s() - cpu
    if any(p.returncode for p in processes):
        raise RuntimeError(f"a worker failed: {outputs}")
    job = json.loads(_facetrail("jobs", "show", job_id, "-c", str(config), "--format", "json").stdout)
    trips = sum(int(m) for out in outputs for m in re.findall(r"(\d+) lease round trip", out))
    return {"wall_s": wall, "cpu_s": cpu, "segments": job["segments_total"], "state": job["state"], "round_trips": trips,
            "sightings": _sightings(config)}


def _services_site(folder: Path, clip, archive: dict, env: dict[str, str], database_url: str, bucket: str) -> Path:
    """The bench site on the engines scripts/services started: Kafka (topics of its own), MinIO, PostgreSQL."""
    config = _site(folder, clip, archive)
    values = yaml.safe_load(config.read_text())
    values["bus"] = {"kind": "kafka", "bootstrap_servers": env["FACETRAIL_KAFKA_BOOTSTRAP"],
                     "topic_prefix": f"{bucket}."}
    values["objects"] = {"kind": "minio", "endpoint": env["FACETRAIL_MINIO_ENDPOINT"], "bucket": bucket,
                         "access_key": env["FACETRAIL_MINIO_ACCESS_KEY"], "secret_key": env["FACETRAIL_MINIO_SECRET_KEY"]}
    values["database"] = {"url": database_url}
    config.write_text(yaml.safe_dump(values))
    enrol_walkers(database_url, clip, values["analysis"])
    return config


@contextmanager
def _bucket(env: dict[str, str], files: list[Path]) -> Iterator[str]:
    """A bucket of its own holding the recordings under cam-r/ (and the job's evidence); emptied and removed after."""
    from minio import Minio

    client = Minio(env["FACETRAIL_MINIO_ENDPOINT"], env["FACETRAIL_MINIO_ACCESS_KEY"], env["FACETRAIL_MINIO_SECRET_KEY"],
                   secure=False)
    bucket = f"ft-bench-{secrets.token_hex(4)}"
    client.make_bucket(bucket)
    try:
        for path in files:
            client.fput_object(bucket, f"cam-r/{path.name}", str(path))
        yield bucket
    finally:
        for item in client.list_objects(bucket, recursive=True):
            client.remove_object(bucket, item.object_name)
        client.remove_bucket(bucket)


def _on_services(folder: Path, clip, files: list[Path], archive: dict, env: dict[str, str]) -> dict:
    """The 2-worker job as a deployment runs it: recordings fetched from MinIO, leases and rows on PostgreSQL,
    sightings on Kafka (stored by `facetrail trajectory --drain`)."""
    with scratch_database(env["FACETRAIL_DATABASE_URL"]) as url, _bucket(env, files) as bucket:
        config = _services_site(folder, clip, archive, env, url, bucket)
        return _job(config, [f"s3://{bucket}/cam-r/"], 2)


def _services_run(section: Section, folder: Path, clip, files: list[Path], archive: dict, footage_s: float,
                  single: float) -> dict | None:
    """The 2-worker job again on the real engines, when scripts/services has started them; None (and a note) if not."""
    env = service_env()
    if not all(env.get(k) for k in ("FACETRAIL_KAFKA_BOOTSTRAP", "FACETRAIL_MINIO_ENDPOINT", "FACETRAIL_DATABASE_URL")):
        section.note("On Kafka, MinIO and PostgreSQL: not measured: scripts/services has not written var/services/env "
                     "(run `make services-up`).")
        return None
    try:
        served = _on_services(folder, clip, files, archive, env)
    except Exception as exc:  # services stopped or unreachable: say so, keep the other figures
        section.note(f"On Kafka, MinIO and PostgreSQL: not measured: {exc.__class__.__name__}: "
                     f"{str(exc).splitlines()[0][:200]} (start them with `make services-up`).")
        return None
    section.add(Figure("archive job, 2 worker processes on Kafka, MinIO (s3:// recordings) and PostgreSQL: "
                       "camera-hours searched per hour", footage_s / served["wall_s"], "x", baseline=single,
                       baseline_label="one reprocess (embedded)"))
    section.add(Figure("lease round trips per segment, 2 workers on PostgreSQL",
                       served["round_trips"] / served["segments"], "trips", higher_is_better=False))
    section.note("The run on the real engines fetches each recording from MinIO into each worker's cache (counted in "
                 "its wall time), leases segments from PostgreSQL, publishes sightings to Kafka (topics of its own), "
                 "and `facetrail trajectory --drain` stores them; its database and bucket are created for the run and "
                 "dropped after.")
    return served


def run(section: Section, quick: bool) -> None:
    clip = bench_clip(QUICK_CLIP_S if quick else CLIP_S)
    archive = QUICK_ARCHIVE if quick else ARCHIVE
    folder = CACHE / "archive"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    # Several recordings of one camera, one after another (copies: reprocess keeps progress per file).
    files = []
    for i in range(RECORDINGS):
        files.append(folder / f"recording-{i}.mp4")
        shutil.copyfile(clip.path, files[-1])
    footage_s = clip.duration_s * RECORDINGS

    base = _site(folder / "reprocess", clip, archive)
    t, cpu = time.perf_counter(), _children_cpu_s()
    _facetrail("reprocess", "-c", str(base), "--camera", "cam-r", "--start", START.isoformat(), "--no-stitch",
               *map(str, files))
    reprocess_s, reprocess_cpu_s = time.perf_counter() - t, _children_cpu_s() - cpu
    expected = _sightings(base)
    runs = {n: _job(_site(folder / f"job-{n}", clip, archive), list(map(str, files)), n) for n in (1, 2)}

    single = footage_s / reprocess_s
    for n, result in runs.items():
        section.add(Figure(f"archive job, {n} worker process{'es' if n > 1 else ''}: camera-hours searched per hour",
                           footage_s / result["wall_s"], "x", baseline=single, baseline_label="one reprocess"))
    for n, result in runs.items():
        section.add(Figure(f"archive job, {n} worker process{'es' if n > 1 else ''}: CPU seconds per second of footage",
                           result["cpu_s"] / footage_s, "s", baseline=reprocess_cpu_s / footage_s,
                           baseline_label="one reprocess", higher_is_better=False))
    for n, result in runs.items():
        section.add(Figure(f"lease round trips per segment, {n} worker(s)", result["round_trips"] / result["segments"],
                           "trips", higher_is_better=False))
    served = _services_run(section, folder / "job-services", clip, files, archive, footage_s, single)
    # Nothing stored would compare equal too: the figure counts only when the walkers were found.
    identical = bool(expected) and all(r["sightings"] == expected for r in [*runs.values(), *([served] if served else [])])
    section.add(Figure("jobs' sightings identical to one reprocess of the same files", 1.0 if identical else 0.0,
                       "yes=1", target="1", met=identical))
    section.tables.append(Table("Runs", ["run", "wall (s)", "CPU (s)", "segments", "sightings stored", "state"],
                                [["reprocess (1 process)", f"{reprocess_s:.1f}", f"{reprocess_cpu_s:.1f}", "-",
                                  str(len(expected)), "-"]] +
                                [[name, f"{r['wall_s']:.1f}", f"{r['cpu_s']:.1f}", str(r["segments"]),
                                  str(len(r["sightings"])), r["state"]] for name, r in
                                 [*((f"job, {n} worker(s)", r) for n, r in runs.items()),
                                  *([("job, 2 worker(s) on Kafka, MinIO, PostgreSQL", served)] if served else [])]]))
    per_process = footage_s / runs[1]["wall_s"]
    per_core = footage_s / runs[1]["cpu_s"]  # camera-hours per CPU-core-hour: what a machine's cores can give
    trips = runs[1]["round_trips"] / runs[1]["segments"]
    section.note(f"Footage: {RECORDINGS} recordings of the {clip.duration_s:.0f} s 1080p25 bench clip (one camera, one "
                 f"after another; {footage_s / 3600:.3f} camera-hours), segments of {archive['segment_s']:.0f} s cut at key "
                 f"frames, read {archive['overlap_s']:.0f} s (one pass length) either side; 5 fps analysis; SQLite bus and "
                 f"database except the run on the real engines.")
    section.note(f"What 2 processes give on this machine: {os.cpu_count()} cores, shared with other work (the load average "
                 "above), and one reprocess already keeps about 1.8 of them busy (section 3), so a second process only "
                 "shares the same cores: wall-clock figures here say how the cores were shared, the CPU figures what the "
                 "work costs. The 2-worker round trips include the lease attempts a worker makes every second while the "
                 "other finishes the last segment. Each segment also reads "
                 f"its overlap again: {(archive['segment_s'] + 2 * archive['overlap_s']) / archive['segment_s']:.2f}x the "
                 "footage is decoded (1.33x at the default 180 s segments and 30 s overlap).")
    section.note(f"N machines: the work costs {runs[1]['cpu_s'] / footage_s:.2f} CPU seconds per second of footage "
                 f"({per_core:.1f} camera-hours per core-hour; one reprocess: {footage_s / reprocess_cpu_s:.1f}), and each "
                 f"segment {trips:.1f} database round trips (one lease, a renewal every lease_s/3 of wall time, one "
                 f"completion). At the default 180 s segments one core finishes a segment about every "
                 f"{180 / per_core:.0f} s, so 1,000 cores send about {1000 * trips / (180 / per_core):.0f} short "
                 "statements a second to PostgreSQL, far below what one server takes: the database is not the limit, "
                 f"the cores are. 200 cameras x 7 days (33,600 camera-hours) on N machines of 16 cores takes about "
                 f"{33600 / per_core / 16:,.0f} / N hours (N = 10: {33600 / per_core / 160:.1f} h; this machine's "
                 f"2 cores: {33600 / per_core / 2:,.0f} h).")
