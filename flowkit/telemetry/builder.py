"""The builder stage: records in, wire events out (envelope, uuid, timestamp, distinctId).

It runs on the background thread. Each record is checked against its event's payload model
in the client's profile; a record that makes no valid payload is left out and reported by
field name, never by value.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from pydantic import ValidationError

from flowkit.telemetry.envelope import TelemetryEvent
from flowkit.telemetry.events import EventSpec, FlowGraph, Profile
from flowkit.telemetry.identity import Identity
from flowkit.telemetry.properties import wire_properties

__all__ = ["Builder", "Record"]


class Record(NamedTuple):
    """What the recorder appends on the caller's thread: nothing but the signal's facts.

    :param event: the event's declaration.
    :param fields: the payload fields read from the signal.
    :param graph: the flow's anonymized graph (shared, never mutated), or None.
    :param time: ``time.time()`` when the signal was received.
    """

    event: EventSpec
    fields: dict[str, Any]
    graph: dict[str, Any] | None
    time: float


class Builder:
    """Turns records into :class:`TelemetryEvent` objects.

    :param version: the ``version`` every event carries.
    :param profile: the wire profile.
    :param identity: where the distinctId comes from (asked once per batch).
    """

    def __init__(self, version: str, profile: Profile, identity: Identity) -> None:
        self.version = version
        self.profile: Profile = profile
        self.identity = identity

    def build(self, records: Sequence[Record]) -> tuple[list[TelemetryEvent], list[str]]:
        """Return the valid records' events, in order, and one problem text per record
        left out (``"prediction_sent: chat_id: string_type"``)."""
        distinct_id = self.identity.distinct_id(self.profile)
        graphs: dict[int, FlowGraph] = {}
        uuids = uuid4_strings(len(records))  # one syscall per batch, not one per event
        moments: dict[float, datetime] = {}  # events of one millisecond share their stamp
        events: list[TelemetryEvent] = []
        problems: list[str] = []
        version, profile = self.version, self.profile
        for index, (event, fields, graph, stamp) in enumerate(records):
            try:
                properties = wire_properties(
                    event.name, fields, graph, version, profile=profile, checked_graphs=graphs
                )
            except Exception as exc:
                problems.append(f"{event.name}: {_problem(exc)}")
                continue
            millis = stamp // 0.001
            moment = moments.get(millis)
            if moment is None:
                moment = moments[millis] = datetime.fromtimestamp(millis / 1000, UTC)
            events.append(TelemetryEvent(event.name, distinct_id, properties, moment, uuids[index]))
        return events, problems


def uuid4_strings(count: int) -> list[str]:
    """Return ``count`` random uuid4 strings, from one ``os.urandom`` call (so a forked
    child never repeats its parent's)."""
    digits = os.urandom(16 * count).hex()
    out = []
    for start in range(0, 32 * count, 32):
        h = digits[start : start + 32]
        variant = "89ab"[int(h[16], 16) & 3]
        out.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}")
    return out


def _problem(exc: Exception) -> str:
    """Say what is wrong with an event's fields, naming fields but never their values."""
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        return "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['type']}" for error in errors
        )
    return type(exc).__name__
