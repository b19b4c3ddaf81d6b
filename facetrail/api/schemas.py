"""Typed request and response bodies of every route. None of them can carry an embedding."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from facetrail.auth.roles import Role


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Problem(_Out):
    detail: str


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class LoginResponse(_Out):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    username: str
    role: str


class Me(_Out):
    username: str
    role: str


class Window(_Out):
    since: datetime
    until: datetime
    limit: int
    offset: int


class EntryAccountability(_Out):
    """What an auditor sees of a watch-list entry: why it is there and until when; never a face."""

    entry_id: str
    display_name: str
    watchlist: str
    legal_basis: str
    image_source: str
    enrolled_by: str
    created_at: datetime
    expires_at: datetime


class Person(EntryAccountability):
    """An entry as enrollers (and operators) see it: its accountability record and how many photos it has."""

    photos: int = Field(description="enrolled photos, served by /api/v1/people/{entry_id}/photos/{index}")


class PeoplePage(_Out):
    items: list[Person]
    limit: int
    offset: int
    total: int


class Erased(_Out):
    entry_id: str
    objects_deleted: int


class Visit(_Out):
    """A stored visit (facetrail.tracks.VisitRecord, every field of it) with its camera's name and place."""

    camera_id: str
    camera_name: str
    x: float | None = Field(description="camera position on the site plan, metres")
    y: float | None
    entered_at: datetime
    exited_at: datetime
    best_score: float
    sightings: int
    plausible_arrival: bool
    speed_mps: float | None


class Track(_Out):
    """A stored track (facetrail.tracks.TrackRecord, every field of it) with the person's display name."""

    track_id: str
    entry_id: str
    person: str
    started_at: datetime
    ended_at: datetime
    plausible: bool
    visits: list[Visit]


class TrackPage(_Out):
    items: list[Track]
    window: Window


class CameraVisit(_Out):
    entry_id: str
    person: str
    visit: Visit


class CameraVisitPage(_Out):
    items: list[CameraVisit]
    window: Window


class ReviewerDecision(_Out):
    reviewer: str
    decision: str
    decided_at: datetime


class Sighting(_Out):
    event_id: str
    entry_id: str
    person: str
    camera_id: str
    camera_name: str
    first_seen: datetime
    last_seen: datetime
    score: float
    quality: float
    status: Literal["candidate", "confirmed", "rejected"] | str
    confirmations: int = Field(description="different people who have confirmed it so far")
    required: int = Field(description="confirmations that make it confirmed (review.reviewers_required)")
    final: bool
    evidence_url: str | None = Field(description="the crop, served through the API to operators")
    photo_url: str | None = Field(description="the person's first enrolled photo")
    decisions: list[ReviewerDecision] = Field(default_factory=list, description="who decided it so far, how and when")
    rejected_example: str | None = Field(None, description="after a rejection: whether a 'not this person' example was "
                                                            "kept ('kept'), withdrawn by a second reviewer ('withdrawn'), or why not")


class SightingPage(_Out):
    items: list[Sighting]
    window: Window


class Alert(_Out):
    sighting: Sighting
    track_id: str | None


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["confirm", "reject"]
    note: str = Field("", max_length=2000)


class DecisionResponse(_Out):
    event_id: str
    status: str
    confirmations: int
    required: int
    decisions: list[ReviewerDecision] = Field(default_factory=list)
    rejected_example: str | None = None


class DecisionEvent(_Out):
    """Pushed on the live stream (event `decision`) to every console that may see the person, when anyone decides."""

    sighting: Sighting


class ExampleWithdrawal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class CameraHealthOut(_Out):
    state: str
    analysed_fps: float
    last_frame_at: datetime | None
    reconnects: int
    lag_s: float
    faces_detected: int
    matched_passes: int
    unmatched_passes: int
    reported_at: datetime


class Camera(_Out):
    camera_id: str
    name: str
    x: float
    y: float
    live: bool
    health: CameraHealthOut | None = Field(description="latest report; null when the camera never reported")


class CameraList(_Out):
    site: str
    items: list[Camera]


class OperatingPointOut(_Out):
    target_fpir: float = Field(description="the per-search false-positive identification rate asked for")
    per_search_fpir: float | None
    per_pass_fpir: float | None = Field(description="measured on the cohort walked through as live passes")
    expected_fnir: float | None = Field(description="null when the cohort held no mated photos of listed people")
    cohort_searches: int
    calibrated_at: datetime
    calibrated_by: str


