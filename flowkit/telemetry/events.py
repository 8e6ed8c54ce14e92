"""The one table of telemetry events, and their payloads in every wire profile.

Each event is declared once, in :data:`TABLE`: its name, the signal that causes it, how its
fields are read from the signal's arguments, whether it carries the flow's graph, and its
payload model per wire *profile*. The receivers, the builder, the docs catalog (EN + ES),
``flowkit schema`` and the pytest plugin all read this table.

Profiles are the wire shapes of a Flowise release:

- ``flowise-1`` (the default): the shapes of Flowise's 1.x telemetry page, with the
  historical ``chatlowId`` spelling everywhere; the distinctId is the instance id.
- ``flowise-3``: what a Flowise 3.1.4 server sends: ``chatflow_created`` and
  ``prediction_sent`` say ``chatflowId`` and end with ``productId`` and ``subscriptionId``;
  ``vector_upserted`` still says ``chatlowId``; the distinctId is the organization id
  (``FLOWKIT_TELEMETRY_ORG_ID``), else the instance id.

Attributes are snake_case; serialized (``by_alias=True``) they carry the wire keys in the
wire's order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from blinker import NamedSignal
from pydantic import BaseModel, ConfigDict, Field

from flowkit import signals
from flowkit.errors import FlowkitError
from flowkit.model import ChatType
from flowkit.telemetry.anonymize import anonymous_id

__all__ = [
    "DEFAULT_PROFILE",
    "EVENTS",
    "PROFILES",
    "TABLE",
    "AssistantCreated",
    "ChatflowCreated",
    "ChatflowCreatedV3",
    "EventSpec",
    "FlowGraph",
    "FlowGraphEdge",
    "PredictionSent",
    "PredictionSentV3",
    "Profile",
    "ToolCreated",
    "VectorUpserted",
    "check_profile",
    "json_schema",
    "payload_model",
    "spec",
    "wire_keys",
]

Profile = Literal["flowise-1", "flowise-3"]
PROFILES: tuple[Profile, ...] = ("flowise-1", "flowise-3")
"""The wire profiles, oldest first."""
DEFAULT_PROFILE: Profile = "flowise-1"

_STRICT = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
_GRAPH_TEXT = "The anonymized flow: node ids and {source, target} edges."


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
    flow_graph: FlowGraph = Field(alias="flowGraph", description=_GRAPH_TEXT)


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
    flow_graph: FlowGraph = Field(alias="flowGraph", description=_GRAPH_TEXT)
    stop_node_id: str = Field(
        alias="stopNodeId", description="The vector-store node the upsert stopped at."
    )


class PredictionSent(_Payload):
    """``prediction_sent``: a chatflow answered a question."""

    chatflow_id: str = Field(alias="chatlowId", description="The chatflow's id.")
    chat_id: str = Field(alias="chatId", description="The conversation's id.")
    type: ChatType = Field(description="INTERNAL (the product's UI) or EXTERNAL (the API).")
    flow_graph: FlowGraph = Field(alias="flowGraph", description=_GRAPH_TEXT)


class ChatflowCreatedV3(_Payload):
    """``chatflow_created``: a chatflow was saved for the first time."""

    chatflow_id: str = Field(alias="chatflowId", description="The chatflow's id.")
    flow_graph: FlowGraph = Field(alias="flowGraph", description=_GRAPH_TEXT)
    product_id: Literal[""] = Field(
        "", alias="productId", description="Always empty (Flowise Cloud's product)."
    )
    subscription_id: Literal[""] = Field(
        "", alias="subscriptionId", description="Always empty (Flowise Cloud's subscription)."
    )


class PredictionSentV3(_Payload):
    """``prediction_sent``: a chatflow answered a question."""

    chatflow_id: str = Field(alias="chatflowId", description="The chatflow's id.")
    chat_id: str = Field(alias="chatId", description="The conversation's id.")
    type: ChatType = Field(description="INTERNAL (the product's UI) or EXTERNAL (the API).")
    flow_graph: FlowGraph = Field(alias="flowGraph", description=_GRAPH_TEXT)
    product_id: Literal[""] = Field(
        "", alias="productId", description="Always empty (Flowise Cloud's product)."
    )
    subscription_id: None = Field(
        None, alias="subscriptionId", description="Always null (Flowise Cloud's subscription)."
    )


Fields = dict[str, Any]
FieldReader = Callable[[Any, Mapping[str, Any]], Fields]


@dataclass(frozen=True, slots=True, eq=False)
class EventSpec:
    """One telemetry event, declared once.

    :param name: the event's name on the wire (``"prediction_sent"``).
    :param signal: the flowkit signal that causes it.
    :param read: reads the payload's fields (snake_case, without ``version``, the graph
        and the constant fields) from the signal's sender and keyword arguments; cheap,
        it runs on the caller's thread.
    :param graph: whether the payload carries the flow's anonymized ``flowGraph``.
    :param payloads: the payload model in each profile.
    """

    name: str
    signal: NamedSignal
    read: FieldReader
    graph: bool
    payloads: Mapping[Profile, type[_Payload]]

    def model(self, profile: Profile = DEFAULT_PROFILE) -> type[_Payload]:
        """Return this event's payload model in ``profile``.

        :raises FlowkitError: when ``profile`` is unknown.
        """
        return self.payloads[check_profile(profile)]


def _stop_node(flow: Any, stop_node_id: str) -> str:
    return anonymous_id(flow.node(stop_node_id))


TABLE: tuple[EventSpec, ...] = (
    EventSpec(
        "chatflow_created",
        signals.chatflow_created,
        lambda flow, kw: {"chatflow_id": flow.id},
        True,
        {"flowise-1": ChatflowCreated, "flowise-3": ChatflowCreatedV3},
    ),
    EventSpec(
        "tool_created",
        signals.tool_created,
        lambda tool, kw: {"tool_id": tool.id, "tool_name": tool.name},
        False,
        {"flowise-1": ToolCreated, "flowise-3": ToolCreated},
    ),
    EventSpec(
        "assistant_created",
        signals.assistant_created,
        lambda assistant, kw: {"assistant_id": assistant.id},
        False,
        {"flowise-1": AssistantCreated, "flowise-3": AssistantCreated},
    ),
    EventSpec(
        "vector_upserted",
        signals.vector_upserted,
        lambda flow, kw: {
            "chatflow_id": flow.id,
            "type": kw["chat_type"],
            "stop_node_id": _stop_node(flow, kw["stop_node_id"]),
        },
        True,
        {"flowise-1": VectorUpserted, "flowise-3": VectorUpserted},
    ),
    EventSpec(
        "prediction_sent",
        signals.prediction_sent,
        lambda flow, kw: {
            "chatflow_id": flow.id,
            "chat_id": kw["chat_id"],
            "type": kw["chat_type"],
        },
        True,
        {"flowise-1": PredictionSent, "flowise-3": PredictionSentV3},
    ),
)
"""Every telemetry event, in the contract's order. Flowise has no event for updates,
deletions, failures or node runs: those signals send nothing."""

_BY_NAME: dict[str, EventSpec] = {event.name: event for event in TABLE}

EVENTS: dict[str, type[_Payload]] = {event.name: event.payloads[DEFAULT_PROFILE] for event in TABLE}
"""Event name to its ``flowise-1`` payload model, in the contract's order."""


