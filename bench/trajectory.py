"""Trajectory throughput: the pure stitch core, and the service from the bus to the database."""

from __future__ import annotations

import cProfile
import logging
import os
import pstats
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from bench.report import CACHE, Figure, Section
from bench.services import SERVICE_ENV, service_env
from facetrail.config import KafkaBusConfig, TrajectoryConfig
from facetrail.events import Box, SightingEvent
from facetrail.storage.alert_outbox import AlertOutbox
from facetrail.storage.database import Database
from facetrail.storage.sighting_store import SightingStore
from facetrail.storage.track_store import TrackStore
from facetrail.storage.watchlist_store import WatchlistStore
from facetrail.trajectory.service import Guards, TrajectoryService, settled_heap
from facetrail.trajectory.stitch import stitch
from facetrail.watchlist import EntryRecord

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=timezone.utc)
CAMERAS = {f"cam-{i}": (float(40 * (i % 5)), float(40 * (i // 5))) for i in range(20)}
CONFIG = TrajectoryConfig()


def sightings(people: list[str], per_person: int, rng: np.random.Generator) -> list[SightingEvent]:
    """Each person walks between random cameras over a day: passes of 3-8 s, 30-300 s apart."""
    events = []
    for entry_id in people:
        at = T0 + timedelta(seconds=float(rng.uniform(0, 3600)))
        for _ in range(per_person):
            camera = f"cam-{int(rng.integers(0, len(CAMERAS)))}"
            events.append(SightingEvent.create(
                camera_id=camera, entry_id=entry_id, first_seen=at, last_seen=at + timedelta(seconds=float(rng.uniform(3, 8))),
                score=0.6, box=Box(x=10, y=10, w=80, h=80), quality=0.7, final=True))
            at += timedelta(seconds=float(rng.uniform(30, 300)))
    return events


def _stitch_rate(section: Section, quick: bool, rng) -> None:
    events = sightings([f"p{i}" for i in range(200 if quick else 2000)], 25, rng)
    best = 0.0
    for _ in range(3):
        t = time.perf_counter()
        tracks = stitch(events, CAMERAS, CONFIG.new_track_gap_s, CONFIG.max_speed_mps)
        best = max(best, len(events) / (time.perf_counter() - t))
    section.add(Figure(f"stitch core ({len(events):,} sightings, {len(tracks):,} tracks)", best, "sightings/s per core",
                       target=">= 50,000/s", met=best >= 50_000))


def _enrol(db: Database, people: list[str]) -> None:
    store = WatchlistStore(db)
    for entry_id in people:
        record = EntryRecord(entry_id, entry_id, "default", "benchmark", "synthetic", "bench", T0, T0 + timedelta(days=3650))
        store.add(record, np.ones((1, 128), np.float32), [None], model="dlib-resnet-v1")


class CpuMeter:
    """CPU seconds spent over one interval by the Kafka broker and PostgreSQL that serve the bench.

    Read from /proc (Linux): the broker's pid from scripts/services' pid file, and every process named postgres.
    """

    def __init__(self) -> None:
        self.used: dict[str, float] = {}
        self.seconds = 0.0

    @staticmethod
    def _ticks(pid: str) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return 0.0  # gone meanwhile: a PostgreSQL backend that closed
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _now(self) -> dict[str, float]:
        pid_file = SERVICE_ENV.parent / "kafka.pid"
        kafka = pid_file.read_text().strip() if pid_file.is_file() else ""
        postgres = [p.name for p in Path("/proc").iterdir() if p.name.isdigit() and _comm(p) == "postgres"]
        return {"Kafka": self._ticks(kafka), "PostgreSQL": sum(self._ticks(pid) for pid in postgres)}

    def start(self) -> None:
        self._start, self._t0 = self._now(), time.monotonic()

    def stop(self) -> None:
        self.used = {name: value - self._start[name] for name, value in self._now().items()}
        self.seconds = time.monotonic() - self._t0


def _comm(proc: Path) -> str:
    try:
        return (proc / "comm").read_text().strip()
    except OSError:
        return ""


def _cpu_note(what: str, used: dict[str, float], sightings: int, seconds: float, cores: int) -> str:
    """Each part's CPU per sighting, how busy the cores were, and the rate all of it allows on them."""
    each = {name: used_s / sightings * 1e6 for name, used_s in used.items()}
    total = sum(each.values())
    parts = ", ".join(f"{name} {us:.0f} us" for name, us in each.items())
    return (f"CPU per sighting, {what} (/proc): {parts}; {total:.0f} us in all, so the {cores} cores were "
            f"{sum(used.values()) / (seconds * cores):.0%} busy with it, and could carry at most "
            f"{cores / total * 1e6:,.0f} sightings/s however the work is spread over processes.")


def _service_rate(bus, db: Database, topic: str, events: list[SightingEvent], profile: cProfile.Profile | None = None) -> float:
    """Publish everything first, then time (and, given a profile, profile) the service draining it into the database."""
    bus.publish_many(topic, [(event.entry_id, event.to_json()) for event in events])
    bus.flush()
    service = TrajectoryService(bus, bus.consumer(topic, f"bench-{uuid.uuid4().hex[:8]}"), SightingStore(db), TrackStore(db),
                                CAMERAS, CONFIG, guards=Guards(outbox=AlertOutbox(db)))  # alerts owed and settled, as deployed
    with settled_heap():  # as `facetrail trajectory` runs its service
        if profile is not None:
            profile.enable()
        t = time.perf_counter()
        done = 0
        while done < len(events):
            step = service.step(timeout_s=5.0)
            if step.consumed == 0:
                break
            done += step.consumed
        if profile is not None:
            profile.disable()  # the profile is of the service's steps; the wait below is the bench's
        bus.flush()  # the run ends when its alerts are delivered, though the service waits for them a step later
        return done / (time.perf_counter() - t)


# What one step of the service spends its time on, by (module, function): the parts worth naming.
_PARTS = {
    ("kafka_bus", "poll"): "Kafka poll", ("sqlite_bus", "poll"): "bus poll", ("service", "_parse"): "parsing events",
    ("sighting_store", "upsert_batch"): "sighting upsert", ("track_store", "tail_states"): "reading last tracks",
    ("stitch", "grow_tail"): "extending last tracks", ("track_store", "grow"): "writing extended tracks",
    ("sighting_store", "for_entries"): "reading sightings back for a full re-stitch", ("stitch", "stitch"): "full re-stitch",
    ("track_store", "swap"): "rewriting re-stitched tracks", ("service", "_announce"): "alerts (publish and flush)",
    ("kafka_bus", "flush"): "of which waiting for the Kafka sender",
}


def _shares(profile: cProfile.Profile) -> str:
    """Each named part's share of the service's steps (cumulative time, so nested parts overlap)."""
    stats = pstats.Stats(profile).stats
    cumulative = {(Path(path).stem, name): v[3] for (path, _, name), v in stats.items() if "facetrail" in path}
    total = cumulative.get(("service", "step"), 0.0) or 1.0
    parts = [(label, cumulative.get(key, 0.0) / total) for key, label in _PARTS.items()]
    return ", ".join(f"{label} {share:.0%}" for label, share in parts if share >= 0.03)


def _sqlite_rate(people: list[str], events: list[SightingEvent], profile: cProfile.Profile | None = None) -> float:
    from facetrail.bus.sqlite_bus import SqliteBus

    folder = CACHE / "trajectory" / uuid.uuid4().hex[:8]
    folder.mkdir(parents=True)
    db = Database(f"sqlite:///{folder / 'facetrail.db'}")
    _enrol(db, people)
    bus = SqliteBus(folder / "bus.db")
    try:
        return _service_rate(bus, db, "bench.sightings", events, profile)
    finally:
        bus.close(), db.dispose()


KAFKA_PASSES = 200
"""Passes a person in the Kafka -> PostgreSQL runs: 40,000 sightings, so a run lasts seconds. With 50 (10,000
sightings) a run lasted under one second, and one pause of the broker or the database decided its figure."""


def run(section: Section, quick: bool) -> None:
    rng = np.random.default_rng(5)
    _stitch_rate(section, quick, rng)
    people = [f"bench-{uuid.uuid4().hex[:6]}-{i}" for i in range(50 if quick else 200)]
    events = sightings(people, 10 if quick else 50, rng)
    rate = _sqlite_rate(people, events)
    section.add(Figure(f"service, SQLite bus -> SQLite DB ({len(events):,} sightings, {len(people)} people)", rate, "sightings/s",
                       target=">= 10,000/s", met=rate >= 10_000))
    in_time_order = sorted(events, key=lambda e: e.first_seen)
    live = _sqlite_rate(people, in_time_order)
    section.add(Figure("service, SQLite bus -> SQLite DB, the same sightings in time order (as cameras publish them)", live,
                       "sightings/s", target=">= 10,000/s", met=live >= 10_000))
    section.note("The first SQLite figure publishes each person's sightings together, so every person is stitched once, in "
                 "full. In time order each step grows every person's last track (trajectory.stitch.grow_tail) from its "
                 "stored last visit alone: later passes start after every visit has ended, so only that visit can take "
                 "one in, and the step reads two rows a person and writes only that visit and the new ones, however "
                 "long the track (here each person's whole day is one track).")
    if min(rate, live) < 10_000:
        profile = cProfile.Profile()
        _sqlite_rate(people, in_time_order if live < rate else events, profile)
        section.note("Figures are measured without a profiler. What limits the service on SQLite (cProfile of a third, "
                     f"profiled run of the slower SQLite case, {'in time order' if live < rate else 'person by person'}; "
                     "share of the service's time): " + _shares(profile) + ". The rest is SQLAlchemy's per-row "
                     "parameter processing (UTC datetimes) and pydantic parsing and dumping of events and alerts, "
                     "spread thinly.")
    env = service_env()
    if not env.get("FACETRAIL_KAFKA_BOOTSTRAP") or not env.get("FACETRAIL_DATABASE_URL"):
        section.note("Kafka -> PostgreSQL not measured: scripts/services has not written var/services/env (run `make services-up`).")
        return
    _kafka_to_postgres(section, env, people, sightings(people, 10 if quick else KAFKA_PASSES, rng))


def _kafka_rate(env: dict[str, str], db: Database, bus, people: list[str], events: list[SightingEvent],
                profile: cProfile.Profile | None = None) -> float:
    """One run on a fresh topic, the people enrolled for it and removed after it."""
    from facetrail.bus.kafka_bus import ensure_topics

    topic = f"bench.sightings.{uuid.uuid4().hex[:8]}"
    ensure_topics(env["FACETRAIL_KAFKA_BOOTSTRAP"], {topic: 6})
    _enrol(db, people)
    try:
        return _service_rate(bus, db, topic, events, profile)
    finally:
        store = WatchlistStore(db)  # the benchmark's people (and, by cascade, their sightings and tracks) leave the shared database
        for entry_id in people:
            store.remove(entry_id)


class _TimedConsumer:
    """A consumer that notes (monotonic, so comparable across processes) when its first records arrived."""

    def __init__(self, consumer):
        self._consumer, self.first_records_at = consumer, None

    def poll(self, timeout_s: float, max_records: int = 500):
        records = self._consumer.poll(timeout_s, max_records)
        if records and self.first_records_at is None:
            self.first_records_at = time.monotonic()
        return records

    def commit(self) -> None:
        self._consumer.commit()

    def assignment(self) -> set[int]:
        return self._consumer.assignment()

    def close(self) -> None:
        self._consumer.close()


class _DeliveryClock:
    """Notes (monotonic) when the bus last had every message it was given acknowledged: here, the alerts.

    It looks every 2 ms, so the time it gives is at most that late."""

    def __init__(self, bus) -> None:
        self._bus, self.last_ack_at, self._stop = bus, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        busy = False
        while not self._stop.wait(0.002):
            if self._bus.pending():
                busy = True
            elif busy:
                busy, self.last_ack_at = False, time.monotonic()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.last_ack_at


@dataclass(frozen=True)
class _MemberReport:
    """What one service process tells the bench: its partitions, or how much it consumed by when."""

    member: int
    partitions: frozenset[int] = frozenset()
    consumed: int = 0
    first_records_at: float = 0.0
    ended_at: float = 0.0
    held: bool = False
    final: bool = False  # sent once, at exit: ended_at is then when its last alert was acknowledged
    cpu_s: float = 0.0
    """final only: the process's CPU seconds (all its threads) from the go to its last alert's delivery"""


def _member(index: int, env: dict[str, str], topic: str, group: str, reports, hold, go, stop, release) -> None:
    """One `facetrail trajectory` process of the group: join, hold while the bench publishes, then consume.

    Once done it keeps its database connections until released, so their server processes are still there
    when the bench reads their CPU time."""
    from facetrail.bus.kafka_bus import KafkaBus

    logging.basicConfig(level=logging.ERROR)
    db = Database(env["FACETRAIL_DATABASE_URL"])
    bus = KafkaBus(KafkaBusConfig(kind="kafka", bootstrap_servers=env["FACETRAIL_KAFKA_BOOTSTRAP"],
                                  client_id=f"facetrail-bench-{index}"))
    consumer = _TimedConsumer(bus.consumer(topic, group))
    service = TrajectoryService(bus, consumer, SightingStore(db), TrackStore(db), CAMERAS, CONFIG,
                                guards=Guards(outbox=AlertOutbox(db)))
    try:
        with settled_heap():  # as `facetrail trajectory` runs its service
            while not hold.is_set():  # joining: the group settles only while every member keeps polling
                service.step(timeout_s=0.2)
                reports.put(_MemberReport(index, frozenset(consumer.assignment())))
            reports.put(_MemberReport(index, frozenset(consumer.assignment()), held=True))
            go.wait()  # heartbeats go on in librdkafka's own thread, so holding does not rebalance the group
            cpu_at_go, delivered = time.process_time(), _DeliveryClock(bus)
            while not stop.is_set():
                step = service.step(timeout_s=0.2)
                if step.consumed:
                    reports.put(_MemberReport(index, consumed=step.consumed, first_records_at=consumer.first_records_at,
                                              ended_at=time.monotonic()))
            bus.flush()
            reports.put(_MemberReport(index, ended_at=delivered.stop(), final=True, cpu_s=time.process_time() - cpu_at_go))
            release.wait(60)
    finally:
        consumer.close(), bus.close(), db.dispose()


def _settled(latest: dict[int, frozenset[int]], members: int, partitions: int) -> bool:
    """Every member owns some partitions, none twice, all of them: one generation of the group."""
    owned = [latest.get(i, frozenset()) for i in range(members)]
    return all(owned) and sum(map(len, owned)) == partitions and len(frozenset().union(*owned)) == partitions


@dataclass(frozen=True)
class GroupRun:
    rate: float
    """sightings/s"""
    detail: str
    """each process's partitions, sightings and active span: a slow run shows which process held it back"""
    cpu_s: dict[str, float]
    """CPU seconds from the go to the run's end: the service processes together, Kafka, PostgreSQL"""
    seconds: float
    """from the go to the run's end, as the CPU was metered"""


def _group_rate(env: dict[str, str], db: Database, bus, people: list[str], events: list[SightingEvent],
                members: int, partitions: int = 6) -> GroupRun:
    """Sightings/s of `members` service processes in one consumer group, from the first record any of them
    received to the last step that wrote one; they join on an empty topic, so no rebalance lands mid-run."""
    import multiprocessing
    import queue

    from facetrail.bus.kafka_bus import ensure_topics

    topic, group = f"bench.sightings.{uuid.uuid4().hex[:8]}", f"bench-{uuid.uuid4().hex[:8]}"
    ensure_topics(env["FACETRAIL_KAFKA_BOOTSTRAP"], {topic: max(partitions, members)})
    _enrol(db, people)
    spawn = multiprocessing.get_context("spawn")
    reports, hold, go, stop, release = spawn.Queue(), spawn.Event(), spawn.Event(), spawn.Event(), spawn.Event()
    processes = [spawn.Process(target=_member, args=(i, env, topic, group, reports, hold, go, stop, release), daemon=True)
                 for i in range(members)]
    try:
        for process in processes:
            process.start()
        latest: dict[int, frozenset[int]] = {}
        held: dict[int, frozenset[int]] = {}
        deadline = time.monotonic() + 120
        while len(held) < members:
            if time.monotonic() > deadline:  # the members keep reporting, so a plain get would never time out
                raise RuntimeError(f"consumer group did not settle in 120 s: {latest}")
            report = reports.get(timeout=max(1.0, deadline - time.monotonic()))
            (held if report.held else latest)[report.member] = report.partitions
            if _settled(latest, members, max(partitions, members)):
                hold.set()
        if not _settled(held, members, max(partitions, members)):
            raise RuntimeError(f"consumer group did not settle: {held}")
        bus.publish_many(topic, [(event.entry_id, event.to_json()) for event in events])
        bus.flush(60)
        meter = CpuMeter()
        meter.start()
        go.set()
        done, first, last = 0, float("inf"), 0.0
        consumed, spans = dict.fromkeys(range(members), 0), {i: [float("inf"), 0.0] for i in range(members)}
        while done < len(events):
            report = reports.get(timeout=60)
            done += report.consumed
            first, last = min(first, report.first_records_at), max(last, report.ended_at)
            consumed[report.member] += report.consumed
            spans[report.member] = [min(spans[report.member][0], report.first_records_at), report.ended_at]
        stop.set()
        finals, service_cpu = 0, 0.0
        while finals < members:  # a run ends when the last alert is delivered, too
            report = reports.get(timeout=60)
            finals += report.final
            service_cpu += report.cpu_s
            last = max(last, report.ended_at)
        meter.stop()
        release.set()
        for process in processes:
            process.join(timeout=30)
        who = "; ".join(f"process {i}: partitions {sorted(held[i])}, {consumed[i]:,} sightings from {spans[i][0] - first:.2f} s "
                        f"to {spans[i][1] - first:.2f} s" for i in range(members))
        return GroupRun(done / (last - first), f"{who}; run ends at {last - first:.2f} s (last alert acknowledged)",
                        {"the service processes": service_cpu, **meter.used}, meter.seconds)
    finally:
        stop.set(), go.set(), hold.set(), release.set()
        for process in processes:
            if process.is_alive():
                process.terminate()
        store = WatchlistStore(db)
        for entry_id in people:
            store.remove(entry_id)


def _analyze_emptied(db: Database) -> None:
    """ANALYZE the tables the runs fill while the last run's clean-up has left them empty: each run then starts
    with the statistics that made PostgreSQL scan whole tables (storage.bulk.row_per_key), as autovacuum may
    leave them after a retention sweep; the figure holds in that worst case too."""
    from sqlalchemy import text

    with db.session() as session, session.begin():
        session.execute(text("ANALYZE sightings, tracks, track_visits"))


SCALE_OUT_RUNS = 5
"""Consecutive runs of the two-process group: its figure is the lowest, so it holds in every one of them."""


def _scale_out(section: Section, env: dict[str, str], db: Database, bus, people: list[str],
               events: list[SightingEvent]) -> None:
    """The deployment's way to scale: N `facetrail trajectory` processes in one consumer group, N = 1 and 2."""
    cores = os.cpu_count() or 1
    for members, runs in ((1, 1), (2, SCALE_OUT_RUNS)):
        results = []
        for _ in range(runs):
            _analyze_emptied(db)
            results.append(_group_rate(env, db, bus, people, events, members))
            print(f"[bench]     {members} process(es): {results[-1].rate:,.0f} sightings/s; {results[-1].detail}", flush=True)
        slowest = min(results, key=lambda run: run.rate)
        rate = slowest.rate
        plural = "es" if members > 1 else ""
        for number, run in enumerate(results, 1):
            section.note(f"Scale-out, {members} process{plural}" + (f", run {number} of {runs}" if runs > 1 else "")
                         + f": {run.rate:,.0f} sightings/s; {run.detail}.")
        section.note(_cpu_note(f"{members} process{plural}" + (", the slowest run" if runs > 1 else ""), slowest.cpu_s,
                               len(events), slowest.seconds, cores))
        held = f", lowest of {runs} consecutive runs" if runs > 1 else ""
        section.add(Figure(f"service, Kafka -> PostgreSQL, {members} service process{plural} in one consumer group "
                           f"(6 partitions, {len(events):,} sightings, {cores} cores{held})", rate,
                           "sightings/s", target=">= 10,000/s", met=rate >= 10_000))
    section.note("Scale-out figures: each process is a TrajectoryService with its own Kafka consumer, bus and "
                 "database pool, as `facetrail trajectory` runs; sightings are keyed by person, so each process owns "
                 "the people of its partitions. The processes join the group on an empty topic and hold; the bench "
                 "then publishes every sighting and lets them go, and times from the first record any of them "
                 "receives to the last step that stored one or the last alert's delivery, whichever is later (so "
                 "neither joining nor publishing is counted). The processes share the machine's cores with Kafka and PostgreSQL. "
                 "Before each run the bench ANALYZEs the emptied sightings, tracks and track_visits, so every run starts "
                 "with statistics that say those tables are empty while they fill. The statements before commit 000eaf3 "
                 "(a join on max() for tails, UPDATE ... FROM unnest) were planned as whole-table scans then: "
                 "6,012 sightings/s with 1 process and 7,396-10,963 with 2, against 24,426 and 40,135-44,289 "
                 "for the key probes, in runs minutes apart on 2026-12-03. "
                 f"Each run takes {len(events):,} sightings, so it lasts seconds: runs of 10,000 lasted under one, and a "
                 "single pause of the broker or the database decided their figure (12 such runs with 2 processes, "
                 "2026-12-03: 8,922 to 19,889 sightings/s).")


def _kafka_to_postgres(section: Section, env: dict[str, str], people: list[str], events: list[SightingEvent]) -> None:
    from facetrail.bus.kafka_bus import KafkaBus, ensure_topics

    try:
        ensure_topics(env["FACETRAIL_KAFKA_BOOTSTRAP"])  # the alerts' topic, as `facetrail trajectory` does at start
        db = Database(env["FACETRAIL_DATABASE_URL"])
        bus = KafkaBus(KafkaBusConfig(kind="kafka", bootstrap_servers=env["FACETRAIL_KAFKA_BOOTSTRAP"], client_id="facetrail-bench"))
    except Exception as exc:  # services stopped (scripts/services down): say so, keep the other figures
        section.note(f"Kafka -> PostgreSQL not measured: the services are not reachable ({exc.__class__.__name__}: "
                     f"{str(exc).splitlines()[0][:160]}); start them with `make services-up`.")
        return
    try:
        rate = _kafka_rate(env, db, bus, people, events)
        section.add(Figure(f"service, Kafka -> PostgreSQL ({len(events):,} sightings)", rate, "sightings/s",
                           target=">= 10,000/s", met=rate >= 10_000))
        _scale_out(section, env, db, bus, people, events)
        if rate < 10_000:
            profile = cProfile.Profile()
            _kafka_rate(env, db, bus, people, events, profile)
            section.note("What limits the service on Kafka -> PostgreSQL (cProfile of its main thread in a second, "
                         "profiled run; share of the service's time; the first poll includes joining the consumer group): "
                         + _shares(profile) + ".")
    except Exception as exc:  # services down or unreachable: say so, keep the other figures
        section.note(f"Kafka -> PostgreSQL not measured: {exc.__class__.__name__}: {str(exc)[:200]}")
    finally:
        try:
            bus.close()
        except Exception as exc:  # undelivered benchmark messages only
            section.note(f"Kafka bus close: {str(exc)[:160]}")
        db.dispose()
