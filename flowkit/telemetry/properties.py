"""From a signal to the wire: the one code path that builds every event's ``properties``.

The :class:`~flowkit.telemetry.Telemetry` client and ``flowkit preview`` both go through
these functions, so what a preview prints is exactly what the client sends:

- :func:`event_fields` reads a signal's sender and keyword arguments into the payload's
  fields (cheap: it runs on the caller's thread);
- :func:`wire_properties` validates those fields, with the flow's anonymized graph, against
  the event's model and returns the contract's dict (it runs on the delivery thread);
- :func:`preview_events` does both for a chatflow as the workspace's operations would.

Nothing here sends, reads or writes anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from enum import Enum
from typing import Any

from flowkit.errors import FlowkitError
from flowkit.model import Assistant, Chatflow, ChatType, Tool
from flowkit.telemetry.anonymize import anonymous_id, flow_graph
from flowkit.telemetry.events import EVENTS, FlowGraph

__all__ = [
    "CHATFLOW_EVENTS",
    "GRAPH_EVENTS",
    "assistant_created_fields",
    "chatflow_created_fields",
    "event_fields",
    "prediction_sent_fields",
    "preview_events",
    "tool_created_fields",
    "vector_upserted_fields",
    "wire_properties",
]

GRAPH_EVENTS: frozenset[str] = frozenset(
    name for name, model in EVENTS.items() if "flow_graph" in model.model_fields
)
"""The events whose properties carry the flow's anonymized ``flowGraph``."""

CHATFLOW_EVENTS: tuple[str, ...] = ("chatflow_created", "vector_upserted", "prediction_sent")
"""The events an operation on a chatflow sends, in the order a flow's life sends them."""


def chatflow_created_fields(flow: Chatflow, **signal_kwargs: Any) -> dict[str, Any]:
    """Fields of ``chatflow_created`` from its signal (sender: the saved flow)."""
    return {"chatflow_id": flow.id}


def tool_created_fields(tool: Tool, **signal_kwargs: Any) -> dict[str, Any]:
    """Fields of ``tool_created`` from its signal (sender: the saved tool)."""
    return {"tool_id": tool.id, "tool_name": tool.name}


def assistant_created_fields(assistant: Assistant, **signal_kwargs: Any) -> dict[str, Any]:
    """Fields of ``assistant_created`` from its signal (sender: the saved assistant)."""
    return {"assistant_id": assistant.id}


def vector_upserted_fields(
    flow: Chatflow, *, stop_node_id: str, chat_type: ChatType | str, **signal_kwargs: Any
) -> dict[str, Any]:
    """Fields of ``vector_upserted`` from its signal; the stop node's id as
    :func:`~flowkit.telemetry.anonymous_id` gives it.

    :raises FlowkitError: when the flow has no node ``stop_node_id``.
    """
    return {
        "chatflow_id": flow.id,
        "type": chat_type,
        "stop_node_id": anonymous_id(flow.node(stop_node_id)),
    }


def prediction_sent_fields(
    flow: Chatflow, *, chat_id: str, chat_type: ChatType | str, **signal_kwargs: Any
) -> dict[str, Any]:
    """Fields of ``prediction_sent`` from its signal."""
    return {"chatflow_id": flow.id, "chat_id": chat_id, "type": chat_type}


_FIELDS: dict[str, Callable[..., dict[str, Any]]] = {
    "chatflow_created": chatflow_created_fields,
    "tool_created": tool_created_fields,
    "assistant_created": assistant_created_fields,
    "vector_upserted": vector_upserted_fields,
    "prediction_sent": prediction_sent_fields,
}


def _known(name: str) -> None:
    if name not in EVENTS:
        raise FlowkitError(f"unknown event {name!r}; known events: {', '.join(EVENTS)}")


def event_fields(name: str, sender: Any, **signal_kwargs: Any) -> dict[str, Any]:
    """Return the payload fields (snake_case, without ``version`` and ``flow_graph``) of
    event ``name`` from its signal's sender and keyword arguments.

    :raises FlowkitError: when ``name`` is unknown or the arguments do not fit the event.
    """
    _known(name)
    try:
        return _FIELDS[name](sender, **signal_kwargs)
    except TypeError as exc:
        raise FlowkitError(f"{name}: {exc}") from None


def _exact_types(annotation: Any) -> tuple[type, ...] | None:
    """The types a field accepts as they are, with nothing to convert: ``str`` for a str
    field, the enum for an enum field; None for anything else (always fully validated)."""
    if annotation is str:
        return (str,)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return (annotation,)
    return None


# Per event: (field, wire key, exact types) in the contract's order, read off the models.
_LAYOUT: dict[str, tuple[tuple[str, str, tuple[type, ...] | None], ...]] = {
    name: tuple(
        (key, field.alias or key, _exact_types(field.annotation))
        for key, field in model.model_fields.items()
    )
    for name, model in EVENTS.items()
}


def _already_valid(name: str, values: dict[str, Any]) -> bool:
    """Whether ``values`` are exactly what the model would accept and keep unchanged."""
    layout = _LAYOUT[name]
    if len(values) != len(layout):
        return False
    for key, _, types in layout:
        if key == "flow_graph":
            continue
        if types is None or type(values.get(key)) not in types:
            return False
    return True


