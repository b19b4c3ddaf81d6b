"""Logging in and out. Every attempt is audited; no password ever reaches a log."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from facetrail.api.context import ApiContext, api_context
from facetrail.api.schemas import LoginRequest, LoginResponse, Me, Problem
from facetrail.api.views import API
from facetrail.auth.dependencies import Principal, require_roles
from facetrail.auth.roles import ROLES

router = APIRouter(prefix=API, tags=["session"])
ANY_ROLE = require_roles(*ROLES)


@router.post("/login", response_model=LoginResponse, responses={401: {"model": Problem}, 429: {"model": Problem}})
def login(body: LoginRequest, request: Request, ctx: ApiContext = Depends(api_context)) -> LoginResponse:
    address = request.client.host if request.client else None
    client = {"client": address}
    wait_s = ctx.login_throttle.retry_after(body.username, address)
    if wait_s is not None:
        ctx.refusals.refused(body.username, "login.throttled", body.username, {**client, "status": 429}, route="login")
        raise HTTPException(status_code=429, detail=f"too many failed logins; try again in {wait_s} s",
                            headers={"Retry-After": str(wait_s)})
    issued = ctx.accounts.login(body.username, body.password)
    if issued is None:
        ctx.login_throttle.failed(body.username, address)
        ctx.audit.record(body.username, "login.failure", body.username, client)
        raise HTTPException(status_code=401, detail="wrong username or password")
    ctx.login_throttle.succeeded(issued.username)
    ctx.audit.record(issued.username, "login.success", issued.username, {**client, "role": issued.role})
    return LoginResponse(access_token=issued.token, expires_at=issued.expires_at, username=issued.username, role=issued.role)


@router.post("/logout", status_code=204, responses={401: {"model": Problem}})
def logout(principal: Principal = Depends(ANY_ROLE), ctx: ApiContext = Depends(api_context)) -> Response:
    ctx.accounts.logout(principal.token)
    ctx.audit.record(principal.username, "logout", principal.username)
    return Response(status_code=204)


@router.get("/me", response_model=Me, responses={401: {"model": Problem}})
def me(principal: Principal = Depends(ANY_ROLE)) -> Me:
    return Me(username=principal.username, role=principal.role)
