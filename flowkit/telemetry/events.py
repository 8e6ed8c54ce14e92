"""The five telemetry payloads, exactly as Flowise's telemetry contract spells them.

Attributes are snake_case; serialized (``by_alias=True``) they carry the contract's keys in
the contract's order, including the historical ``chatlowId`` spelling.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from flowkit.errors import FlowkitError
from flowkit.model import ChatType

__all__ = [
    "EVENTS",
    "AssistantCreated",
    "ChatflowCreated",
    "FlowGraph",
    "FlowGraphEdge",
    "PredictionSent",
    "ToolCreated",
    "VectorUpserted",
    "json_schema",
    "wire_keys",
]

_STRICT = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FlowGraphEdge(BaseModel):
    """One edge of the anonymized flow: ``{"source": id, "target": id}`` and nothing else."""

    model_config = _STRICT

    source: str
    target: str


class FlowGraph(BaseModel):
    """The anonymized flow: node ids and ``{source, target}`` edges, in the flow's order."""

    model_config = _STRICT

    nodes: list[str]
    edges: list[FlowGraphEdge]


class _Payload(BaseModel):
    model_config = _STRICT

    version: str = Field(description="Version of the application that sends the event.")


class ChatflowCreated(_Payload):
    """``chatflow_created``: a chatflow was saved for the first time."""

    chatflow_id: str = Field(alias="chatlowId", description="The chatflow's id.")
    flow_graph: FlowGraph = Field(
        alias="flowGraph", description="The anonymized flow: node ids and {source, target} edges."
    )


class ToolCreated(_Payload):
    """``tool_created``: a tool was saved for the first time."""

    tool_id: str = Field(alias="toolId", description="The tool's id.")
    tool_name: str = Field(alias="toolName", description="The tool's name.")


class AssistantCreated(_Payload):
    """``assistant_created``: an assistant was saved for the first time."""

    assistant_id: str = Field(alias="assistantId", description="The assistant's id.")


class VectorUpserted(_Payload):
    """``vector_upserted``: documents were upserted through a chatflow's vector store."""

    chatflow_id: str = Field(alias="chatlowId", description="The chatflow's id.")
    type: ChatType = Field(description="INTERNAL (the product's UI) or EXTERNAL (the API).")
    flow_graph: FlowGraph = Field(
        alias="flowGraph", description="The anonymized flow: node ids and {source, target} edges."
    )
    stop_node_id: str = Field(
        alias="stopNodeId", description="The vector-store node the upsert stopped at."
    )


class PredictionSent(_Payload):
    """``prediction_sent``: a chatflow answered a question."""

    chatflow_id: str = Field(alias="chatlowId", description="The chatflow's id.")
    chat_id: str = Field(alias="chatId", description="The conversation's id.")
    type: ChatType = Field(description="INTERNAL (the product's UI) or EXTERNAL (the API).")
    flow_graph: FlowGraph = Field(
        alias="flowGraph", description="The anonymized flow: node ids and {source, target} edges."
    )


EVENTS: dict[str, type[_Payload]] = {
    "chatflow_created": ChatflowCreated,
    "tool_created": ToolCreated,
    "assistant_created": AssistantCreated,
    "vector_upserted": VectorUpserted,
    "prediction_sent": PredictionSent,
}
"""Event name to payload model, in the contract's order."""


def wire_keys(name: str) -> list[str]:
    """Return the contract's property keys of event ``name``, in order.

    :raises FlowkitError: when ``name`` is not one of :data:`EVENTS`.
    """
    model = _model(name)
    return [field.alias or key for key, field in model.model_fields.items()]


def json_schema(name: str) -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of event ``name``'s ``properties``.

    :raises FlowkitError: when ``name`` is not one of :data:`EVENTS`.
    """
    schema = _model(name).model_json_schema(by_alias=True, mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://flowkit.dev/schemas/{name}.json",
        **schema,
        "title": name,
    }


def _model(name: str) -> type[_Payload]:
    try:
        return EVENTS[name]
    except (KeyError, TypeError):
        known = ", ".join(EVENTS)
        raise FlowkitError(f"unknown event {name!r}; known events: {known}") from None
