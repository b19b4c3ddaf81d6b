"""Human confirmation of matches: a sighting stays a candidate until people confirm it.

With ``reviewers_required=2`` (the default, the two-person rule of EU AI Act
Art. 14(5)) a match is confirmed only once two *different* reviewers have
confirmed it; the same reviewer confirming again does not count twice. One
reject by any reviewer rejects it. Every decision is kept in the ``reviews``
table and in the audit log; a sighting already confirmed or rejected cannot be
decided again.

A rejected match can be kept as a "not this person" example for its entry, so
the matcher suppresses the same false match next time. No embedding ever
leaves the analysis worker, so the example is re-embedded here from the
sighting's evidence crop. The crop of a rejected match shows someone who is
not the listed person, so it is deleted once the example is taken.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Literal

import cv2
import numpy as np

from facetrail.alerts import Decision
from facetrail.analytics.face_models import FaceModels
from facetrail.audit.log import AuditLog
from facetrail.bus.base import BusError, EventBus
from facetrail.bus.channels import DECISIONS as DECISION_CHANNEL
from facetrail.config import ReviewConfig
from facetrail.storage.audit_store import AuditFilter
from facetrail.storage.database import Database
from facetrail.storage.objects import ObjectStore
from facetrail.storage.review_store import ReviewDecision, ReviewStore
from facetrail.storage.sighting_store import SightingStore
from facetrail.storage.watchlist_store import WatchlistStore

log = logging.getLogger(__name__)

DECISIONS = ("confirm", "reject")
# Crops are upscaled to at least this width before detection: HOG misses faces under ~80 px.
MIN_CROP_WIDTH_PX = 320


class ReviewError(Exception):
    """A decision that cannot be taken; the message says why."""


class UnknownSighting(ReviewError):
    """No sighting has this id."""


class AlreadyDecided(ReviewError):
    """The sighting is already confirmed or rejected: a decided sighting is not decided again."""


WITHDRAW_ACTION = "review.example.withdraw"


@dataclass(frozen=True)
class RejectedExample:
    """The 'not this person' example a rejection kept: "kept", "withdrawn" (by a second reviewer), or why not kept."""

    state: str
    rejected_by: str
    withdrawn_by: str | None
    example_id: int | None
    entry_id: str


@dataclass(frozen=True)
class ReviewOutcome:
    status: str  # "candidate" | "confirmed" | "rejected"
    confirmations: int
    required: int


__all__ = ["DECISIONS", "AlreadyDecided", "RejectedExample", "ReviewDecision", "ReviewDesk", "ReviewError", "ReviewOutcome",
           "UnknownSighting"]


class ReviewDesk:
    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        reviewers_required: int | None = None,
        rejected_examples: bool = True,
        *,
        objects: ObjectStore | None = None,
        face_models: Callable[[], FaceModels] | None = None,
        bus: EventBus | None = None,
    ):
        """`objects` is needed to keep rejected examples (their crops live there); `face_models` gives the
        detector and embedder the matcher uses, loaded on the first rejection (dlib's when not given); a
        settled decision is announced on `bus`'s decisions channel (forwarding follows it)."""
        self._db, self._audit = db, audit
        self._reviews, self._sightings = ReviewStore(db), SightingStore(db)
        self.required = ReviewConfig().reviewers_required if reviewers_required is None else int(reviewers_required)
        if self.required not in (1, 2):
            raise ValueError("reviewers_required must be 1 or 2")
        self.rejected_examples = rejected_examples
        self._objects, self._face_models = objects, face_models
        self._models: FaceModels | None = None
        self._bus = bus

    def decide(self, event_id: str, reviewer: str, decision: str, note: str = "") -> ReviewOutcome:
        reviewer, decision = (reviewer or "").strip(), (decision or "").strip().lower()
        if not reviewer:
            raise ReviewError("a reviewer must be named")
        if decision not in DECISIONS:
            raise ReviewError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
        outcome, entry_id, counted = self._apply(event_id, reviewer, decision, note)
        details = {"decision": decision, "counted": counted, "status": outcome.status,
                   "confirmations": outcome.confirmations, "required": outcome.required, "entry_id": entry_id,
                   # free text about a person stays in the erasable reviews table; the permanent log keeps its hash
                   "note_sha256": hashlib.sha256(note.encode()).hexdigest() if note else None}
        if outcome.status == "rejected" and counted:
            details["rejected_example"], details["rejected_example_id"] = self._keep_rejected_example(event_id, entry_id)
        self._audit.record(reviewer, "review.decision", event_id, details)
        self._announce(event_id, entry_id, outcome)
        return outcome

    def _announce(self, event_id: str, entry_id: str, outcome: ReviewOutcome) -> None:
        """The settled decision on the bus; the decision is stored and audited already, so a bus away only loses
        its announcement (logged), never the decision."""
        if self._bus is None or outcome.status not in ("confirmed", "rejected"):
            return
        status: Literal["confirmed", "rejected"] = "confirmed" if outcome.status == "confirmed" else "rejected"
        decision = Decision(event_id=event_id, entry_id=entry_id, status=status,
                            confirmations=outcome.confirmations, required=outcome.required,
                            decided_at=datetime.now(timezone.utc))
        try:
            DECISION_CHANNEL.publish(self._bus, decision)
            self._bus.flush(5.0)
        except BusError as exc:
            log.warning("decision on %s not announced on the bus: %s", event_id, exc)

    def example_of(self, event_id: str) -> RejectedExample | None:
        """What the rejection of a sighting kept as a 'not this person' example; None when it was not rejected."""
        found, _ = self._audit.search(AuditFilter(action="review.decision", subject=event_id), 10, 0)
        rejection = next((r for r in found if r.details.get("status") == "rejected" and "rejected_example" in r.details), None)
        if rejection is None:
            return None
        withdrawn, _ = self._audit.search(AuditFilter(action=WITHDRAW_ACTION, subject=event_id), 1, 0)
        state = "withdrawn" if withdrawn else str(rejection.details["rejected_example"])
        return RejectedExample(state, rejection.actor, withdrawn[0].actor if withdrawn else None,
                               rejection.details.get("rejected_example_id"), str(rejection.details.get("entry_id", "")))

    def withdraw_example(self, event_id: str, reviewer: str, reason: str) -> RejectedExample:
        """A second reviewer takes back the 'not this person' example a rejection kept: later true matches of the
        person are no longer suppressed by it. The sighting stays rejected (its crop is gone); the log keeps both."""
        reviewer, reason = (reviewer or "").strip(), (reason or "").strip()
        example = self.example_of(event_id)
        if example is None or example.state not in ("kept", "withdrawn"):
            raise ReviewError(f"sighting {event_id} kept no 'not this person' example, so there is nothing to withdraw")
        if example.state == "withdrawn":
            raise AlreadyDecided(f"the example kept from sighting {event_id} was already withdrawn by {example.withdrawn_by}")
        if reviewer == example.rejected_by:
            raise ReviewError("a second reviewer must withdraw the example: the person who rejected the match cannot")
        if not reason:
            raise ReviewError("say why the example is withdrawn")
        removed = example.example_id is not None and WatchlistStore(self._db).remove_rejected_example(
            example.entry_id, int(example.example_id))
        self._audit.record(reviewer, WITHDRAW_ACTION, event_id, {
            "entry_id": example.entry_id, "rejected_by": example.rejected_by, "example_removed": removed,
            "reason_sha256": hashlib.sha256(reason.encode()).hexdigest()})
        return RejectedExample("withdrawn", example.rejected_by, reviewer, example.example_id, example.entry_id)

    def outcome(self, event_id: str) -> ReviewOutcome:
        found = self._reviews.status(event_id)
        if found is None:
            raise UnknownSighting(f"no sighting with id {event_id!r}")
        status, confirmations = found
        return ReviewOutcome(status, confirmations, self.required)

    def confirmations_of(self, event_ids: list[str]) -> dict[str, int]:
        """Different people who confirmed each sighting so far (sightings nobody confirmed are left out)."""
        return self._reviews.confirmations_of(event_ids)

    def decisions_of(self, event_ids: list[str]) -> dict[str, list[ReviewDecision]]:
        """Who decided each sighting, how and when (sightings nobody decided are left out)."""
        return self._reviews.decisions_of(event_ids)

    def decisions(self, event_id: str) -> list[ReviewDecision]:
        return self._reviews.decisions(event_id)

    def _apply(self, event_id: str, reviewer: str, decision: str, note: str) -> tuple[ReviewOutcome, str, bool]:
        recorded = self._reviews.record(event_id, reviewer, decision, note, self.required)
        if recorded is None:
            raise UnknownSighting(f"no sighting with id {event_id!r}")
        if recorded.decided_before:
            raise AlreadyDecided(f"sighting {event_id} is already {recorded.status}; a decided sighting cannot be decided again")
        return ReviewOutcome(recorded.status, recorded.confirmations, self.required), recorded.entry_id, recorded.counted

    def _keep_rejected_example(self, event_id: str, entry_id: str) -> tuple[str, int | None]:
        """Re-embed the rejected crop as a 'not this person' example, then delete the crop; returns what happened
        and the example's id when one was kept."""
        stored = self._sightings.get(event_id)
        key = stored.event.evidence_key if stored else None
        if key is None or self._objects is None:
            return ("no evidence crop available" if key is None else "not kept: no object store given"), None
        try:
            crop = cv2.imdecode(np.frombuffer(self._objects.get(key), np.uint8), cv2.IMREAD_COLOR)
        except KeyError:
            return "no evidence crop available", None
        kept, example_id = "not kept: disabled", None
        if self.rejected_examples:
            embedding = self._embed_crop(crop) if crop is not None else None
            if embedding is None:
                kept = "not kept: no face found in the evidence crop"
            else:
                model = self._loaded().embedder.space.model
                example_id = WatchlistStore(self._db).add_rejected_example(entry_id, embedding, model=model)
                kept = "kept" if example_id is not None else "not kept: the entry was erased meanwhile"
        self._objects.delete(key)
        self._sightings.drop_evidence([event_id])
        return kept, example_id

    def _loaded(self) -> FaceModels:
        if self._models is None:
            if self._face_models is not None:
                self._models = self._face_models()
            else:
                from facetrail.analytics.detector import HogDetector
                from facetrail.analytics.dlib_embedder import DlibEmbedder

                self._models = FaceModels(HogDetector(detect_width=MIN_CROP_WIDTH_PX * 2, min_face_px=20), DlibEmbedder())
        return self._models

    def _embed_crop(self, crop: np.ndarray) -> np.ndarray | None:
        models = self._loaded()
        scale = max(1.0, MIN_CROP_WIDTH_PX / crop.shape[1])
        image = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC) if scale > 1 else crop
        faces = models.detector.detect(image)
        if not faces:
            return None
        main = max(faces, key=lambda d: d.w * d.h)  # the crop was cut around one face; it is the largest
        embedding: np.ndarray = models.embedder.embed(image, [main])[0]
        return embedding
