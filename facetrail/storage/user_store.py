"""API users and their bearer tokens (kept only as hashes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from facetrail.storage.database import Database
from facetrail.storage.models import ApiTokenRow, UserRow


class UserExists(Exception):
    pass


class LastAdmin(Exception):
    """The change would leave no enabled admin."""


ADMIN_ROLE = "admin"


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
        """Disable (every token revoked at once) or enable a user; False when there is no such user.

        LastAdmin when it is the last enabled admin: checked by the update itself, in its transaction."""
        with self._db.session() as session, session.begin():
            _lock_admins(session)
            changed = session.execute(update(UserRow).where(UserRow.username == username, *(
                [_not_the_last_admin(username)] if disabled else [])).values(disabled=disabled)).rowcount
            if not changed:
                return _refuse_if_last_admin(session, username)
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
        """Delete a user and every token they hold; LastAdmin for the last enabled admin (checked as it deletes)."""
        with self._db.session() as session, session.begin():
            _lock_admins(session)
            removed = session.execute(delete(UserRow).where(UserRow.username == username,
                                                            _not_the_last_admin(username))).rowcount
            if not removed:
                return _refuse_if_last_admin(session, username)
            session.execute(delete(ApiTokenRow).where(ApiTokenRow.username == username))
            return True

    def add_token(self, token_hash: str, username: str, issued_at: datetime, expires_at: datetime,
                  keep: int | None = None) -> int:
        """Store a token; with `keep`, the user's oldest tokens beyond the newest `keep` are revoked (returns how many)."""
        with self._db.session() as session, session.begin():
            session.add(ApiTokenRow(token_hash=token_hash, username=username, issued_at=issued_at, expires_at=expires_at))
            if keep is None:
                return 0
            session.flush()
            newest = (select(ApiTokenRow.token_hash).where(ApiTokenRow.username == username)
                      .order_by(ApiTokenRow.issued_at.desc(), ApiTokenRow.token_hash).limit(keep))
            return session.execute(delete(ApiTokenRow).where(ApiTokenRow.username == username,
                                                             ApiTokenRow.token_hash.not_in(newest.scalar_subquery()))
                                   ).rowcount

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


def _lock_admins(session: Session) -> None:
    """PostgreSQL: two admins changing each other at once wait for one another here, so the second change sees the
    first. (SQLite takes its write lock at the guarded statement, which is the transaction's first.)"""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(UserRow.username).where(UserRow.role == ADMIN_ROLE).with_for_update())


def _not_the_last_admin(username: str):
    """A condition on the row of `username`: it is no enabled admin, or another enabled admin remains."""
    others = (select(func.count()).select_from(UserRow)
              .where(UserRow.role == ADMIN_ROLE, UserRow.disabled.is_(False), UserRow.username != username)
              .scalar_subquery())
    return or_(UserRow.role != ADMIN_ROLE, UserRow.disabled.is_(True), and_(others > 0))


def _refuse_if_last_admin(session: Session, username: str) -> bool:
    """After a guarded change touched no row: False when there is no such user, LastAdmin when the guard held it."""
    if session.get(UserRow, username) is None:
        return False
    raise LastAdmin(f"{username!r} is the last enabled admin: add or enable another admin first")