class MatchingOut(_Out):
    """The rule that decides a match now; no embedding or template is ever part of it."""

    model: str = Field(description="the embedding model whose templates are matched")
    threshold: float
    max_distance_ratio: float
    source: str = Field(description="where the rule comes from: config, a calibration, or the model's default")
    operating_point: OperatingPointOut | None = Field(description="null until `facetrail calibrate` ran for this model")
    keep_rejected_examples: bool = Field(True, description="whether a reject keeps a 'not this person' example (review.keep_rejected_examples)")


# --- enrolment in the browser -------------------------------------------------------------------------------------

class FaceBox(_Out):
    x: int
    y: int
    w: int
    h: int


class FoundFace(_Out):
    index: int
    box: FaceBox = Field(description="in pixels of the uploaded photo")
    problems: list[str] = Field(description="why it would make a poor template (too small, blurred, turned away, eyes not visible); "
                                            "empty when it can be enrolled")
    main: bool = Field(description="the face `facetrail watchlist import` would enrol without --face")


class UploadedPhoto(_Out):
    """A photo held for enrolment (in memory, for its uploader, until saved or expired); nothing of it is stored."""

    upload_id: str
    width: int
    height: int
    faces: list[FoundFace]
    expires_in_s: int = Field(description="the photo is forgotten after this unless the entry is saved")


class ChosenFace(BaseModel):
    model_config = ConfigDict(extra="forbid")

    upload_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    face: int = Field(ge=0, le=1000, description="index of the person's face among the photo's faces")


class NewPerson(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str = Field(min_length=1, max_length=200)
    watchlist: str = Field("default", pattern=r"^[A-Za-z0-9_.-]{1,100}$")
    legal_basis: str = Field(min_length=1, max_length=2000, description="legal basis or case reference")
    image_source: str = Field(min_length=1, max_length=2000, description="where the photos came from")
    expires_in_days: int = Field(ge=1, le=3650, description="capped by watchlist.max_expiry_days")
    photos: list[ChosenFace] = Field(min_length=1, max_length=12)


class AddedPhotos(BaseModel):
    model_config = ConfigDict(extra="forbid")

    photos: list[ChosenFace] = Field(min_length=1, max_length=12)


class ExpiryChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_in_days: int = Field(ge=1, le=3650, description="from now; capped by watchlist.max_expiry_days")
    reason: str = Field(min_length=1, max_length=2000)


# --- the audit log in the browser ---------------------------------------------------------------------------------

class AuditEntry(_Out):
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any] = Field(description="what the action recorded: ids, counts, hashes of free text; never a face")
    hash: str


class AuditPage(_Out):
    items: list[AuditEntry] = Field(description="newest first")
    limit: int
    offset: int
    total: int = Field(description="records matching the filter")


class ChainCheck(_Out):
    intact: bool
    records: int
    first_bad_seq: int | None
    reason: str
    problems: list[str] = Field(description="every broken record, as 'seq N: why'")


class EntryAccountabilityPage(_Out):
    items: list[EntryAccountability]
    limit: int
    offset: int
    total: int


# --- admin: users and the site plan --------------------------------------------------------------------------------

class PersonFound(_Out):
    """A watch-list entry an auditor looked up: a current one with its name, an erased one by id and date only."""

    entry_id: str
    state: Literal["current", "erased"]
    display_name: str | None = Field(description="None once erased: the log outlives the person's name")
    watchlist: str | None
    enrolled_at: datetime | None
    erased_at: datetime | None
    erased_how: str | None = Field(description="watchlist.remove, watchlist.erase (data-subject erasure) or watchlist.expire")


class PeopleFound(_Out):
    items: list[PersonFound]


class UserOut(_Out):
    username: str
    role: str
    created_at: datetime
    disabled: bool
    last_login_at: datetime | None
    locked_until: datetime | None = Field(description="set while failed logins lock the account out")


class UserList(_Out):
    items: list[UserOut]


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=63)
    role: Role
    password: str = Field(min_length=1, max_length=1000, description="12 characters or more, not guessable (zxcvbn)")


class UserState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    disabled: bool


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=1000, description="12 characters or more, not guessable (zxcvbn)")


class SitePlanOut(_Out):
    media_type: str
    width: int = Field(description="pixels")
    height: int
    width_m: float = Field(description="metres the image spans left to right; its top-left corner is x=0, y=0")
    height_m: float = Field(description="metres it spans top to bottom")
