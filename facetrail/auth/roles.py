"""The four roles and what each is for; admin may do everything."""

from __future__ import annotations

OPERATOR = "operator"  # tracks, sightings, alerts, cameras, evidence, review decisions
ENROLLER = "enroller"  # the watch-list
AUDITOR = "auditor"  # the audit log
ADMIN = "admin"  # everything

ROLES: tuple[str, ...] = (OPERATOR, ENROLLER, AUDITOR, ADMIN)


def role_allows(role: str, allowed: tuple[str, ...]) -> bool:
    return role == ADMIN or role in allowed
