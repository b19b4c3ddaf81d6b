"""The four roles and what each is for; admin may do everything. Defined here once: the config, the API and
the command line take them from here."""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["operator", "enroller", "auditor", "admin"]
OPERATOR: Role = "operator"  # tracks, sightings, alerts, cameras, evidence, review decisions
ENROLLER: Role = "enroller"  # the watch-list
AUDITOR: Role = "auditor"  # the audit log
ADMIN: Role = "admin"  # everything

ROLES: tuple[str, ...] = get_args(Role)


def sees_everything(role: str) -> bool:
    """Admins may do and see everything, every watch-list included."""
    return role == ADMIN


def role_allows(role: str, allowed: tuple[str, ...]) -> bool:
    return sees_everything(role) or role in allowed


def admitted(allowed: tuple[str, ...]) -> tuple[str, ...]:
    """Every role a check naming ``allowed`` lets through, in name order (``allowed`` and whoever sees everything)."""
    return tuple(sorted(role for role in ROLES if role_allows(role, allowed)))
