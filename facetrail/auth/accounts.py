"""Creating users, logging in, and resolving bearer tokens.

Tokens are 256-bit random strings handed to the client once; the database
keeps only their SHA-256, with an expiry, so logging out or removing a user
revokes them at once and a stolen database copy holds no usable token.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from facetrail.auth.passwords import (
    check_strength,
    hash_password,
    needs_rehash,
    spend_verification_time,
    verify_password,
)
from facetrail.auth.roles import ROLES
from facetrail.storage.user_store import LastAdmin, User, UserExists, UserStore

USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{1,62}$")
DEFAULT_TOKEN_TTL = timedelta(hours=8)
# Live tokens one user may hold (browsers, scrapers); a new login beyond this revokes the oldest.
MAX_LIVE_TOKENS = 10


class AccountError(ValueError):
    """A user that cannot be created or removed; the message says why."""


@dataclass(frozen=True)
class IssuedToken:
    token: str
    username: str
    role: str
    expires_at: datetime


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    def __init__(self, store: UserStore, token_ttl: timedelta = DEFAULT_TOKEN_TTL):
        self._store = store
        self.token_ttl = token_ttl

    def create_user(self, username: str, role: str, password: str) -> User:
        if not USERNAME_PATTERN.match(username):
            raise AccountError("a username is 2-63 lower-case letters, digits, '.', '_' or '-', starting with a letter")
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        try:
            check_strength(password, user_inputs=(username,))
        except ValueError as exc:
            raise AccountError(str(exc)) from None
        try:
            return self._store.add(username, role, hash_password(password))
        except UserExists:
            raise AccountError(f"a user named {username!r} already exists") from None

    def users(self) -> list[User]:
        return self._store.all()

    def user(self, username: str) -> User | None:
        return self._store.get(username)

    def remove_user(self, username: str) -> bool:
        """False when there is no such user; AccountError for the last enabled admin."""
        try:
            return self._store.remove(username)
        except LastAdmin as exc:
            raise AccountError(str(exc)) from None

    def set_password(self, username: str, password: str) -> None:
        """A new password (the strength rule applies); every token the user holds is revoked."""
        if self._store.get(username) is None:
            raise AccountError(f"no user named {username!r}")
        try:
            check_strength(password, user_inputs=(username,))
        except ValueError as exc:
            raise AccountError(str(exc)) from None
        self._store.set_password_hash(username, hash_password(password))
        self._store.revoke_tokens_of(username)

    def set_disabled(self, username: str, disabled: bool) -> bool:
        """A disabled user can neither log in nor use a token issued before; False when there is no such user.
        AccountError when disabling the last enabled admin (so there is always one)."""
        try:
            return self._store.set_disabled(username, disabled)
        except LastAdmin as exc:
            raise AccountError(str(exc)) from None

    def login(self, username: str, password: str, now: datetime | None = None) -> IssuedToken | None:
        """A fresh token for the right password, None otherwise (same time either way)."""
        stored = self._store.password_hash(username)
        if stored is None:
            spend_verification_time(password)
            return None
        if not verify_password(stored, password):
            return None
        if needs_rehash(stored):
            self._store.set_password_hash(username, hash_password(password))
        user = self._store.get(username)
        if user.disabled:
            return None
        now = now or datetime.now(timezone.utc)
        self._store.note_login(username, now)
        token = secrets.token_urlsafe(32)
        expires_at = now + self.token_ttl
        self._store.add_token(token_digest(token), username, now, expires_at, keep=MAX_LIVE_TOKENS)
        return IssuedToken(token, username, user.role, expires_at)

    def authenticate(self, token: str, now: datetime | None = None) -> User | None:
        if not token or len(token) > 200:
            return None
        return self._store.user_for_token(token_digest(token), now or datetime.now(timezone.utc))

    def logout(self, token: str) -> None:
        self._store.revoke_token(token_digest(token))

    def purge_expired_tokens(self, now: datetime | None = None) -> int:
        return self._store.purge_expired_tokens(now or datetime.now(timezone.utc))
