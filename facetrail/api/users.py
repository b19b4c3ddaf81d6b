"""Users for admins: add one with a role, disable or enable, reset a password; see last logins and lockouts.

Every change is audited; no password or hash ever leaves the server or reaches the log.
"""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Depends, HTTPException, Path, Response

from facetrail.api import views
from facetrail.api.context import ApiContext, api_context
from facetrail.api.schemas import NewUser, PasswordReset, Problem, UserList, UserOut, UserState
from facetrail.auth.accounts import AccountError
from facetrail.auth.dependencies import Principal, require_roles
from facetrail.auth.roles import ADMIN
from facetrail.storage.user_store import User

router = APIRouter(prefix=views.API, tags=["users"], responses={401: {"model": Problem}, 403: {"model": Problem}})
# A request this route refuses by its schema (the 422 before the handler runs) is audited like its other refusals.
AUDITED_REFUSALS = {("POST", f"{views.API}/users"): "user.add_refused"}
USERNAME = Path(pattern=r"^[a-z][a-z0-9._-]{1,62}$")


def _out(user: User, locked: dict[str, float]) -> UserOut:
    until = locked.get(user.username)
    return UserOut(username=user.username, role=user.role, created_at=user.created_at, disabled=user.disabled,
                   last_login_at=user.last_login_at,
                   locked_until=datetime.fromtimestamp(until, timezone.utc) if until is not None else None)


def _existing(ctx: ApiContext, username: str) -> User:
    user = ctx.accounts.user(username)
    if user is None:
        raise HTTPException(status_code=404, detail=f"no user named {username!r}")
    return user


@router.get("/users", response_model=UserList)
def list_users(principal: Principal = Depends(require_roles(ADMIN)), ctx: ApiContext = Depends(api_context)) -> UserList:
    users = ctx.accounts.users()
    locked = ctx.login_throttle.locked_accounts()
    ctx.audit.record(principal.username, "users.read", "", {"returned": len(users)})
    return UserList(items=[_out(u, locked) for u in users])


@router.post("/users", response_model=UserOut, status_code=201, responses={422: {"model": Problem}})
def add_user(body: NewUser, principal: Principal = Depends(require_roles(ADMIN)),
             ctx: ApiContext = Depends(api_context)) -> UserOut:
    try:
        user = ctx.accounts.create_user(body.username, body.role, body.password)
    except AccountError as exc:
        ctx.audit.record(principal.username, "user.add_refused", body.username, {"role": body.role, "reason": str(exc)})
        raise HTTPException(status_code=422, detail=str(exc)) from None
    ctx.audit.record(principal.username, "user.add", user.username, {"role": user.role})
    return _out(user, {})


@router.post("/users/{username}/state", response_model=UserOut, responses={404: {"model": Problem}, 409: {"model": Problem}})
def set_user_state(body: UserState, username: str = USERNAME, principal: Principal = Depends(require_roles(ADMIN)),
                   ctx: ApiContext = Depends(api_context)) -> UserOut:
    """Disable a user (their tokens are revoked at once) or enable them again."""
    _existing(ctx, username)
    if body.disabled and username == principal.username:
        raise HTTPException(status_code=409, detail="you cannot disable yourself: another admin must")
    try:
        ctx.accounts.set_disabled(username, body.disabled)
    except AccountError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    ctx.audit.record(principal.username, "user.disable" if body.disabled else "user.enable", username)
    return _out(_existing(ctx, username), ctx.login_throttle.locked_accounts())


@router.post("/users/{username}/password", status_code=204, responses={404: {"model": Problem}, 422: {"model": Problem}})
def reset_password(body: PasswordReset, username: str = USERNAME, principal: Principal = Depends(require_roles(ADMIN)),
                   ctx: ApiContext = Depends(api_context)) -> Response:
    """Set a new password (the strength rule applies); the user's tokens are revoked."""
    _existing(ctx, username)
    try:
        ctx.accounts.set_password(username, body.password)
    except AccountError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    ctx.audit.record(principal.username, "user.password_reset", username)
    return Response(status_code=204)
