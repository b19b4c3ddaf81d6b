"""Names and free text that people type, checked before anything stores or prints them.

A name (a person's display name, or who someone claims to be) may hold no
control or format characters (terminal escapes, bidirectional overrides, line
breaks that forge a log line) and no markup (<, >, &). Other free text (legal
basis, image source, a reason) may hold no control characters. One message
says what was refused and why, with the value escaped so it prints safely.

Two spellings of one name (case, compatibility forms such as full-width or
no-break space, composed or decomposed accents, runs of spaces) share one
`name_key`: the watch-list holds a person once per list by that key.
"""

from __future__ import annotations

import unicodedata

MARKUP = frozenset("<>&")
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


class UnsafeText(ValueError):
    """Text refused for control characters or markup; the message names the field.

    `reason` says why without the value, for answers that must not echo it (the API)."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


def name_key(name: str) -> str:
    """How names are compared: NFKC, case folded, whitespace collapsed ('Joe\u00a0BIDEN ' is 'joe biden')."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.split())


def _has_control(value: str) -> bool:
    return any(unicodedata.category(c) in _CONTROL_CATEGORIES for c in value)


def checked_name(value: str, field: str) -> str:
    if _has_control(value) or MARKUP.intersection(value):
        why = "a name may not hold control characters or markup (<, >, &)"
        raise UnsafeText(f"{field} {value!r}: {why}", f"{field}: {why}")
    return value


def checked_text(value: str, field: str) -> str:
    if _has_control(value):
        why = "the text may not hold control characters (line breaks, escapes)"
        raise UnsafeText(f"{field} {value!r}: {why}", f"{field}: {why}")
    return value
