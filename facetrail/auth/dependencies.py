"""FastAPI guards: every route but login names the roles it admits with ``require_roles``.

    @router.get("/audit", response_model=...)
    def audit(principal: Principal = Depends(require_roles("auditor"))): ...

Admins pass every check. The app must set ``app.state.accounts`` (an Accounts).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from facetrail.auth.roles import ROLES, admitted, role_allows

_bearer = HTTPBearer(auto_error=False, description="token from POST /api/v1/login")


@dataclass(frozen=True)
class Principal:
    username: str
    role: str
    token: str


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def current_principal(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Principal:
    if credentials is None:
        raise _unauthorised("missing bearer token: log in with POST /api/v1/login and send 'Authorization: Bearer <token>'")
    user = request.app.state.accounts.authenticate(credentials.credentials)
    if user is None:
        raise _unauthorised("invalid or expired token: log in again")
    principal = Principal(user.username, user.role, credentials.credentials)
    request.state.principal = principal  # so that a refusal further on is audited under this name
    return principal


def require_roles(*roles: str):
    """A dependency admitting the given roles (and admin); it returns the Principal."""
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown role(s) {unknown}; roles are {', '.join(ROLES)}")
    allowed = tuple(roles)

    def check(principal: Principal = Depends(current_principal)) -> Principal:
        if not role_allows(principal.role, allowed):
            needed = ", ".join(admitted(allowed))
            raise HTTPException(status_code=403, detail=f"role '{principal.role}' may not do this; it needs one of: {needed}")
        return principal

    check.allowed_roles = admitted(allowed)  # read by the route-table tests
    return check
