"""The typed events a streamed prediction yields: :class:`StreamEvent`, and the event names.

Defined in :mod:`flowkit.client.events`, which sits under both the Flowise client and the
backends (the layers of docs/architecture.md let the backends import the client, not the other
way round), so that the client and every backend stream this one class; re-exported here
unchanged.
"""

from __future__ import annotations

from flowkit.client.events import (
    AGENT_FLOW_EVENT,
    AGENT_FLOW_EVENT_NAMES,
    AGENT_FLOW_EXECUTED_DATA,
    AGENT_REASONING,
    CALLED_TOOLS,
    END,
    ERROR,
    EVENT_NAMES,
    METADATA,
    NEXT_AGENT_FLOW,
    SOURCE_DOCUMENTS,
    START,
    TOKEN,
    USAGE_METADATA,
    USED_TOOLS,
    StreamEvent,
)

__all__ = [
    "AGENT_FLOW_EVENT",
    "AGENT_FLOW_EVENT_NAMES",
    "AGENT_FLOW_EXECUTED_DATA",
    "AGENT_REASONING",
    "CALLED_TOOLS",
    "END",
    "ERROR",
    "EVENT_NAMES",
    "METADATA",
    "NEXT_AGENT_FLOW",
    "SOURCE_DOCUMENTS",
    "START",
    "TOKEN",
    "USAGE_METADATA",
    "USED_TOOLS",
    "StreamEvent",
]
