"""The delivered event: :class:`TelemetryEvent` and its one-pass JSON encoding.

An event's ``properties`` are the contract's wire dict (keys spelled and ordered as in the
contract). Events of one flow share the same ``flowGraph`` dict, so encoders serialize that
graph once per batch and splice it into every event that carries it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = ["TelemetryEvent", "encode_events", "format_timestamp"]

Shape = Literal["wire", "posthog"]

_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
# A per-process random placeholder: no user value can collide with it by accident.
_PLACEHOLDER = "\x00" + secrets.token_hex(8) + "\x00"
_PLACEHOLDER_JSON = _dumps(_PLACEHOLDER)


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
    """Serialize each event to one compact JSON text, each ``flowGraph`` encoded once.

    Each text parses to ``event.to_wire()`` (or ``to_posthog()``), compact, non-ASCII kept;
    a ``flowGraph`` dict shared by several events of the batch is encoded only once.

    :param events: the events, in order.
    :param shape: ``"wire"`` for the contract's envelope, ``"posthog"`` for PostHog's batch API.
    :returns: one JSON text per event, in the same order.
    :raises ValueError: when a value is not JSON (NaN, infinity); TypeError for other types.
    """
    id_key = "distinctId" if shape == "wire" else "distinct_id"
    # Keyed by id() and holding the graph itself, so no id is reused while the batch runs.
    graphs: dict[int, tuple[object, str]] = {}
    out: list[str] = []
    for ev in events:
        props = ev.properties
        graph = props.get("flowGraph")
        if graph is None:
            props_json = _dumps(dict(props))
        else:
            cached = graphs.get(id(graph))
            if cached is None:
                cached = graphs[id(graph)] = (graph, _dumps(graph))
            graph_json = cached[1]
            shallow = dict(props)
            shallow["flowGraph"] = _PLACEHOLDER
            props_json = _dumps(shallow).replace(_PLACEHOLDER_JSON, graph_json, 1)
        envelope = {
            "event": ev.event,
            id_key: ev.distinct_id,
            "properties": _PLACEHOLDER,
            "timestamp": format_timestamp(ev.timestamp),
            "uuid": ev.uuid,
        }
        out.append(_dumps(envelope).replace(_PLACEHOLDER_JSON, props_json, 1))
    return out
