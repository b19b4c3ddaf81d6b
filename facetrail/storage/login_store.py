"""Failed logins and lockouts (tables login_failures and login_lockouts), shared by every API process on one database."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from facetrail.storage.database import Database
from facetrail.storage.models import LoginFailureRow, LoginLockoutRow


def _lock(session: Session, key: str, until: float) -> None:
    lockout = session.get(LoginLockoutRow, key)
    if lockout is None:
        session.add(LoginLockoutRow(key=key, locked_until=until))
    else:
        lockout.locked_until = max(lockout.locked_until, until)
    session.execute(delete(LoginFailureRow).where(LoginFailureRow.key == key))


class LoginStore:
    def __init__(self, db: Database):
        self._db = db

    def locked_until(self, keys: list[str], now: float) -> float | None:
        """The latest end of a lockout of these keys still running at ``now``; None when none is."""
        with self._db.session() as session:
            return session.scalar(select(func.max(LoginLockoutRow.locked_until)).where(
                LoginLockoutRow.key.in_(keys), LoginLockoutRow.locked_until > now))

    def locked_keys(self, prefix: str, now: float) -> dict[str, float]:
        """Keys starting with ``prefix`` locked out at ``now`` (prefix removed), with when each lockout ends."""
        with self._db.session() as session:
            rows = session.execute(select(LoginLockoutRow.key, LoginLockoutRow.locked_until).where(
                LoginLockoutRow.key.startswith(prefix, autoescape=True), LoginLockoutRow.locked_until > now)).all()
        return {key.removeprefix(prefix): until for key, until in rows}

    def count_failure(self, limits: list[tuple[str, int]], now: float, window_s: float, lockout_s: float) -> None:
        """One failure against each key; a key reaching its limit within the window is locked for ``lockout_s``.

        One transaction; raises IntegrityError when another process created the same lockout row at the same moment."""
        with self._db.session() as session, session.begin():
            # Failures that left the window, and ended lockouts, go first: the tables hold only what still counts.
            session.execute(delete(LoginFailureRow).where(LoginFailureRow.failed_at <= now - window_s))
            session.execute(delete(LoginLockoutRow).where(LoginLockoutRow.locked_until <= now))
            for key, limit in limits:
                session.add(LoginFailureRow(key=key, failed_at=now))
                session.flush()
                recent = session.scalar(select(func.count()).select_from(LoginFailureRow).where(LoginFailureRow.key == key))
                if recent is not None and recent >= limit:
                    _lock(session, key, now + lockout_s)

    def clear(self, key: str) -> None:
        """Forget a key's failures and lockout."""
        with self._db.session() as session, session.begin():
            session.execute(delete(LoginFailureRow).where(LoginFailureRow.key == key))
            session.execute(delete(LoginLockoutRow).where(LoginLockoutRow.key == key))
