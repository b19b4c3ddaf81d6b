"""Password hashing with argon2id, and a strength check; plain passwords are never stored or logged.

Strength is judged by zxcvbn (Dropbox's estimator, maintained on PyPI), not a
hand-written list: it knows common passwords, keyboard walks, sequences,
dictionary words with substitutions and dates, and is told the user name, so
``password1234``, ``qwertyuiop12`` or a password equal to the name are refused.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 12
# zxcvbn's scale is 0-4; 3 means about 10^8 guesses or more ("safely unguessable" against online attack and slow hashes).
MIN_STRENGTH_SCORE = 3
# zxcvbn's matching grows steeply with length and it refuses more than 72 characters; a prefix this long already
# decides whether a password is guessable. The whole password is hashed (argon2 has no length limit, unlike bcrypt's
# 72 bytes), so passphrases up to the API schema's 1,000 characters work and every character counts.
STRENGTH_CHECKED_CHARS = 72
_HASHER = PasswordHasher()


class WeakPassword(ValueError):
    pass


def check_strength(password: str, user_inputs: tuple[str, ...] = ()) -> None:
    """Refuse a short or guessable password, saying why; `user_inputs` (the user name) count as guessable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    from zxcvbn import zxcvbn  # its word lists (~13 MB) load where passwords are set, not in every worker process

    verdict = zxcvbn(password[:STRENGTH_CHECKED_CHARS], user_inputs=[u for u in user_inputs if u])
    if verdict["score"] >= MIN_STRENGTH_SCORE:
        return
    if any(m.get("dictionary_name") == "user_inputs" for m in verdict["sequence"]):
        why = "it is built from the user name"
    else:
        why = (verdict["feedback"]["warning"] or "it follows a pattern that is quick to guess").rstrip(".").lower()
    hint = " ".join(verdict["feedback"]["suggestions"])
    raise WeakPassword(f"the password is too easy to guess ({why}; strength {verdict['score']} of 4, "
                       f"{MIN_STRENGTH_SCORE} needed, judged by zxcvbn). {hint}".strip())


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return _HASHER.hash("decoy password that matches nothing")


def spend_verification_time(password: str) -> None:
    """Verify against a decoy so an unknown username takes as long as a wrong password."""
    verify_password(_decoy_hash(), password)
