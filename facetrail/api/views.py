"""Stored values turned into response bodies (names and positions joined in, never embeddings)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from facetrail.api import schemas
from facetrail.api.context import ApiContext
from facetrail.events import SightingEvent
from facetrail.tracks import TrackRecord, VisitRecord
from facetrail.watchlist import EntryRecord

API = "/api/v1"


def camera_name(ctx: ApiContext, camera_id: str) -> str:
    camera = ctx.cameras.get(camera_id)
    return camera.name if camera else camera_id


def _fields(record: TrackRecord | VisitRecord) -> dict[str, Any]:
    # Every field of the read model goes into the body by name: the body forbids extra fields and requires its
    # own, so a field added to one and not the other fails on the first request rather than going missing.
    return {field.name: getattr(record, field.name) for field in fields(record)}


def visit(ctx: ApiContext, v: VisitRecord) -> schemas.Visit:
    camera = ctx.cameras.get(v.camera_id)
    return schemas.Visit(**_fields(v), camera_name=camera_name(ctx, v.camera_id),
                         x=camera.position.x if camera else None, y=camera.position.y if camera else None)


def track(ctx: ApiContext, t: TrackRecord, person: str) -> schemas.Track:
    return schemas.Track(**{**_fields(t), "visits": [visit(ctx, v) for v in t.visits]}, person=person)


def sighting(ctx: ApiContext, event: SightingEvent, status: str, person: str, has_photo: bool,
             confirmations: int = 0, decisions: list | None = None,
             rejected_example: str | None = None) -> schemas.Sighting:
    return schemas.Sighting(
        event_id=event.event_id, entry_id=event.entry_id, person=person, camera_id=event.camera_id,
        camera_name=camera_name(ctx, event.camera_id), first_seen=event.first_seen, last_seen=event.last_seen,
        score=event.score, quality=event.quality, status=status, confirmations=confirmations,
        required=ctx.review.required, final=event.final,
        evidence_url=f"{API}/sightings/{event.event_id}/evidence" if event.evidence_key else None,
        photo_url=f"{API}/people/{event.entry_id}/photos/0" if has_photo else None,
        decisions=[schemas.ReviewerDecision(reviewer=d.reviewer, decision=d.decision, decided_at=d.decided_at)
                   for d in decisions or []],
        rejected_example=rejected_example,
    )


def accountability(record: EntryRecord) -> dict:
    """The fields of an entry's accountability record (schemas.EntryAccountability): no threshold, no template."""
    return {"entry_id": record.entry_id, "display_name": record.display_name, "watchlist": record.watchlist,
            "legal_basis": record.legal_basis, "image_source": record.image_source, "enrolled_by": record.enrolled_by,
            "created_at": record.created_at, "expires_at": record.expires_at}


def person(record: EntryRecord, photos: int) -> schemas.Person:
    return schemas.Person(**accountability(record), photos=photos)
