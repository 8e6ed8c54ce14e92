"""Flowise-exact anonymized telemetry: payloads, settings, delivery and sinks.

Nothing runs at import: no ``.env`` is read, no file written, no thread started. Call
:func:`install` (or build a :class:`Telemetry` and ``connect()`` it) to start listening.
"""

from __future__ import annotations

from flowkit.telemetry.anonymize import GraphSnapshots, anonymous_id, flow_graph, pseudonym
from flowkit.telemetry.client import Telemetry, install, installed
from flowkit.telemetry.envelope import TelemetryEvent
from flowkit.telemetry.events import (
    DEFAULT_PROFILE,
    EVENTS,
    PROFILES,
    TABLE,
    AssistantCreated,
    ChatflowCreated,
    EventSpec,
    FlowGraph,
    PredictionSent,
    Profile,
    ToolCreated,
    VectorUpserted,
    json_schema,
    wire_keys,
)
from flowkit.telemetry.options import TelemetryOptions
from flowkit.telemetry.pipeline import TelemetryStats
from flowkit.telemetry.settings import Destination, TelemetrySettings
from flowkit.telemetry.sinks import (
    JsonlSink,
    LoggingSink,
    MemorySink,
    PartialDelivery,
    PayloadTooLarge,
    PostHogSink,
    Sink,
)

__all__ = [
    "DEFAULT_PROFILE",
    "EVENTS",
    "PROFILES",
    "TABLE",
    "AssistantCreated",
    "ChatflowCreated",
    "Destination",
    "EventSpec",
    "FlowGraph",
    "GraphSnapshots",
    "JsonlSink",
    "LoggingSink",
    "MemorySink",
    "PartialDelivery",
    "PayloadTooLarge",
    "PostHogSink",
    "PredictionSent",
    "Profile",
    "Sink",
    "Telemetry",
    "TelemetryEvent",
    "TelemetryOptions",
    "TelemetrySettings",
    "TelemetryStats",
    "ToolCreated",
    "VectorUpserted",
    "anonymous_id",
    "flow_graph",
    "install",
    "installed",
    "json_schema",
    "pseudonym",
    "wire_keys",
]
