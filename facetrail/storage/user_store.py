"""API users and their bearer tokens (kept only as hashes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from facetrail.storage.database import Database
from facetrail.storage.models import ApiTokenRow, UserRow


class UserExists(Exception):
    pass


@dataclass(frozen=True)
class User:
    username: str
    role: str
    created_at: datetime
    disabled: bool = False
    last_login_at: datetime | None = None


def _user(row: UserRow) -> User:
    return User(row.username, row.role, row.created_at, bool(row.disabled), row.last_login_at)


class UserStore:
    def __init__(self, db: Database):
        self._db = db

    def add(self, username: str, role: str, password_hash: str, now: datetime | None = None) -> User:
        row = UserRow(username=username, role=role, password_hash=password_hash, created_at=now or datetime.now(timezone.utc))
        try:
            with self._db.session() as session, session.begin():
                session.add(row)
        except IntegrityError:
            raise UserExists(username) from None
        return _user(row)

    def get(self, username: str) -> User | None:
        with self._db.session() as session:
            row = session.get(UserRow, username)
            return _user(row) if row else None

    def password_hash(self, username: str) -> str | None:
        with self._db.session() as session:
            return session.scalar(select(UserRow.password_hash).where(UserRow.username == username))

    def set_password_hash(self, username: str, password_hash: str) -> None:
        with self._db.session() as session, session.begin():
            row = session.get(UserRow, username)
            if row is not None:
                row.password_hash = password_hash

    def set_disabled(self, username: str, disabled: bool) -> bool:
        """Disable (every token revoked at once) or enable a user; False when there is no such user."""
        with self._db.session() as session, session.begin():
            row = session.get(UserRow, username)
            if row is None:
                return False
            row.disabled = disabled
            if disabled:
                session.execute(delete(ApiTokenRow).where(ApiTokenRow.username == username))
            return True

    def revoke_tokens_of(self, username: str) -> None:
        with self._db.session() as session, session.begin():
            session.execute(delete(ApiTokenRow).where(ApiTokenRow.username == username))

    def note_login(self, username: str, at: datetime) -> None:
        with self._db.session() as session, session.begin():
            row = session.get(UserRow, username)
            if row is not None:
                row.last_login_at = at

    def all(self) -> list[User]:
        with self._db.session() as session:
            return [_user(r) for r in session.scalars(select(UserRow).order_by(UserRow.username)).all()]

    def remove(self, username: str) -> bool:
        """Delete a user and every token they hold."""
        with self._db.session() as session, session.begin():
            session.execute(delete(ApiTokenRow).where(ApiTokenRow.username == username))
            return session.execute(delete(UserRow).where(UserRow.username == username)).rowcount > 0

    def add_token(self, token_hash: str, username: str, issued_at: datetime, expires_at: datetime) -> None:
        with self._db.session() as session, session.begin():
            session.add(ApiTokenRow(token_hash=token_hash, username=username, issued_at=issued_at, expires_at=expires_at))

    def user_for_token(self, token_hash: str, now: datetime) -> User | None:
        """The holder of an unexpired token, or None."""
        query = (
            select(UserRow)
            .join(ApiTokenRow, ApiTokenRow.username == UserRow.username)
            .where(ApiTokenRow.token_hash == token_hash, ApiTokenRow.expires_at > now, UserRow.disabled.is_(False))
        )
        with self._db.session() as session:
            row = session.scalar(query)
            return _user(row) if row else None

    def revoke_token(self, token_hash: str) -> None:
        with self._db.session() as session, session.begin():
            session.execute(delete(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash))

    def purge_expired_tokens(self, now: datetime) -> int:
        with self._db.session() as session, session.begin():
            return session.execute(delete(ApiTokenRow).where(ApiTokenRow.expires_at <= now)).rowcount
