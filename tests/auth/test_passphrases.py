"""Passphrases as long as the API's schema allows (1,000 characters) are accepted and log in; the message and the
schema agree (zxcvbn refuses more than 72 characters, so it judges a prefix)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from facetrail.api.schemas import NewUser
from facetrail.auth.accounts import Accounts
from facetrail.storage.user_store import UserStore

LONGEST = NewUser.model_fields["password"].metadata[-1].max_length


@pytest.fixture
def accounts(db):
    return Accounts(UserStore(db), token_ttl=timedelta(hours=1))


@pytest.mark.parametrize("length", [73, 80, LONGEST])
def test_a_long_passphrase_up_to_the_schemas_limit_is_accepted_and_logs_in(accounts, length):
    words = "violet tractor seventeen lanterns quietly orbit a marmalade glacier "
    passphrase = (words * (length // len(words) + 1))[:length]
    accounts.create_user("ana", "operator", passphrase)
    assert accounts.login("ana", passphrase) is not None
    assert accounts.login("ana", passphrase[:-1]) is None  # every character counts


def test_a_long_but_guessable_passphrase_is_still_refused(accounts):
    from facetrail.auth.accounts import AccountError

    with pytest.raises(AccountError, match="too easy to guess"):
        accounts.create_user("ana", "operator", "a" * 80)
