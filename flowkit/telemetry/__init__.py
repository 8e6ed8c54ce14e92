"""Flowise-exact anonymized telemetry: payloads, settings, delivery and sinks.

Nothing runs at import: no ``.env`` is read, no file written, no thread started. Call
:func:`install` (or build a :class:`Telemetry` and ``connect()`` it) to start listening.
"""

from __future__ import annotations

from flowkit.telemetry.anonymize import GraphSnapshots, anonymous_id, flow_graph, pseudonym
from flowkit.telemetry.client import Telemetry, install, installed
from flowkit.telemetry.delivery import TelemetryStats
from flowkit.telemetry.envelope import TelemetryEvent
from flowkit.telemetry.events import (
    EVENTS,
    AssistantCreated,
    ChatflowCreated,
    FlowGraph,
    PredictionSent,
    ToolCreated,
    VectorUpserted,
    json_schema,
    wire_keys,
)
from flowkit.telemetry.settings import Destination, TelemetrySettings
from flowkit.telemetry.sinks import JsonlSink, LoggingSink, MemorySink, PostHogSink, Sink

__all__ = [
    "EVENTS",
    "AssistantCreated",
    "ChatflowCreated",
    "Destination",
    "FlowGraph",
    "GraphSnapshots",
    "JsonlSink",
    "LoggingSink",
    "MemorySink",
    "PostHogSink",
    "PredictionSent",
    "Sink",
    "Telemetry",
    "TelemetryEvent",
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
