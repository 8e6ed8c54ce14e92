"""The typed events a streamed prediction yields: :class:`StreamEvent`, and the event names.

Defined in :mod:`flowkit.client.events`, which sits under both the Flowise client and the
backends (the layers of ARCHITECTURE.md let the backends import the client, not the other
way round), so that the client and every backend stream this one class; re-exported here
unchanged.
"""

from __future__ import annotations

from flowkit.client.events import (
    AGENT_REASONING,
    END,
    ERROR,
    EVENT_NAMES,
    METADATA,
    SOURCE_DOCUMENTS,
    START,
    TOKEN,
    USED_TOOLS,
    StreamEvent,
)

__all__ = [
    "AGENT_REASONING",
    "END",
    "ERROR",
    "EVENT_NAMES",
    "METADATA",
    "SOURCE_DOCUMENTS",
    "START",
    "TOKEN",
    "USED_TOOLS",
    "StreamEvent",
]
