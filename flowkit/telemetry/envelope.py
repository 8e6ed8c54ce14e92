"""The delivered event: :class:`TelemetryEvent` and its one-pass JSON encoding.

An event's ``properties`` are the contract's wire dict (keys spelled and ordered as in the
contract). Events of one flow share the same ``flowGraph`` dict, so encoders serialize that
graph once per batch and splice it into every event that carries it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = ["TelemetryEvent", "encode_events", "format_timestamp"]

Shape = Literal["wire", "posthog"]

_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
# Distinct strings remembered per encode_events call (ids repeat; chat ids mostly do not).
_MEMO_LIMIT = 4096


def format_timestamp(moment: datetime) -> str:
    """Return ``moment`` as ISO 8601 UTC with milliseconds and a ``Z`` suffix.

    :param moment: an aware datetime (naive ones are taken as UTC).
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.removesuffix("+00:00") + "Z"


@dataclass(frozen=True, slots=True)
class TelemetryEvent:
    """One telemetry event as delivered: the envelope around a contract payload.

    :param event: the event name (``"prediction_sent"``, ...).
    :param distinct_id: the anonymous instance id.
    :param properties: the wire dict, keys exactly as the contract spells and orders them.
    :param timestamp: when the operation happened (aware, UTC).
    :param uuid: a fresh uuid4 string, so a backend can drop duplicates of a retried batch.
    """

    event: str
    distinct_id: str
    properties: Mapping[str, Any]
    timestamp: datetime
    uuid: str

    def to_wire(self) -> dict[str, Any]:
        """Return ``{event, distinctId, properties, timestamp, uuid}`` (the contract's envelope)."""
        return {
            "event": self.event,
            "distinctId": self.distinct_id,
            "properties": dict(self.properties),
            "timestamp": format_timestamp(self.timestamp),
            "uuid": self.uuid,
        }

    def to_posthog(self) -> dict[str, Any]:
        """Return the event as PostHog's batch endpoint takes it (``distinct_id`` key)."""
        return {
            "event": self.event,
            "distinct_id": self.distinct_id,
            "properties": dict(self.properties),
            "timestamp": format_timestamp(self.timestamp),
            "uuid": self.uuid,
        }


def encode_events(events: Iterable[TelemetryEvent], shape: Shape = "wire") -> list[str]:
    """Serialize each event to one compact JSON text, encoding repeated values once.

    Each text parses to ``event.to_wire()`` (or ``to_posthog()``), compact, non-ASCII kept.
    Within the call, a ``flowGraph`` shared by several events and every repeated string
    (event names, ids, versions, timestamps) is encoded once.

    :param events: the events, in order.
    :param shape: ``"wire"`` for the contract's envelope, ``"posthog"`` for PostHog's batch API.
    :returns: one JSON text per event, in the same order.
    :raises ValueError: when a value is not JSON (NaN, infinity); TypeError for other types.
    """
    id_key = "distinctId" if shape == "wire" else "distinct_id"
    head = _dumps("event") + ":"
    middle = f",{_dumps(id_key)}:"
    props_key = "," + _dumps("properties") + ":"
    stamp_key = "," + _dumps("timestamp") + ":"
    uuid_key = "," + _dumps("uuid") + ":"
    # Keyed by id() and holding the object itself, so no id is reused while the call runs.
    graphs: dict[int, tuple[object, str]] = {}
    texts: dict[str, str] = {}
    stamps: dict[datetime, str] = {}

    def text(value: str) -> str:
        encoded = texts.get(value)
        if encoded is None:
            encoded = _dumps(value)
            if len(texts) < _MEMO_LIMIT:
                texts[value] = encoded
        return encoded

    def value_json(value: Any) -> str:
        if type(value) is str:
            return text(value)
        if type(value) is dict:
            cached = graphs.get(id(value))
            if cached is None:
                cached = graphs[id(value)] = (value, _dumps(value))
            return cached[1]
        return _dumps(value)

    out: list[str] = []
    for ev in events:
        props = ",".join(text(k) + ":" + value_json(v) for k, v in ev.properties.items())
        stamp = stamps.get(ev.timestamp)
        if stamp is None:
            stamp = stamps[ev.timestamp] = _dumps(format_timestamp(ev.timestamp))
        out.append(
            "{"
            + head
            + text(ev.event)
            + middle
            + text(ev.distinct_id)
            + props_key
            + "{"
            + props
            + "}"
            + stamp_key
            + stamp
            + uuid_key
            + _dumps(ev.uuid)
            + "}"
        )
    return out
