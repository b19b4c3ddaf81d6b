"""Standard Webhooks signatures: what facetrail sends is what a receiver's published check accepts."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from facetrail.forwarding.signing import SigningKeys, headers, verify

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
BODY = b'{"type":"sighting.candidate"}'


def test_the_signature_is_base64_hmac_sha256_over_id_timestamp_and_body():
    sent = headers(SigningKeys([SECRET]), "msg_1", BODY, timestamp=1_700_000_000)
    expected = hmac.new(b"0123456789abcdef0123456789abcdef", b"msg_1.1700000000." + BODY, hashlib.sha256).digest()
    assert sent["webhook-signature"] == "v1," + base64.b64encode(expected).decode()
    assert (sent["webhook-id"], sent["webhook-timestamp"]) == ("msg_1", "1700000000")


def test_a_receiver_accepts_a_fresh_signed_message():
    assert verify(SECRET, headers(SigningKeys([SECRET]), "msg_1", BODY), BODY)


def test_a_changed_body_fails_verification():
    assert not verify(SECRET, headers(SigningKeys([SECRET]), "msg_1", BODY), BODY + b" ")


def test_a_message_older_than_five_minutes_fails_verification():
    sent = headers(SigningKeys([SECRET]), "msg_1", BODY, timestamp=1_700_000_000)
    assert not verify(SECRET, sent, BODY, now=1_700_000_000 + 301)


def test_every_key_signs_during_a_rotation_so_either_secret_verifies():
    sent = headers(SigningKeys([SECRET, "older-secret"]), "msg_1", BODY)
    assert len(sent["webhook-signature"].split()) == 2
    assert verify(SECRET, sent, BODY) and verify("older-secret", sent, BODY) and not verify("a third", sent, BODY)


def test_the_keys_never_print_their_secrets():
    keys = SigningKeys([SECRET])
    assert SECRET not in repr(keys) and SECRET not in str(keys) and "hidden" in repr(keys)


def test_a_whsec_secret_that_is_not_base64_is_refused_without_quoting_it():
    with pytest.raises(ValueError) as refused:
        SigningKeys(["whsec_!!not base64!!"])
    assert "!!not base64!!" not in str(refused.value)
