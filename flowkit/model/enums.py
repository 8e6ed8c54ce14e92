"""The enumerations of the domain model, valued as Flowise spells them."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["AGENT_FLOW_CATEGORY", "AssistantType", "ChatType", "FlowType"]


AGENT_FLOW_CATEGORY = "Agent Flows"
"""The category of agent flow (v2) components: a flow holding them is an ``AGENTFLOW``."""


class FlowType(StrEnum):
    """What kind of flow a :class:`~flowkit.Chatflow` is (Flowise's ``chatflow.type``)."""

    CHATFLOW = "CHATFLOW"
    AGENTFLOW = "AGENTFLOW"
    MULTIAGENT = "MULTIAGENT"
    ASSISTANT = "ASSISTANT"


class AssistantType(StrEnum):
    """Which service backs an :class:`~flowkit.Assistant`."""

    OPENAI = "OPENAI"
    AZURE = "AZURE"
    CUSTOM = "CUSTOM"


class ChatType(StrEnum):
    """Where an upsert or prediction came from: the product's own UI (``INTERNAL``) or the API."""

    INTERNAL = "INTERNAL"
    EXTERNAL = "EXTERNAL"
