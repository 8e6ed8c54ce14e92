"""Flowise interop: ``flowData``, API records, marketplace templates and tool exports.

Loading keeps every field Flowise wrote and the order of every object's keys, so that
``to_flowise(from_flowise(x))`` equals ``x``'s nodes and edges exactly, and a re-exported
file diffs cleanly against the original. A chatflow's API record (``{id, name, flowData:
"<json>", deployed, ...}``) is ``flow.model_dump()``; ``Chatflow.model_validate(record)``
reads one back.

The shapes themselves are read and written by :mod:`flowkit.model.flowdata` (so that the
model's own ``from_flowise``/``to_flowise`` and its pydantic serialization use them); this
module is their public home.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowkit.model import Chatflow, FlowType
from flowkit.model.entities import tool_from_flowise, tool_to_flowise
from flowkit.model.flowdata import detect_flow_type, edge_to_flowise, node_to_flowise
from flowkit.model.jsondata import MAX_DEPTH, Source, clone, read_json

__all__ = [
    "MAX_DEPTH",
    "Source",
    "chatflow_from_flowise",
    "chatflow_to_flowise",
    "clone",
    "detect_flow_type",
    "edge_to_flowise",
    "is_tool_export",
    "node_to_flowise",
    "read_json",
    "tool_from_flowise",
    "tool_to_flowise",
]


def chatflow_from_flowise(
    source: Source,
    *,
    name: str | None = None,
    id: str | None = None,
    type: FlowType | str | None = None,
) -> Chatflow:
    """Load a Flowise flow.

    :param source: a ``flowData`` object or JSON text (``{nodes, edges}``), a marketplace
        template (``{description, usecases, nodes, edges}``), a Flowise API record
        (``{id, name, type, flowData: "<json>", ...}``, every other key kept), or a path to
        a file holding any of them. A mapping is deep-copied: the flow never shares state
        with it.
    :param name: the flow's name (default: the record's name, else the file's stem).
    :param id: the flow's id (default: the record's id, else a fresh uuid4).
    :param type: the flow type (default: the record's type, else detected from the nodes
        with :func:`detect_flow_type`).
    :returns: the flow; ``to_flowise()`` gives back the input's nodes and edges exactly.
    :raises FlowValidationError: naming every problem at once (not JSON, not an object,
        missing or malformed ``nodes``/``edges``, a node without id, duplicate ids, an edge
        to an unknown node); no flow is returned then.
    """
    return Chatflow.from_flowise(source, name=name, id=id, type=type)


def chatflow_to_flowise(flow: Chatflow) -> dict[str, Any]:
    """Return the flow as Flowise's ``flowData``: ``{"nodes": [...], "edges": [...]}``.

    Other ``flowData`` keys the flow was loaded with (``viewport``, ...) follow them. The
    result is a fresh structure: changing it never changes the flow.
    """
    return flow.to_flowise()


_TOOL_ONLY_KEYS = frozenset({"func", "schema"})


def is_tool_export(obj: Any) -> bool:
    """Whether parsed JSON ``obj`` is a Flowise tool export or tool record (it has ``func``
    or ``schema`` and neither ``nodes`` nor ``flowData``), not a flow.

    :param obj: what :func:`read_json` returned.
    """
    return (
        isinstance(obj, Mapping)
        and bool(_TOOL_ONLY_KEYS & obj.keys())
        and not {"nodes", "flowData"} & obj.keys()
    )
