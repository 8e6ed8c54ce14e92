"""The typed events a streamed prediction yields: :class:`StreamEvent`.

It lives under the Flowise client and the backends alike (``flowkit.backends.events``
re-exports it), so that the client and every backend stream this one class. Every backend
streams the same events, named as Flowise's server-sent events are
(``start``, ``token``, ``sourceDocuments``, ``usedTools``, ``metadata``, ``error``,
``end``), so code that reads a stream never branches on where the flow ran::

    for event in workspace.stream(flow, "What is flowkit?"):
        if event.event == TOKEN:
            print(event.data, end="")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from flowkit.errors import FlowValidationError

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

START: Final = "start"
"""The stream began; ``data`` is ``""`` (or what the server sent)."""
TOKEN: Final = "token"
"""A piece of the answer; ``data`` is a ``str``."""
SOURCE_DOCUMENTS: Final = "sourceDocuments"
"""The documents the answer was drawn from; ``data`` is a list of mappings with
``pageContent`` and ``metadata``."""
USED_TOOLS: Final = "usedTools"
"""The tools the flow called; ``data`` is a list."""
AGENT_REASONING: Final = "agentReasoning"
"""An agent's intermediate steps (Flowise agent flows); ``data`` is a list."""
METADATA: Final = "metadata"
"""After the last token: ``data`` is a mapping with ``chatId`` (and ``messageId``...)."""
ERROR: Final = "error"
"""The prediction failed; ``data`` is the error's text. Nothing but ``end`` follows."""
END: Final = "end"
"""The stream is over; ``data`` is ``"[DONE]"``."""

EVENT_NAMES: Final[frozenset[str]] = frozenset(
    {START, TOKEN, SOURCE_DOCUMENTS, USED_TOOLS, AGENT_REASONING, METADATA, ERROR, END}
)
"""The event names Flowise documents; a backend may pass others through unchanged."""


AGENT_FLOW_EVENT: Final = "agentFlowEvent"
"""An agent flow's overall status; ``data`` is ``"INPROGRESS"``, ``"FINISHED"`` or ``"ERROR"``."""
NEXT_AGENT_FLOW: Final = "nextAgentFlow"
"""An agent flow node started or finished; ``data`` is ``{nodeId, nodeLabel, status}``."""
AGENT_FLOW_EXECUTED_DATA: Final = "agentFlowExecutedData"
"""What the agent flow's nodes did so far; ``data`` is a list of ``{nodeId, data, ...}``."""
CALLED_TOOLS: Final = "calledTools"
"""The tools an agent flow node called; ``data`` is a list."""
USAGE_METADATA: Final = "usageMetadata"
"""Token counts of the model calls; ``data`` is a mapping."""

AGENT_FLOW_EVENT_NAMES: Final[frozenset[str]] = frozenset(
    {AGENT_FLOW_EVENT, NEXT_AGENT_FLOW, AGENT_FLOW_EXECUTED_DATA, CALLED_TOOLS, USAGE_METADATA}
)
"""The further event names a Flowise agent flow (``AGENTFLOW``) streams."""


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One event of a streamed prediction, as Flowise's ``{"event": ..., "data": ...}``.

    Immutable; two events are equal when their name and data are.

    :param event: the event's name: one of :data:`EVENT_NAMES` for what Flowise documents.
    :param data: what it carries (see each name's constant for its type).
    """

    event: str
    data: Any = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the event as Flowise writes it: ``{"event": ..., "data": ...}``."""
        return {"event": self.event, "data": self.data}

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> StreamEvent:
        """Build an event from Flowise's ``{"event": ..., "data": ...}``.

        :raises FlowValidationError: when ``event`` is missing or not a string (it is also a
            ``ValueError``).
        """
        name = value.get("event")
        if not isinstance(name, str):
            raise FlowValidationError(
                f"a stream event needs an 'event' string, got {type(name).__name__}: "
                "pass a mapping such as {'event': 'token', 'data': 'Hi'}"
            )
        return cls(event=name, data=value.get("data", ""))
