"""The domain model: pure data, no I/O, no signals, no telemetry."""

from __future__ import annotations

from flowkit.model.chatflow import Chatflow
from flowkit.model.entities import Assistant, Tool
from flowkit.model.enums import AssistantType, ChatType, FlowType
from flowkit.model.parts import STICKY_NOTE, Edge, Node
from flowkit.model.problems import describe_validation_error

__all__ = [
    "STICKY_NOTE",
    "Assistant",
    "AssistantType",
    "ChatType",
    "Chatflow",
    "Edge",
    "FlowType",
    "Node",
    "Tool",
    "describe_validation_error",
]
