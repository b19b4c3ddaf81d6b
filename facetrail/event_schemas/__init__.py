"""The published event contract: one JSON Schema per topic's payload, generated from the typed models.

The ``*.schema.json`` files beside this module are what integrators read (docs/events.md explains
them); tests/test_event_schemas.py checks that they equal what the models generate, so a change
to a payload model without regenerated files fails. Regenerate with ``python -m facetrail.event_schemas``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import BaseModel

from facetrail.bus.channels import CHANNELS
from facetrail.forwarding.payloads import CameraHealthMessage, SightingMessage

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class Payload:
    topic: str
    model: type[BaseModel]
    key: str
    """What the message key holds (messages with one key share a partition, in order)."""

    @property
    def file_name(self) -> str:
        return f"{self.topic}.schema.json"


PAYLOADS: tuple[Payload, ...] = tuple(Payload(channel.name, channel.payload, channel.key_holds) for channel in CHANNELS)
FORWARDED: tuple[Payload, ...] = (
    Payload("facetrail.forwarded.sighting.v1", SightingMessage,
            "webhook-id header / MQTT topic <prefix>/<site>/alerts or .../decisions"),
    Payload("facetrail.forwarded.camera-health.v1", CameraHealthMessage,
            "webhook-id header / MQTT topic <prefix>/<site>/cameras/<camera id>/health"),
)
"""What webhooks and MQTT receive (facetrail.forwarding): not bus topics, but versioned alike."""


def _every_field_required(schema) -> None:
    """Publishers serialise every field (nulls included), so a consumer may rely on each being present."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" and "properties" in schema:
            schema["required"] = list(schema["properties"])
        for value in schema.values():
            _every_field_required(value)
    elif isinstance(schema, list):
        for value in schema:
            _every_field_required(value)


def generated_schema(payload: Payload) -> dict:
    """The JSON Schema of the payload's messages as published (pydantic's serialisation schema)."""
    schema = payload.model.model_json_schema(mode="serialization")
    _every_field_required(schema)
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": f"urn:facetrail:schema:{payload.topic}",
            "x-facetrail-topic": payload.topic, "x-facetrail-key": payload.key, **schema}


def shipped_schema(payload: Payload) -> dict:
    """The schema file installed with the package."""
    return json.loads(resources.files(__name__).joinpath(payload.file_name).read_text())


def schema_text(schema: dict) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schemas(folder: Path = Path(__file__).parent) -> list[Path]:
    written = []
    for payload in (*PAYLOADS, *FORWARDED):
        path = folder / payload.file_name
        path.write_text(schema_text(generated_schema(payload)))
        written.append(path)
    return written