def wire_properties(
    name: str,
    fields: dict[str, Any],
    graph: dict[str, Any] | None,
    version: str,
    *,
    checked_graphs: dict[int, FlowGraph] | None = None,
) -> dict[str, Any]:
    """Validate an event's fields against its model and return its wire ``properties``.

    Values that already have exactly the model's types (what flowkit's own receivers
    produce) are taken as they are; anything else goes through the model's full
    validation, which converts or refuses it. Either way the result is the same.

    :param name: the event name, one of :data:`~flowkit.telemetry.EVENTS`.
    :param fields: the fields :func:`event_fields` returned.
    :param graph: the flow's anonymized graph (:func:`~flowkit.telemetry.flow_graph`) for
        the events of :data:`GRAPH_EVENTS`, else None. It is put in the result as given
        (shared, not copied), after it was checked.
    :param version: the ``version`` to send.
    :param checked_graphs: a cache, keyed by ``id(graph)``, of graphs already checked; a
        caller that builds a batch shares one so that a graph is checked once per batch.
    :returns: the contract's keys in the contract's order, enums as their values.
    :raises FlowkitError: when ``name`` is unknown.
    :raises pydantic.ValidationError: when the fields do not make a valid payload.
    """
    _known(name)
    values: dict[str, Any] = {"version": version, **fields}
    if graph is not None:
        checked = checked_graphs.get(id(graph)) if checked_graphs is not None else None
        if checked is None:
            checked = FlowGraph.model_validate(graph)
            if checked_graphs is not None:
                checked_graphs[id(graph)] = checked
        values["flow_graph"] = checked
    if not _already_valid(name, values):
        payload = EVENTS[name].model_validate(values)
        values = {key: getattr(payload, key) for key in type(payload).model_fields}
    properties: dict[str, Any] = {}
    for key, wire_key, _ in _LAYOUT[name]:
        value = graph if key == "flow_graph" else values[key]
        properties[wire_key] = value.value if isinstance(value, Enum) else value
    return properties


def preview_events(
    flow: Chatflow,
    *,
    events: Collection[str] | None = None,
    stop_node_id: str | None = None,
    chat_type: ChatType | str = ChatType.EXTERNAL,
    chat_id: str | None = None,
    version: str | None = None,
) -> list[dict[str, Any]]:
    """Return the events a :class:`~flowkit.Telemetry` client would send for saving
    ``flow``, upserting through it and asking it a question, without sending anything.

    The properties are built by :func:`event_fields` and :func:`wire_properties` from the
    same signal arguments the :class:`~flowkit.Workspace` passes. Ids that are not Flowise's
    ``<name>_<n>`` appear as this process's pseudonyms; the ``chatId`` is a fresh uuid4 per
    conversation unless given. No instance id is read or made, no file or thread touched.

    :param flow: the chatflow.
    :param events: the events wanted (default: all of :data:`CHATFLOW_EVENTS`, the upsert
        only when the flow has a vector store).
    :param stop_node_id: the vector store an upsert stops at, as ``Workspace.upsert_vector``
        takes it (needed when the flow has several).
    :param chat_type: the ``type`` of the upsert and prediction events.
    :param chat_id: the conversation id of the prediction (default: a fresh uuid4).
    :param version: the ``version`` sent (default: flowkit's own).
    :returns: ``[{"event": name, "properties": {...}}, ...]`` in :data:`CHATFLOW_EVENTS` order.
    :raises FlowValidationError: when the flow is invalid (the workspace would refuse to
        save it, so nothing would be sent), or no single vector store can be chosen.
    :raises FlowkitError: when an event is not one of :data:`CHATFLOW_EVENTS`, or
        ``chat_type`` is neither ``INTERNAL`` nor ``EXTERNAL``.
    """
    wanted = set(CHATFLOW_EVENTS if events is None else events)
    unknown = sorted(wanted.difference(CHATFLOW_EVENTS))
    if unknown:
        raise FlowkitError(
            f"event {unknown[0]!r} is not sent for a chatflow; "
            f"chatflow events: {', '.join(CHATFLOW_EVENTS)}"
        )
    try:
        kind = ChatType(chat_type)
    except ValueError:
        raise FlowkitError(f"chat type must be INTERNAL or EXTERNAL, got {chat_type!r}") from None
    if version is None:
        from flowkit import __version__

        version = __version__
    flow.validate()
    upsert = "vector_upserted" in wanted and (
        events is not None or stop_node_id is not None or bool(flow.vector_store_nodes())
    )
    signal_kwargs: dict[str, dict[str, Any]] = {
        "chatflow_created": {},
        "prediction_sent": {"chat_id": chat_id or str(uuid.uuid4()), "chat_type": kind},
    }
    if upsert:
        stop = flow.resolve_stop_node(stop_node_id)
        signal_kwargs["vector_upserted"] = {"stop_node_id": stop, "chat_type": kind}
    graph = flow_graph(flow)
    return [
        {
            "event": name,
            "properties": wire_properties(
                name, event_fields(name, flow, **signal_kwargs[name]), graph, version
            ),
        }
        for name in CHATFLOW_EVENTS
        if name in wanted and name in signal_kwargs
    ]
