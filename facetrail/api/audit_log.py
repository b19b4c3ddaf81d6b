"""The audit log for auditors: filter and page through it, verify its chain, export it; and every entry's
accountability record (legal basis, image source, expiry), never a face. Each of these is itself audited."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime, timezone
from typing import Literal

from fastapi import APIRouter, Depends, Query, Response

from facetrail.api import views
from facetrail.api.context import ApiContext, api_context
from facetrail.api.schemas import (
    AuditEntry,
    AuditPage,
    ChainCheck,
    EntryAccountability,
    EntryAccountabilityPage,
    PeopleFound,
    PersonFound,
    Problem,
)
from facetrail.api.windows import aware, page
from facetrail.audit.export import write_export
from facetrail.auth.dependencies import Principal, require_roles
from facetrail.auth.roles import AUDITOR
from facetrail.storage.audit_store import AuditFilter

router = APIRouter(prefix=views.API, tags=["audit"], responses={401: {"model": Problem}, 403: {"model": Problem}})
NAME = r"^[A-Za-z0-9._@-]{1,100}$"
EXPORT_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv"}


def audit_filter(actor: str | None = Query(None, pattern=NAME), action: str | None = Query(None, pattern=r"^[a-z_.]{1,64}$"),
                 subject: str | None = Query(None, max_length=200), since: datetime | None = None,
                 until: datetime | None = None) -> AuditFilter:
    return AuditFilter(actor, action, subject, aware(since, "since"), aware(until, "until"))


def _asked(audit: AuditFilter) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in audit.__dict__.items() if v is not None}


@router.get("/audit", response_model=AuditPage)
def read_audit_log(audit: AuditFilter = Depends(audit_filter), paging: tuple[int, int] = Depends(page),
                   principal: Principal = Depends(require_roles(AUDITOR)), ctx: ApiContext = Depends(api_context)) -> AuditPage:
    limit, offset = paging
    found, total = ctx.audit.search(audit, limit, offset)
    ctx.audit.record(principal.username, "audit.read", "", {**_asked(audit), "limit": limit, "offset": offset,
                                                           "returned": len(found)})
    items = [AuditEntry(seq=r.seq, at=r.at, actor=r.actor, action=r.action, subject=r.subject, details=r.details,
                        hash=r.hash) for r in found]
    return AuditPage(items=items, limit=limit, offset=offset, total=total)


@router.get("/audit/verify", response_model=ChainCheck)
def verify_audit_log(principal: Principal = Depends(require_roles(AUDITOR)),
                     ctx: ApiContext = Depends(api_context)) -> ChainCheck:
    """`facetrail audit verify`: every record's hash and link, and that the chain reaches its head anchor."""
    verdict = ctx.audit.verify()
    ctx.audit.record(principal.username, "audit.verify", "", {"intact": verdict.ok, "records": verdict.records})
    problems = [f"seq {seq}: {why}" if seq is not None else why for seq, why in verdict.problems]
    return ChainCheck(intact=verdict.ok, records=verdict.records, first_bad_seq=verdict.first_bad_seq,
                      reason=verdict.reason, problems=problems)


@router.get("/audit/export", response_class=Response,
            responses={200: {"content": {media: {} for media in EXPORT_TYPES.values()}}})
def export_audit_log(fmt: Literal["jsonl", "csv"] = Query("jsonl", alias="format"), since: datetime | None = None,
                     principal: Principal = Depends(require_roles(AUDITOR)), ctx: ApiContext = Depends(api_context)) -> Response:
    """`facetrail audit export`: every record with its hashes, so the chain can be checked without this server.
    The export is recorded before it is written, so it is in the file itself."""
    since = aware(since, "since")
    ctx.audit.record(principal.username, "audit.export", "", {"format": fmt, "since": since.isoformat() if since else None,
                                                              "via": "api"})
    out = io.StringIO()
    write_export(ctx.audit.iter_all(), fmt, out, since)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Response(content=out.getvalue(), media_type=EXPORT_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="facetrail-audit-{stamp}.{fmt}"'})


@router.get("/audit/entries", response_model=EntryAccountabilityPage)
def entries_for_audit(paging: tuple[int, int] = Depends(page), principal: Principal = Depends(require_roles(AUDITOR)),
                      ctx: ApiContext = Depends(api_context)) -> EntryAccountabilityPage:
    """Every watch-list entry's accountability record (all lists: auditors oversee them all); no photo, no face."""
    limit, offset = paging
    records = sorted(ctx.watchlist.records(), key=lambda r: (r.expires_at, r.entry_id))
    chosen = records[offset:offset + limit]
    ctx.audit.record(principal.username, "watchlist.read", "", {"limit": limit, "offset": offset,
                                                                "returned": len(chosen), "view": "accountability"})
    items = [EntryAccountability(**views.accountability(r)) for r in chosen]
    return EntryAccountabilityPage(items=items, limit=limit, offset=offset, total=len(records))


ERASURES = ("watchlist.remove", "watchlist.erase", "watchlist.expire")


@router.get("/audit/people", response_model=PeopleFound)
def find_person(q: str = Query("", max_length=200, description="part of a name (any case), or the start of an entry id"),
                principal: Principal = Depends(require_roles(AUDITOR)), ctx: ApiContext = Depends(api_context)) -> PeopleFound:
    """Links names to the entry ids the log holds. Current entries match by name or id; erased ones by id only and
    without a name ("erased on DATE"): the log never keeps the person's name. An empty query lists erased entries."""
    wanted = q.strip().lower()
    current = [r for r in ctx.watchlist.records()
               if wanted and (wanted in r.display_name.lower() or r.entry_id.startswith(wanted))]
    found = [PersonFound(entry_id=r.entry_id, state="current", display_name=r.display_name, watchlist=r.watchlist,
                         enrolled_at=r.created_at, erased_at=None, erased_how=None) for r in current]
    live = {r.entry_id for r in ctx.watchlist.records()}
    for record in _erasures(ctx):
        if record.subject not in live and record.subject.startswith(wanted):
            found.append(PersonFound(entry_id=record.subject, state="erased", display_name=None,
                                     watchlist=record.details.get("watchlist"), enrolled_at=None, erased_at=record.at,
                                     erased_how=record.action))
            live.add(record.subject)  # one row per erased entry
    ctx.audit.record(principal.username, "audit.person_lookup", "", {"query_sha256": _digest(q), "returned": len(found)})
    return PeopleFound(items=found[:200])


def _erasures(ctx: ApiContext) -> list:
    records = []
    for action in ERASURES:
        records.extend(ctx.audit.search(AuditFilter(action=action), 500, 0)[0])
    return sorted(records, key=lambda r: r.seq, reverse=True)


def _digest(text: str) -> str | None:
    # a looked-up name is about a person: the permanent log keeps its hash, as it does review notes
    return hashlib.sha256(text.encode()).hexdigest() if text else None
