"""Stored values turned into response bodies (names and positions joined in, never embeddings)."""

from __future__ import annotations

from facetrail.api import schemas
from facetrail.api.context import ApiContext
from facetrail.events import SightingEvent
from facetrail.storage.track_store import StoredTrack, StoredVisit
from facetrail.watchlist import EntryRecord

API = "/api/v1"


def camera_name(ctx: ApiContext, camera_id: str) -> str:
    camera = ctx.cameras.get(camera_id)
    return camera.name if camera else camera_id


def visit(ctx: ApiContext, v: StoredVisit) -> schemas.Visit:
    camera = ctx.cameras.get(v.camera_id)
    return schemas.Visit(
        camera_id=v.camera_id, camera_name=camera_name(ctx, v.camera_id),
        x=camera.position.x if camera else None, y=camera.position.y if camera else None,
        entered_at=v.entered_at, exited_at=v.exited_at, best_score=v.best_score, sightings=v.sightings,
        plausible_arrival=v.plausible_arrival, speed_mps=v.speed_mps,
    )


def track(ctx: ApiContext, t: StoredTrack, person: str) -> schemas.Track:
    return schemas.Track(track_id=t.track_id, entry_id=t.entry_id, person=person, started_at=t.started_at,
                         ended_at=t.ended_at, plausible=t.plausible, visits=[visit(ctx, v) for v in t.visits])


def sighting(ctx: ApiContext, event: SightingEvent, status: str, person: str, has_photo: bool,
             confirmations: int = 0) -> schemas.Sighting:
    return schemas.Sighting(
        event_id=event.event_id, entry_id=event.entry_id, person=person, camera_id=event.camera_id,
        camera_name=camera_name(ctx, event.camera_id), first_seen=event.first_seen, last_seen=event.last_seen,
        score=event.score, quality=event.quality, status=status, confirmations=confirmations,
        required=ctx.review.required, final=event.final,
        evidence_url=f"{API}/sightings/{event.event_id}/evidence" if event.evidence_key else None,
        photo_url=f"{API}/people/{event.entry_id}/photos/0" if has_photo else None,
    )


def accountability(record: EntryRecord) -> dict:
    """The fields of an entry's accountability record (schemas.EntryAccountability): no threshold, no template."""
    return {"entry_id": record.entry_id, "display_name": record.display_name, "watchlist": record.watchlist,
            "legal_basis": record.legal_basis, "image_source": record.image_source, "enrolled_by": record.enrolled_by,
            "created_at": record.created_at, "expires_at": record.expires_at}


def person(record: EntryRecord, photos: int) -> schemas.Person:
    return schemas.Person(**accountability(record), photos=photos)