def check_profile(profile: object) -> Profile:
    """Return ``profile`` when it is one of :data:`PROFILES`.

    :raises FlowkitError: when it is not (the message lists the known ones).
    """
    if profile not in PROFILES:
        raise FlowkitError(
            f"unknown telemetry profile {profile!r}; known profiles: {', '.join(PROFILES)}"
        )
    return profile


def spec(name: object) -> EventSpec:
    """Return the declaration of event ``name``.

    :raises FlowkitError: when ``name`` is not one of :data:`TABLE`'s events.
    """
    try:
        return _BY_NAME[name]  # type: ignore[index]
    except (KeyError, TypeError):
        raise FlowkitError(f"unknown event {name!r}; known events: {', '.join(_BY_NAME)}") from None


def payload_model(name: str, profile: Profile = DEFAULT_PROFILE) -> type[_Payload]:
    """Return the payload model of event ``name`` in ``profile``.

    :raises FlowkitError: when ``name`` or ``profile`` is unknown.
    """
    return spec(name).model(profile)


def wire_keys(name: str, profile: Profile = DEFAULT_PROFILE) -> list[str]:
    """Return the property keys of event ``name`` in ``profile``, in wire order.

    :raises FlowkitError: when ``name`` or ``profile`` is unknown.
    """
    model = payload_model(name, profile)
    return [field.alias or key for key, field in model.model_fields.items()]


def json_schema(name: str, profile: Profile = DEFAULT_PROFILE) -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of event ``name``'s ``properties`` in ``profile``.

    :raises FlowkitError: when ``name`` or ``profile`` is unknown.
    """
    model = payload_model(name, profile)
    schema = model.model_json_schema(by_alias=True, mode="serialization")
    # Every key is sent, defaults included: the schema requires them all.
    schema["required"] = list(schema.get("properties", {}))
    suffix = "" if profile == DEFAULT_PROFILE else f".{profile}"
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://flowkit.dev/schemas/{name}{suffix}.json",
        **schema,
        "title": name,
    }
