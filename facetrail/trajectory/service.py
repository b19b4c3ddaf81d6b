"""The trajectory service: consume sightings, store them, re-stitch each affected person.

Offsets are committed only after the database write, and every write is
idempotent by event id, so a crash or a redelivery never duplicates a visit.
A message that is not a valid sighting goes to the dead-letter topic, wrapped
in a DeadLetter that says where it came from and why, and the service carries on.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Mapping

from pydantic import ValidationError

from facetrail.alerts import Alert, DeadLetter
from facetrail.bus.base import BusError, Consumer, EventBus, Record
from facetrail.bus.channels import ALERTS, DEAD_LETTERS, SIGHTINGS
from facetrail.config import TrajectoryConfig
from facetrail.events import SightingEvent
from facetrail.storage.sighting_store import SightingStore
from facetrail.storage.track_store import TrackStore, TracksChanged
from facetrail.tracks import CameraPlan, Track
from facetrail.trajectory.stitch import grow_tail, stitch

log = logging.getLogger(__name__)


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
    ):
        self._bus, self._consumer = bus, consumer
        self._sightings = sightings
        self._restitcher = Restitcher(sightings, tracks, positions, config)
        self._on_alert = on_alert
        self._alerts_in_flight = False  # the last batch's alerts, handed to the bus, delivery not yet confirmed

    def step(self, timeout_s: float = 1.0, max_records: int = 2000) -> StepResult:
        records = self._consumer.poll(timeout_s, max_records)
        result = StepResult(consumed=len(records))
        if not records:
            self.confirm_alerts()  # quiet: the last batch's alerts are delivered (or the outage logged) now
            return result
        events, result.dead_lettered = _parse(records, self._bus)
        if result.dead_lettered and not self._flushed("dead letters"):
            return result  # not committed: the batch comes again once the bus is back
        upserted = self._sightings.upsert_batch(events)
        result.stored = len(upserted.events)
        later: dict[str, list[SightingEvent]] = {}
        for event in upserted.events:
            if event.event_id not in upserted.rejected_ids:  # a reviewer's reject keeps it out of every track
                later.setdefault(event.entry_id, []).append(event)
        track_of = self._restitcher.stitch_in(later)
        result.restitched_entries = {event.entry_id for event in upserted.events}
        self._consumer.commit()
        self._announce([e for e in upserted.events if e.event_id in upserted.new_ids], track_of)
        return result

    def _flushed(self, what: str) -> bool:
        """Deliver what was published; during a bus outage say so and keep it queued."""
        try:
            self._bus.flush()
            return True
        except BusError as exc:
            log.warning("%s not yet delivered, kept queued: %s", what, exc)
            return False

    def _announce(self, new_events: list[SightingEvent], track_of: dict[str, str]) -> None:
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
        if self._on_alert:
            for alert in alerts:
                self._on_alert(alert)

    def confirm_alerts(self) -> None:
        """Wait for the alerts already handed to the bus; during an outage say so, and they stay queued there."""
        if self._alerts_in_flight:
            self._alerts_in_flight = not self._flushed("alerts")

    def close(self) -> None:
        """Stop: the last alerts leave, then the consumer leaves its group, so a partner takes these people over at once."""
        self.confirm_alerts()
        self._consumer.close()

    def drain(self, idle_s: float = 0.5) -> StepResult:
        """Consume until the topic is quiet for idle_s; returns the totals."""
        total = StepResult()
        while True:
            step = self.step(timeout_s=idle_s)
            if step.consumed == 0:
                return total
            total.consumed += step.consumed
            total.stored += step.stored
            total.dead_lettered += step.dead_lettered
            total.restitched_entries |= step.restitched_entries
