"""The trajectory service: consume sightings, store them, re-stitch each affected person.

Offsets are committed only after the database write, and every write is
idempotent by event id, so a crash or a redelivery never duplicates a visit.
A message that is not a valid sighting goes to the dead-letter topic, wrapped
in a DeadLetter that says where it came from and why, and the service carries on.
"""

from __future__ import annotations

import gc
import logging
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Mapping

from pydantic import ValidationError

from facetrail.alerts import Alert, DeadLetter
from facetrail.bus.base import BusError, Consumer, EventBus, LagReporting, Record
from facetrail.bus.channels import ALERTS, DEAD_LETTERS, SIGHTINGS
from facetrail.config import RetentionConfig, TrajectoryConfig
from facetrail.events import SightingEvent
from facetrail.storage.alert_outbox import AlertOutbox
from facetrail.storage.erased_entries import ErasedEntries
from facetrail.storage.reachability import DATABASE_AWAY, DatabaseLink, is_unreachable
from facetrail.storage.sighting_store import SightingStore
from facetrail.storage.track_store import TrackStore, TracksChanged
from facetrail.tracks import CameraPlan, Track
from facetrail.trajectory.admission import admit
from facetrail.trajectory.stitch import grow_tail, stitch

log = logging.getLogger(__name__)

LEFTOVERS_EVERY_S = 30.0
DRAIN_STALL_S = 60.0
LEFTOVER_AGE = timedelta(seconds=60)
"""An owed alert this old is taken for one a stopped process left (a live batch's settle within seconds)."""
_WHY = {"erased": "of erased entries", "not_enrolled": "of entries not on the watch-list"}


def _refusal(exc: ValueError) -> str:
    """What was wrong with a message, by field and kind of fault: its values may be anything, so none are quoted."""
    if isinstance(exc, ValidationError):
        faults = [f"{'.'.join(str(p) for p in e['loc']) or '(message)'}: {e['type']}" for e in exc.errors()]
        return f"not a valid sighting v1 ({'; '.join(faults[:10])}{'; ...' if len(faults) > 10 else ''})"
    return "not a valid sighting v1 (not JSON)"


@dataclass
class StepResult:
    consumed: int = 0
    stored: int = 0
    dead_lettered: int = 0
    restitched_entries: set[str] = field(default_factory=set)
    refused: Counter[str] = field(default_factory=Counter)
    """Sightings not stored, by reason: 'past_retention', 'erased', 'not_enrolled'."""
    held: bool = False
    """The batch could not be written (the database is away): it is kept and tried again, nothing new is read."""


def _parse(records: list[Record], bus: EventBus) -> tuple[list[SightingEvent], int]:
    events, dead = [], 0
    for record in records:
        try:
            events.append(SIGHTINGS.decode(record.value))
        except (ValidationError, ValueError) as exc:
            dead += 1
            # The raw value is kept on the dead-letter topic for inspection; the log names only the offset.
            log.warning("dead-lettered malformed sighting at offset %s (%s errors)", record.offset,
                        exc.error_count() if isinstance(exc, ValidationError) else 1)
            DEAD_LETTERS.publish(bus, DeadLetter.of(record, _refusal(exc)))
    return events, dead


