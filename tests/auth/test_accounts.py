"""Users, argon2 passwords and bearer tokens, on a real SQLite database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from facetrail.auth.accounts import AccountError, Accounts, token_digest
from facetrail.storage.models import ApiTokenRow, UserRow
from facetrail.storage.user_store import UserStore

PASSWORD = "correct horse battery staple"


@pytest.fixture
def accounts(db):
    return Accounts(UserStore(db), token_ttl=timedelta(hours=1))


def test_a_password_is_stored_only_as_an_argon2id_hash(accounts, db):
    accounts.create_user("ana", "operator", PASSWORD)
    with db.session() as session:
        stored = session.scalar(select(UserRow.password_hash))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_a_short_password_is_refused_with_a_clear_message(accounts):
    with pytest.raises(AccountError, match="at least 12 characters"):
        accounts.create_user("ana", "operator", "short")


@pytest.mark.parametrize("password", ["password1234", "123456789012", "qwertyuiop12"])
def test_a_common_or_guessable_password_is_refused_saying_why(accounts, password):
    with pytest.raises(AccountError, match=r"too easy to guess \((this is|it)"):
        accounts.create_user("ana", "operator", password)
    assert accounts.users() == []


def test_a_password_equal_to_the_user_name_is_refused(accounts):
    with pytest.raises(AccountError, match="built from the user name"):
        accounts.create_user("operator-ada-lovelace", "operator", "operator-ada-lovelace")


def test_an_unknown_role_is_refused(accounts):
    with pytest.raises(AccountError, match="role must be one of"):
        accounts.create_user("ana", "superuser", PASSWORD)


def test_a_second_user_with_the_same_name_is_refused(accounts):
    accounts.create_user("ana", "operator", PASSWORD)
    with pytest.raises(AccountError, match="already exists"):
        accounts.create_user("ana", "admin", PASSWORD)


def test_a_token_is_stored_only_as_its_sha256(accounts, db):
    accounts.create_user("ana", "operator", PASSWORD)
    issued = accounts.login("ana", PASSWORD)
    with db.session() as session:
        stored = session.scalars(select(ApiTokenRow.token_hash)).all()
    assert stored == [token_digest(issued.token)]
    assert accounts.authenticate(issued.token).role == "operator"


def test_a_token_stops_working_when_it_expires(accounts):
    accounts.create_user("ana", "operator", PASSWORD)
    issued = accounts.login("ana", PASSWORD, now=datetime.now(timezone.utc) - timedelta(hours=2))
    assert accounts.authenticate(issued.token) is None


def test_a_wrong_password_gives_no_token(accounts):
    accounts.create_user("ana", "operator", PASSWORD)
    assert accounts.login("ana", "wrong password here") is None and accounts.login("nobody", PASSWORD) is None


def test_a_fresh_database_has_no_users(accounts):
    assert accounts.users() == []
