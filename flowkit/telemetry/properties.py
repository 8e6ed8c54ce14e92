"""From a signal to the wire: the one code path that builds every event's ``properties``.

The :class:`~flowkit.telemetry.Telemetry` client and ``flowkit preview`` both go through
these functions, so what a preview prints is exactly what the client sends:

- :func:`event_fields` reads a signal's sender and keyword arguments into the payload's
  fields (through the event's declaration in :data:`~flowkit.telemetry.events.TABLE`);
- :func:`wire_properties` validates those fields, with the flow's anonymized graph, against
  the event's model in a profile and returns the wire dict (it runs on the delivery thread);
- :func:`preview_events` does both for a chatflow as the workspace's operations would.

Nothing here sends, reads or writes anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from enum import Enum
from typing import Any

from flowkit.errors import FlowkitError
from flowkit.model import Chatflow, ChatType
from flowkit.telemetry.anonymize import flow_graph
from flowkit.telemetry.events import (
    DEFAULT_PROFILE,
    PROFILES,
    TABLE,
    FlowGraph,
    Profile,
    check_profile,
    spec,
)

__all__ = [
    "CHATFLOW_EVENTS",
    "GRAPH_EVENTS",
    "event_fields",
    "preview_events",
    "wire_properties",
]

GRAPH_EVENTS: frozenset[str] = frozenset(event.name for event in TABLE if event.graph)
"""The events whose properties carry the flow's anonymized ``flowGraph``."""

CHATFLOW_EVENTS: tuple[str, ...] = ("chatflow_created", "vector_upserted", "prediction_sent")
"""The events an operation on a chatflow sends, in the order a flow's life sends them."""


def event_fields(name: str, sender: Any, **signal_kwargs: Any) -> dict[str, Any]:
    """Return the payload fields (snake_case, without ``version`` and ``flow_graph``) of
    event ``name`` from its signal's sender and keyword arguments.

    :raises FlowkitError: when ``name`` is unknown or the arguments do not fit the event.
    """
    event = spec(name)
    try:
        return event.read(sender, signal_kwargs)
    except KeyError as exc:
        raise FlowkitError(f"{name}: missing signal argument {exc.args[0]!r}") from None
    except (TypeError, AttributeError) as exc:
        raise FlowkitError(f"{name}: {exc}") from None


def _exact_types(annotation: Any) -> tuple[type, ...] | None:
    """The types a field accepts as they are, with nothing to convert: ``str`` for a str
    field, the enum for an enum field; None for anything else (always fully validated)."""
    if annotation is str:
        return (str,)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return (annotation,)
    return None


# Per (event, profile): (field, wire key, exact types, default) in wire order, read off
# the models; a field with a default (productId...) is a constant of the profile.
_Layout = tuple[tuple[str, str, "tuple[type, ...] | None", bool, Any], ...]
_LAYOUT: dict[tuple[str, Profile], _Layout] = {
    (event.name, profile): tuple(
        (
            key,
            field.alias or key,
            _exact_types(field.annotation),
            not field.is_required(),
            field.default,
        )
        for key, field in event.model(profile).model_fields.items()
    )
    for event in TABLE
    for profile in PROFILES
}


def _already_valid(layout: _Layout, values: dict[str, Any]) -> bool:
    """Whether ``values`` are exactly what the model would accept and keep unchanged."""
    given = 0
    for key, _, types, constant, _default in layout:
        if constant or key == "flow_graph":
            given += key in values
            continue
        given += 1
        if types is None or type(values.get(key)) not in types:
            return False
    return given == len(values)


def wire_properties(
    name: str,
    fields: dict[str, Any],
    graph: dict[str, Any] | None,
    version: str,
    *,
    profile: Profile = DEFAULT_PROFILE,
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
    :param profile: the wire profile (``flowise-1`` or ``flowise-3``).
    :param checked_graphs: a cache, keyed by ``id(graph)``, of graphs already checked; a
        caller that builds a batch shares one so that a graph is checked once per batch.
    :returns: the profile's keys in the profile's order, enums as their values.
    :raises FlowkitError: when ``name`` or ``profile`` is unknown.
    :raises pydantic.ValidationError: when the fields do not make a valid payload.
    """
    layout = _LAYOUT.get((name, profile))
    if layout is None:
        spec(name)
        check_profile(profile)
        raise AssertionError("unreachable")  # pragma: no cover
    values: dict[str, Any] = {"version": version, **fields}
    if graph is not None:
        checked = checked_graphs.get(id(graph)) if checked_graphs is not None else None
        if checked is None:
            checked = FlowGraph.model_validate(graph)
            if checked_graphs is not None:
                checked_graphs[id(graph)] = checked
        values["flow_graph"] = checked
    if not _already_valid(layout, values):
        payload = spec(name).model(profile).model_validate(values)
        values = {key: getattr(payload, key) for key in type(payload).model_fields}
    properties: dict[str, Any] = {}
    for key, wire_key, _, constant, default in layout:
        if key == "flow_graph":
            value: Any = graph
        elif constant:
            value = values.get(key, default)
        else:
            value = values[key]
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
    profile: Profile = DEFAULT_PROFILE,
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
    :param profile: the wire profile (``flowise-1``, the default, or ``flowise-3``).
    :returns: ``[{"event": name, "properties": {...}}, ...]`` in :data:`CHATFLOW_EVENTS` order.
    :raises FlowValidationError: when the flow is invalid (the workspace would refuse to
        save it, so nothing would be sent), or no single vector store can be chosen.
    :raises FlowkitError: when an event is not one of :data:`CHATFLOW_EVENTS`, the profile
        is unknown, or ``chat_type`` is neither ``INTERNAL`` nor ``EXTERNAL``.
    """
    check_profile(profile)
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
    _check_flow(flow)
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
                name,
                event_fields(name, flow, **signal_kwargs[name]),
                graph,
                version,
                profile=profile,
            ),
        }
        for name in CHATFLOW_EVENTS
        if name in wanted and name in signal_kwargs
    ]


def _check_flow(flow: Chatflow) -> None:
    """Refuse an invalid flow (``Chatflow.check``, formerly ``validate``)."""
    flow.check()