@contextmanager
def settled_heap() -> Iterator[None]:
    """While inside, what the process had built before is left out of every garbage collection (gc.freeze).

    Wrap a long-running consumer's loop in it once the consumer is set up. Its heap is then mostly
    imported modules, SQLAlchemy metadata and pydantic schemas, which live as long as the process; each
    full collection walked all of it again (about 0.1 s, every few batches: a fifth of the trajectory
    service's CPU, Kafka -> PostgreSQL). Objects made inside are collected as before. A collection runs
    first, so no garbage is frozen; on leaving, the frozen objects are handed back to the collector, so a
    caller that goes on (a test running the command in-process) loses nothing.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class Restitcher:
    """Re-stitches one person's tracks around a moment, from the stored sightings."""

    def __init__(self, sightings: SightingStore, tracks: TrackStore, positions: Mapping[str, tuple[float, float]],
                 config: TrajectoryConfig):
        self._sightings, self._tracks = sightings, tracks
        # Checked once here, not by every stitch call (one a person a step).
        self._positions = positions if isinstance(positions, CameraPlan) else CameraPlan(positions)
        self._config = config

    def restitch(self, entry_id: str, first_seen: datetime) -> dict[str, str]:
        """Replace the tracks a sighting starting at first_seen can touch; returns event id -> track id."""
        return self.restitch_many({entry_id: first_seen})

    def restitch_many(self, earliest: dict[str, datetime],
                      stored: Mapping[str, SightingEvent] | None = None) -> dict[str, str]:
        """Re-stitch several people at once, each from their earliest new sighting, in a few queries.

        A sighting can only join tracks ending within the gap before it, so each person's window
        starts at the earliest track that reaches that far (or the gap itself); tracks before it stay.
        ``stored`` (by event id) are events just written, which need not be read back.
        """
        if not earliest:
            return {}
        gap = timedelta(seconds=self._config.new_track_gap_s)
        spans = self._tracks.spans(set(earliest))
        since, stale = {}, set()
        for entry_id, first_seen in earliest.items():
            bound = first_seen - gap
            touching = [(track_id, started) for track_id, started, ended in spans[entry_id] if ended >= bound]
            since[entry_id] = min([bound, *(started for _, started in touching)])
            stale |= {track_id for track_id, _, ended in spans[entry_id] if ended >= since[entry_id]}
        tracks = self._stitch(self._sightings.for_entries(since, stored))
        self._tracks.swap(stale, tracks)
        return _track_of(tracks)

    def stitch_in(self, later: dict[str, list[SightingEvent]]) -> dict[str, str]:
        """Add each person's newly stored passes to their tracks; returns event id -> track id.

        A person without a track gets their first tracks from these passes alone, nothing read back: every
        stored pass a reviewer has not rejected is in a track (this service stitches a batch before it commits
        its offsets), so they have no other. Passes that all start after the person's last track has ended
        (the live case) grow that track from its last visit alone, without reading the track back; any other
        person is re-stitched around their earliest pass.
        """
        if not later:
            return {}
        tails = self._tracks.tail_states(set(later))
        untracked = [event for entry_id, events in later.items() if entry_id not in tails for event in events]
        following = self._stitch(untracked) if untracked else []
        grown, around = [], {}
        for entry_id, tail in tails.items():
            events = later[entry_id]
            result = None if tail is None else grow_tail(
                entry_id, tail, events, self._positions,
                new_track_gap_s=self._config.new_track_gap_s, max_speed_mps=self._config.max_speed_mps)
            if result is None:
                around[entry_id] = min(event.first_seen for event in events)
                continue
            if result[0] is not None:
                grown.append(result[0])
            following += result[1]
        try:
            self._tracks.grow(grown, following)
        except TracksChanged:  # a track grown here was deleted meanwhile (retention): nothing was written
            return self.restitch_many({entry_id: min(event.first_seen for event in events)
                                       for entry_id, events in later.items()},
                                      {event.event_id: event for events in later.values() for event in events})
        stored = {event.event_id: event for entry_id in around for event in later[entry_id]}
        track_of = {event_id: tail.track_id for tail in grown for event_id in tail.event_ids}
        return {**track_of, **_track_of(following), **self.restitch_many(around, stored)}

    def _stitch(self, sightings: list[SightingEvent]) -> list[Track]:
        return stitch(sightings, self._positions, new_track_gap_s=self._config.new_track_gap_s,
                      max_speed_mps=self._config.max_speed_mps)


def _track_of(tracks: list[Track]) -> dict[str, str]:
    return {event_id: track.track_id for track in tracks for visit in track.visits for event_id in visit.event_ids}


@dataclass(frozen=True)
class Guards:
    """What the service checks beyond the stores' own rules; each optional (unit tests leave them out)."""

    retention: RetentionConfig | None = None
    """Sightings past the retention cutoff are refused (trajectory.admission)."""
    erased: ErasedEntries | None = None
    """Tell a refused sighting of an erased entry from one of an entry never enrolled (counted apart)."""
    outbox: AlertOutbox | None = None
    """Alerts come from the durable outbox and are settled once acknowledged; without it, from new sightings."""


