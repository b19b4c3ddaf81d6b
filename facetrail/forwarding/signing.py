"""Standard Webhooks signatures (https://www.standardwebhooks.com).

The signed content is ``<webhook-id>.<webhook-timestamp>.<body>``; ``webhook-signature`` holds one
``v1,<base64 HMAC-SHA256>`` per secret, space-separated, so a receiver keeps accepting while keys rotate.
A secret written ``whsec_<base64>`` (as Standard Webhooks libraries issue them) is its decoded bytes;
any other string is its UTF-8 bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence

TOLERANCE_S = 300


class SigningKeys:
    """The keys of one target. Never printed: repr and str name only how many there are."""

    def __init__(self, secrets: Sequence[str]):
        if not secrets or any(not secret for secret in secrets):
            raise ValueError("a webhook needs at least one non-empty secret")
        self._keys = tuple(_key(secret) for secret in secrets)

    def __repr__(self) -> str:
        return f"SigningKeys({len(self._keys)} key(s), hidden)"

    __str__ = __repr__

    def signature(self, message_id: str, timestamp: int, body: bytes) -> str:
        return " ".join(f"v1,{_sign(key, message_id, timestamp, body)}" for key in self._keys)


def _key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except ValueError:
            raise ValueError("a secret starting 'whsec_' must be base64 after it") from None
    return secret.encode()


def _sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    content = f"{message_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def headers(keys: SigningKeys, message_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if timestamp is None else timestamp
    return {"webhook-id": message_id, "webhook-timestamp": str(stamp),
            "webhook-signature": keys.signature(message_id, stamp, body), "content-type": "application/json"}


def verify(secret: str, received: Mapping[str, str], body: bytes, tolerance_s: int = TOLERANCE_S,
           now: float | None = None) -> bool:
    """What a receiver does: the timestamp is recent and one of the signatures is ours (constant-time compare)."""
    try:
        message_id, stamp = received["webhook-id"], int(received["webhook-timestamp"])
        signatures = received["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - stamp) > tolerance_s:
        return False
    expected = _sign(_key(secret), message_id, stamp, body)
    return any(hmac.compare_digest(expected, sig.removeprefix("v1,")) for sig in signatures if sig.startswith("v1,"))
