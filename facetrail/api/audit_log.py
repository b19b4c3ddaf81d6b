"""The audit log for auditors: filter and page through it, verify its chain, export it; and every entry's
accountability record (legal basis, image source, expiry), never a face. Each of these is itself audited."""

from __future__ import annotations

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