class TrajectoryService:
    def __init__(
        self,
        bus: EventBus,
        consumer: Consumer,
        sightings: SightingStore,
        tracks: TrackStore,
        positions: Mapping[str, tuple[float, float]],
        config: TrajectoryConfig,
        on_alert: Callable[[Alert], None] | None = None,
        guards: Guards = Guards(),
    ):
        self._bus, self._consumer = bus, consumer
        self._sightings, self._tracks = sightings, tracks
        self._restitcher = Restitcher(sightings, tracks, positions, config)
        self._on_alert = on_alert
        self._guards = guards
        self._alerts_in_flight = False  # the last batch's alerts, handed to the bus, delivery not yet confirmed
        self._in_flight_ids: list[str] = []  # their event ids, settled in the outbox once delivered
        self._owed_in_flight: set[str] = set()  # every outbox id handed to the bus by this process, not yet settled
        self._leftovers_at = time.monotonic()  # the outbox is searched for alerts left behind from the first quiet step
        self.refused: Counter[str] = Counter()
        """Sightings refused since start, by reason (StepResult.refused)."""
        self.database = DatabaseLink("trajectory service")
        self._held: list[Record] | None = None

    def step(self, timeout_s: float = 1.0, max_records: int = 2000) -> StepResult:
        if self._held is not None:
            if not self.database.due():
                time.sleep(min(timeout_s, self.database.wait_s()))
                return StepResult(held=True)
            records = self._held
        else:
            records = self._consumer.poll(timeout_s, max_records)
        try:
            result = self._step(records)
        except DATABASE_AWAY as exc:
            if not is_unreachable(exc):
                raise
            self.database.lost(exc)
            self._held = records or None
            return StepResult(held=bool(records))
        self._held = None
        self.database.back()
        return result

    def _step(self, records: list[Record]) -> StepResult:
        result = StepResult(consumed=len(records))
        if not records:
            self.confirm_alerts()  # quiet: the last batch's alerts are delivered (or the outage logged) now
            self._resend_leftovers()
            return result
        events, result.dead_lettered = _parse(records, self._bus)
        if result.dead_lettered and not self._flushed("dead letters"):
            return result  # not committed: the batch comes again once the bus is back
        events = self._admitted(events, result)
        upserted = self._sightings.upsert_batch(events)
        self._count_absent(upserted.absent_entries, result)
        result.stored = len(upserted.events)
        later: dict[str, list[SightingEvent]] = {}
        for event in upserted.events:
            if event.event_id not in upserted.rejected_ids:  # a reviewer's reject keeps it out of every track
                later.setdefault(event.entry_id, []).append(event)
        track_of = self._restitcher.stitch_in(later)
        result.restitched_entries = {event.entry_id for event in upserted.events}
        # Owed: the new ones, and any stored earlier whose alert never went (a crash before this batch's commit).
        outbox = self._guards.outbox
        owed: set[str] | frozenset[str] = upserted.new_ids
        if outbox is not None:  # the new ones are owed by construction: only the others are looked up
            owed = owed | outbox.owed_among([e.event_id for e in upserted.events if e.event_id not in owed])
        self._consumer.commit()
        self._announce([e for e in upserted.events if e.event_id in owed and e.event_id not in self._owed_in_flight],
                       track_of)
        return result

    def _admitted(self, events: list[SightingEvent], result: StepResult) -> list[SightingEvent]:
        """The events retention has not removed (a replay of the bus must not bring them back)."""
        if self._guards.retention is None:
            return events
        admitted = admit(events, self._guards.retention, datetime.now(timezone.utc))
        if admitted.past_retention:
            result.refused["past_retention"] += admitted.past_retention
            self.refused["past_retention"] += admitted.past_retention
            log.warning("refused %d sighting(s) older than the retention limit (%d refused so far): "
                        "retention has deleted them; a replay of the bus does not bring them back",
                        admitted.past_retention, self.refused["past_retention"])
        return admitted.events

    def _count_absent(self, absent: Counter[str], result: StepResult) -> None:
        """Sightings of entries no longer (or never) on the watch-list, counted and said once a batch."""
        if not absent:
            return
        erased = self._guards.erased.erased_among(set(absent)) if self._guards.erased is not None else set()
        counts = Counter({"erased": sum(n for entry, n in absent.items() if entry in erased),
                          "not_enrolled": sum(n for entry, n in absent.items() if entry not in erased)})
        counts = +counts
        result.refused.update(counts)
        self.refused.update(counts)
        log.warning("refused %s (so far: %s)", ", ".join(f"{n} sighting(s) {_WHY[k]}" for k, n in counts.items()),
                    ", ".join(f"{k} {n}" for k, n in sorted(self.refused.items())))

    def _flushed(self, what: str) -> bool:
        """Deliver what was published; during a bus outage say so and keep it queued."""
        try:
            self._bus.flush()
            return True
        except BusError as exc:
            log.warning("%s not yet delivered, kept queued: %s", what, exc)
            return False

    def _announce(self, new_events: list[SightingEvent], track_of: Mapping[str, str | None]) -> None:
        if not new_events:
            return
        alerts = [Alert(sighting=event, track_id=track_of.get(event.event_id)) for event in new_events]
        # The previous batch's alerts had this whole step to go out: waiting for them here rather than for
        # this batch's lets a Kafka sender deliver while the next batch is polled and written (the bench
        # measured +15-25 % on Kafka -> PostgreSQL) and still holds at most one batch undelivered.
        self.confirm_alerts()
        # One transaction (or one hand-over to the Kafka sender) for the batch, not one per alert.
        try:
            ALERTS.publish_many(self._bus, alerts)
        except BusError as exc:
            # The sightings are stored and committed, so they wait in the review queue; only the live push is lost.
            log.warning("%d alert(s) not published, the bus refused them: %s", len(alerts), exc)
            return
        self._alerts_in_flight = True
        ids = [event.event_id for event in new_events]
        self._in_flight_ids += ids
        self._owed_in_flight.update(ids)
        if self._on_alert:
            for alert in alerts:
                self._on_alert(alert)

    def confirm_alerts(self) -> None:
        """Wait for the alerts already handed to the bus; during an outage say so, and they stay queued there.

        Delivered alerts are then settled in the outbox (a database outage leaves them owed: sent again later,
        and dropped as repeats by event id downstream)."""
        if self._alerts_in_flight:
            self._alerts_in_flight = not self._flushed("alerts")
        if not self._alerts_in_flight and self._in_flight_ids:
            delivered = self._in_flight_ids
            if self._guards.outbox is not None:
                self._guards.outbox.settle(delivered)
            self._in_flight_ids = []
            self._owed_in_flight.difference_update(delivered)

    def _resend_leftovers(self) -> None:
        """Alerts owed for a while and not in flight here: left by a process that stopped before the bus
        acknowledged them (a crash after the batch's commit). Sent again, at least once."""
        outbox = self._guards.outbox
        if outbox is None or time.monotonic() < self._leftovers_at:
            return
        self._leftovers_at = time.monotonic() + LEFTOVERS_EVERY_S
        owed = [event_id for event_id in outbox.queued_before(datetime.now(timezone.utc) - LEFTOVER_AGE)
                if event_id not in self._owed_in_flight]
        if not owed:
            return
        stored = {event_id: self._sightings.get(event_id) for event_id in owed}
        gone = [event_id for event_id, sighting in stored.items() if sighting is None]
        outbox.settle(gone)  # erased or swept since: nothing left to announce
        events = [sighting.event for sighting in stored.values() if sighting is not None]
        log.info("sending %d alert(s) left owed by an earlier run", len(events))
        self._announce(events, {event.event_id: self._tracks.track_covering(event.entry_id, event.first_seen)
                                for event in events})

    def close(self) -> None:
        """Stop: the last alerts leave, then the consumer leaves its group, so a partner takes these people over at once."""
        self.confirm_alerts()
        self._consumer.close()

    def drain(self, idle_s: float = 0.5, stall_s: float = DRAIN_STALL_S) -> StepResult:
        """Consume until nothing waits: the topic quiet for idle_s and, where the consumer can tell, its group's
        lag 0 (a member still waiting for its partitions, after a quick restart, is not done). Raises BusError
        when the lag stays above 0 with nothing arriving for ``stall_s``. Returns the totals."""
        total = StepResult()
        quiet_since: float | None = None
        while True:
            step = self.step(timeout_s=idle_s)
            total.refused.update(step.refused)
            if step.consumed or step.held:
                quiet_since = None
            else:
                lag = self._consumer.lag() if isinstance(self._consumer, LagReporting) else 0
                if lag == 0:
                    return total
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > stall_s:
                    raise BusError(f"drain stopped with {'an unknown number of' if lag is None else lag} sighting(s) "
                                   f"not consumed: no partition was handed to this member or nothing arrived "
                                   f"for {stall_s:.0f}s")
                continue
            total.consumed += step.consumed
            total.stored += step.stored
            total.dead_lettered += step.dead_lettered
            total.restitched_entries |= step.restitched_entries
