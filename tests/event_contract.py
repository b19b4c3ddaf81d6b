"""Checks published messages against the shipped JSON Schemas with an independent validator (jsonschema)."""

from __future__ import annotations

import json

from jsonschema import Draft202012Validator

from facetrail.event_schemas import PAYLOADS, shipped_schema

VALIDATORS = {payload.topic: Draft202012Validator(shipped_schema(payload),
                                                  format_checker=Draft202012Validator.FORMAT_CHECKER)
              for payload in PAYLOADS}


def violations(topic: str, raw: bytes) -> list[str]:
    """What is wrong with one message of facetrail topic `topic` (unprefixed); empty when it is valid."""
    try:
        message = json.loads(raw)
    except ValueError as exc:
        return [f"not JSON: {exc}"]
    return [f"{'.'.join(str(p) for p in error.absolute_path) or '(message)'}: {error.message}"
            for error in VALIDATORS[topic].iter_errors(message)]
