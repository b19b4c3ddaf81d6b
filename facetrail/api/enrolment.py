"""Enrolling in the browser: upload a photo, see its faces and their verdicts, pick the person's face, save the entry.

The verdicts and the template come from the same code as `facetrail watchlist import`
(analytics.enrolment), so the browser and the command line refuse and accept the same
faces. An uploaded photo waits in memory (photo_shelf) until the entry is saved; only the
saved entry reaches storage, as a crop around the chosen face.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from datetime import datetime, timezone

from fastapi import APIRouter, Depends, HTTPException, Path, Response

from facetrail.analytics.enrolment import (
    EnrolmentError,
    EnrolmentFace,
    FaceVerdict,
    PointedFace,
    enrolment_face,
    faces_in_photo,
)
from facetrail.api import views
from facetrail.api.context import ApiContext, api_context
from facetrail.api.images import IMAGE_BODY, CheckedImage, uploaded_image
from facetrail.api.people import ENTRY_ID, visible_entry
from facetrail.api.photo_shelf import HeldPhoto, ShelfFull
from facetrail.api.schemas import (
    AddedPhotos,
    ChosenFace,
    ExpiryChange,
    FaceBox,
    FoundFace,
    NewPerson,
    Person,
    Problem,
    UploadedPhoto,
)
from facetrail.auth.dependencies import Principal, require_roles
from facetrail.auth.roles import ENROLLER
from facetrail.accountability.enrolment import add_photos, check_accountability, expiry_within, save_entry
from facetrail.names import UnsafeText, checked_name, checked_text
from facetrail.storage.watchlist_store import EntryExists
from facetrail.watchlist import EntryRecord

T = TypeVar("T")
router = APIRouter(prefix=views.API, tags=["watch-list"], responses={401: {"model": Problem}, 403: {"model": Problem}})
UPLOAD_PATH = f"{views.API}/enrolment/photos"
# Routes run on a thread pool; one detector and embedder are shared, and OpenCV's networks are not safe to call from
# two threads at once, so enrolment uses them one request at a time, on one thread of its own: detection's working
# memory then stays in one allocator arena instead of one per request thread (16 concurrent maximal uploads kept
# ~290 MB more resident when each request thread detected for itself).
_MODELS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="enrolment-models")


def _with_models(work: Callable[..., T], *args: Any) -> T:
    return _MODELS.submit(work, *args).result()


def _unprocessable(message: str) -> HTTPException:
    return HTTPException(status_code=422, detail=message)


@router.post("/enrolment/photos", response_model=UploadedPhoto, status_code=201, openapi_extra=IMAGE_BODY,
             responses={413: {"model": Problem}, 415: {"model": Problem}, 429: {"model": Problem}})
def upload_photo(principal: Principal = Depends(require_roles(ENROLLER)), image: CheckedImage = Depends(uploaded_image),
                 ctx: ApiContext = Depends(api_context)) -> UploadedPhoto:
    """The photo's faces with their verdicts. The photo is held in memory for its uploader until the entry is saved.

    (The caller's role is checked first, so nobody else gets an image parsed.)"""
    try:
        with ctx.photo_shelf.room_for(principal.username):  # a full shelf refuses before anything is decoded
            faces = _faces_of(ctx, image)
            held = ctx.photo_shelf.put(principal.username, image, faces)
    except ShelfFull as exc:
        raise HTTPException(status_code=429, detail=str(exc)) from None
    ctx.audit.record(principal.username, "watchlist.photo.analyse", "", {
        "faces": len(faces), "usable": sum(1 for f in faces if not f.problems)})
    return UploadedPhoto(upload_id=held.upload_id, width=image.width, height=image.height,
                         faces=[_found(i, f) for i, f in enumerate(faces)], expires_in_s=int(ctx.photo_shelf.ttl_s))


def _faces_of(ctx: ApiContext, image: CheckedImage) -> tuple[FaceVerdict, ...]:
    try:
        with ctx.decode_budget.holding(image.decode_cost):  # decoded pixels live only inside the budget
            return tuple(_with_models(faces_in_photo, image.pixels(), ctx.face_models.detector))
    except EnrolmentError as exc:
        raise _unprocessable(str(exc)) from None


def _found(index: int, verdict) -> FoundFace:
    face = verdict.face
    return FoundFace(index=index, box=FaceBox(x=face.x, y=face.y, w=face.w, h=face.h), problems=list(verdict.problems),
                     main=verdict.main)


@router.delete("/enrolment/photos/{upload_id}", status_code=204)
def forget_photo(upload_id: str = Path(pattern=r"^[0-9a-f]{32}$"), principal: Principal = Depends(require_roles(ENROLLER)),
                 ctx: ApiContext = Depends(api_context)) -> Response:
    """Forget an uploaded photo now (it is forgotten anyway when its time is up)."""
    held = ctx.photo_shelf.get(principal.username, upload_id) is not None
    ctx.photo_shelf.discard(principal.username, [upload_id])
    ctx.audit.record(principal.username, "watchlist.photo.forget", "", {"upload_id": upload_id, "held": held})
    return Response(status_code=204)


def _checked(body: NewPerson) -> NewPerson:
    try:
        checked_name(body.display_name, "display_name")
        checked_text(body.legal_basis, "legal_basis")
        checked_text(body.image_source, "image_source")
    except UnsafeText as exc:
        raise _unprocessable(exc.reason) from None  # never the value: the README promises no 422 echoes one
    if not body.display_name.strip():
        raise _unprocessable("display_name: give the person's name")
    return body


def _already_enrolled(watchlist: str) -> HTTPException:
    return HTTPException(status_code=409, detail=f"an entry of that name is already on watch-list {watchlist!r} (names are "
                                                 "compared ignoring case, accents' encoding and spacing): erase it first "
                                                 "to enrol again")


def _check_watchlist(ctx: ApiContext, principal: Principal, name: str) -> None:
    lists = ctx.config.watchlist.lists
    if lists and name not in lists:
        raise _unprocessable(f"watchlist {name!r} is not a configured watch-list; configured: {', '.join(sorted(lists))}")
    if lists and not ctx.config.watchlist.allows(name, principal.role):
        raise HTTPException(status_code=403, detail=f"role '{principal.role}' may not manage watch-list {name!r}")


def _largest_decode(ctx: ApiContext, principal: Principal, photos: list[ChosenFace]) -> int:
    held = [ctx.photo_shelf.get(principal.username, pick.upload_id) for pick in photos]
    return max((h.image.decode_cost for h in held if h is not None), default=0)


def _chosen_faces(ctx: ApiContext, principal: Principal, photos: list[ChosenFace]) -> list[EnrolmentFace]:
    models = ctx.face_models
    chosen = []
    for number, pick in enumerate(photos, start=1):
        held: HeldPhoto | None = ctx.photo_shelf.get(principal.username, pick.upload_id)
        if held is None:
            raise HTTPException(status_code=404, detail=f"photo {number} is no longer waiting (uploads are forgotten "
                                                        f"after {int(ctx.photo_shelf.ttl_s // 60)} minutes): upload it again")
        if pick.face >= len(held.faces):
            raise _unprocessable(f"photo {number} shows {len(held.faces)} face(s); face {pick.face} is not one of them")
        box = held.faces[pick.face].face
        try:
            chosen.append(enrolment_face(held.image.pixels(), models.detector, models.embedder,
                                         pick=PointedFace(box.x, box.y, box.w, box.h)))
        except EnrolmentError as exc:
            raise EnrolmentError(f"photo {number}: {exc}") from None
    return chosen


@router.post("/people", response_model=Person, status_code=201,
             responses={404: {"model": Problem}, 409: {"model": Problem}, 422: {"model": Problem}})
def create_person(body: NewPerson, principal: Principal = Depends(require_roles(ENROLLER)),
                  ctx: ApiContext = Depends(api_context)) -> Person:
    """Enrol a person from uploaded photos, each with the face the enroller picked; all photos or none."""
    body = _checked(body)
    _check_watchlist(ctx, principal, body.watchlist)
    if ctx.watchlist.find_by_name(body.display_name, body.watchlist):
        raise _already_enrolled(body.watchlist)
    now = datetime.now(timezone.utc)
    try:
        expires_at = expiry_within(body.expires_in_days, ctx.config.watchlist.max_expiry_days, now)
        check_accountability(body.legal_basis, body.image_source, expires_at, now)
        # photos are decoded one by one, inside the budget, on the models' thread
        with ctx.decode_budget.holding(_largest_decode(ctx, principal, body.photos)):
            chosen = _with_models(_chosen_faces, ctx, principal, body.photos)
    except EnrolmentError as exc:
        ctx.audit.record(principal.username, "watchlist.enrol_refused", "", {"watchlist": body.watchlist, "reason": str(exc)})
        raise _unprocessable(str(exc)) from None
    record = EntryRecord(entry_id=uuid.uuid4().hex, display_name=" ".join(body.display_name.split()), watchlist=body.watchlist,
                         legal_basis=body.legal_basis.strip(), image_source=body.image_source.strip(),
                         enrolled_by=principal.username, created_at=now, expires_at=expires_at)
    try:
        done = save_entry(record, chosen, ctx.face_models.embedder.space.model, ctx.watchlist, ctx.objects)
    except EntryExists:  # enrolled by a concurrent request since the check above
        raise _already_enrolled(body.watchlist) from None
    ctx.photo_shelf.discard(principal.username, [p.upload_id for p in body.photos])
    # As the command line records it: by entry id, the image source as a hash (it may name the person).
    ctx.audit.record(principal.username, "watchlist.enrol", record.entry_id, {
        "watchlist": record.watchlist, "legal_basis": record.legal_basis,
        "image_source_sha256": hashlib.sha256(record.image_source.encode()).hexdigest(),
        "photos": done.photos, "expires_at": record.expires_at, "watchlist_version": ctx.watchlist.version(),
        "model": done.model, "face": "pointed", "faces_picked": [p.face for p in body.photos], "via": "api"})
    return views.person(record, done.photos)


@router.post("/people/{entry_id}/photos", response_model=Person,
             responses={404: {"model": Problem}, 422: {"model": Problem}})
def add_entry_photos(body: AddedPhotos, entry_id: str = ENTRY_ID, principal: Principal = Depends(require_roles(ENROLLER)),
                     ctx: ApiContext = Depends(api_context)) -> Person:
    """Add uploaded photos (each with the face the enroller picked) to an existing entry; all of them or none."""
    record = visible_entry(ctx, principal, entry_id)
    try:
        with ctx.decode_budget.holding(_largest_decode(ctx, principal, body.photos)):
            chosen = _with_models(_chosen_faces, ctx, principal, body.photos)
        photos = add_photos(entry_id, chosen, ctx.face_models.embedder.space.model, ctx.watchlist, ctx.objects)
    except EnrolmentError as exc:
        raise _unprocessable(str(exc)) from None
    ctx.photo_shelf.discard(principal.username, [p.upload_id for p in body.photos])
    ctx.audit.record(principal.username, "watchlist.photos.add", entry_id, {
        "added": len(chosen), "photos": photos, "model": ctx.face_models.embedder.space.model,
        "faces_picked": [p.face for p in body.photos], "watchlist_version": ctx.watchlist.version(), "via": "api"})
    return views.person(record, photos)


@router.post("/people/{entry_id}/expiry", response_model=Person, responses={404: {"model": Problem}})
def change_expiry(body: ExpiryChange, entry_id: str = ENTRY_ID, principal: Principal = Depends(require_roles(ENROLLER)),
                  ctx: ApiContext = Depends(api_context)) -> Person:
    """Set an entry's expiry to this many days from now (at most watchlist.max_expiry_days); the reason is required."""
    record = visible_entry(ctx, principal, entry_id)
    try:
        checked_text(body.reason, "reason")
        expires_at = expiry_within(body.expires_in_days, ctx.config.watchlist.max_expiry_days)
    except UnsafeText as exc:
        raise _unprocessable(exc.reason) from None
    except EnrolmentError as exc:
        raise _unprocessable(str(exc)) from None
    if not body.reason.strip():
        raise _unprocessable("reason: say why the expiry changes")
    ctx.watchlist.set_expiry(entry_id, expires_at)
    ctx.audit.record(principal.username, "watchlist.expiry", entry_id, {
        "from": record.expires_at.isoformat(), "to": expires_at.isoformat(), "reason_sha256": hashlib.sha256(body.reason.encode()).hexdigest()})
    changed = ctx.watchlist.get(entry_id) or record
    return views.person(changed, len(ctx.watchlist.photo_keys(entry_id)))
