"""Names and free text that people type, checked before anything stores or prints them.

A name (a person's display name, or who someone claims to be) may hold no
control or format characters (terminal escapes, bidirectional overrides, line
breaks that forge a log line) and no markup (<, >, &). Other free text (legal
basis, image source, a reason) may hold no control characters. One message
says what was refused and why, with the value escaped so it prints safely.
"""

from __future__ import annotations

import unicodedata

MARKUP = frozenset("<>&")
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


class UnsafeText(ValueError):
    """Text refused for control characters or markup; the message names the field."""


def _has_control(value: str) -> bool:
    return any(unicodedata.category(c) in _CONTROL_CATEGORIES for c in value)


def checked_name(value: str, field: str) -> str:
    if _has_control(value) or MARKUP.intersection(value):
        raise UnsafeText(f"{field} {value!r}: a name may not hold control characters or markup (<, >, &)")
    return value


def checked_text(value: str, field: str) -> str:
    if _has_control(value):
        raise UnsafeText(f"{field} {value!r}: the text may not hold control characters (line breaks, escapes)")
    return value
