"""Flowise's JSON shapes, read into parts and written back: ``flowData``, API records.

Pure data: the functions here turn Flowise objects into :class:`Node` and :class:`Edge`
fields and back, keeping every key Flowise wrote and the order of every object's keys, so
that exporting what was read gives the same objects, key for key. :class:`Chatflow` and
:mod:`flowkit.flowise` build on them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from flowkit.errors import FlowValidationError
from flowkit.model.build import build
from flowkit.model.enums import AGENT_FLOW_CATEGORY, FlowType
from flowkit.model.jsondata import Source, clone, kind_of, names_a_file, parse_json, read_json
from flowkit.model.parts import Edge, Node

__all__ = [
    "RECORD_KEYS",
    "TEMPLATE_KEYS",
    "assemble",
    "detect_flow_type",
    "edge_to_flowise",
    "emitted",
    "flow_data",
    "node_to_flowise",
    "parse_flow",
]

# (Flowise key, model field) pairs, in the order Flowise writes them.
_NODE_TOP = (("id", "id"), ("position", "position"), ("type", "type"), ("parentNode", "parent_id"))
_NODE_DATA = (
    ("label", "label"),
    ("name", "name"),
    ("category", "category"),
    ("credential", "credential"),
    ("inputs", "inputs"),
)
_EDGE_KEYS = (
    ("source", "source"),
    ("sourceHandle", "source_handle"),
    ("target", "target"),
    ("targetHandle", "target_handle"),
    ("type", "type"),
    ("id", "id"),
)
RECORD_KEYS = (
    ("id", "id"),
    ("name", "name"),
    ("deployed", "deployed"),
    ("isPublic", "is_public"),
    ("apikeyid", "apikeyid"),
    ("chatbotConfig", "chatbot_config"),
    ("apiConfig", "api_config"),
    ("category", "category"),
    ("type", "type"),
    ("createdDate", "created_at"),
    ("updatedDate", "updated_at"),
)
"""(API record key, :class:`Chatflow` field) pairs, in the order flowkit writes a record
(``flowData`` follows ``name``)."""
_RECORD_FIELDS = dict(RECORD_KEYS)
TEMPLATE_KEYS = frozenset({"description", "usecases", "framework", "categories", "badge"})
"""Top-level keys that make a file a marketplace template (never kept with a flow)."""
# flowData keys never kept in flow_extra: exported, they would make the export read back as
# a template or an API record, not as the same flow.
_NOT_FLOW_EXTRA = TEMPLATE_KEYS | {"nodes", "edges", "flowData"}
_MULTI_AGENT_CATEGORIES = frozenset({"Multi Agents", "Sequential Agents"})


def detect_flow_type(nodes: list[Node]) -> FlowType:
    """Return the flow type its nodes imply: ``AGENTFLOW`` for v2 ``"Agent Flows"`` nodes,
    ``MULTIAGENT`` for Multi Agents or Sequential Agents nodes, else ``CHATFLOW``."""
    categories = {n.category for n in nodes}
    if AGENT_FLOW_CATEGORY in categories:
        return FlowType.AGENTFLOW
    if categories & _MULTI_AGENT_CATEGORIES:
        return FlowType.MULTIAGENT
    return FlowType.CHATFLOW


# ---- reading --------------------------------------------------------------------------------


def parse_flow(
    source: Source,
    *,
    name: str | None = None,
    id: str | None = None,
    type: FlowType | str | None = None,
) -> tuple[dict[str, Any], list[Node], list[Edge]]:
    """Read a Flowise flow into the flow's own fields, its nodes and its edges.

    :param source: a ``flowData`` object or JSON text, a marketplace template, a Flowise API
        record (``flowData`` as a JSON string or an object) or a path to a file of either.
    :param name: the flow's name (default: the record's name, else the file's stem).
    :param id: the flow's id (default: the record's id).
    :param type: the flow type (default: the record's type, else :func:`detect_flow_type`).
    :returns: ``(fields, nodes, edges)``; ``fields`` are :class:`Chatflow` field values
        (not yet validated).
    :raises FlowValidationError: naming every problem of the nodes and edges at once.
    """
    try:
        return _parse_flow(source, name=name, id=id, type=type)
    except RecursionError:
        raise FlowValidationError(
            "the flow is nested too deeply to read; flatten its data"
        ) from None


def _parse_flow(
    source: Source, *, name: str | None, id: str | None, type: FlowType | str | None
) -> tuple[dict[str, Any], list[Node], list[Edge]]:
    obj = read_json(source)
    if not isinstance(obj, dict):
        raise FlowValidationError(
            f"a Flowise flow must be a JSON object, got {kind_of(obj)}; pass a flow export, "
            "a template or an API record"
        )
    fields: dict[str, Any] = {}
    if isinstance(source, Path) or (isinstance(source, str) and names_a_file(source)):
        fields["name"] = Path(source).stem  # a record's own name, read next, wins
    flow_data: Any = obj
    if "flowData" in obj:  # an API record
        raw = obj["flowData"]
        # Always JSON text: a record's string is never taken for a path to read.
        flow_data = parse_json(raw, "flowData") if isinstance(raw, str | bytes) else raw
        if not isinstance(flow_data, dict):
            raise FlowValidationError(
                f"flowData must be a JSON object with nodes and edges, got {kind_of(flow_data)}"
            )
        fields.update(record_fields(obj))
    is_template = "flowData" not in obj and bool(TEMPLATE_KEYS & obj.keys())
    problems: list[str] = []
    nodes_raw, edges_raw = flow_data.get("nodes"), flow_data.get("edges")
    for key, value in (("nodes", nodes_raw), ("edges", edges_raw)):
        if not isinstance(value, list):
            got = "missing" if value is None else f"{kind_of(value)}, not a list"
            problems.append(f"'{key}' must be a list of {key}, got {got}")
    if problems:
        raise FlowValidationError(problems)
    nodes = _parts(nodes_raw, "node", node_from_flowise, problems)
    edges = _parts(edges_raw, "edge", edge_from_flowise, problems)
    if problems:
        raise FlowValidationError(problems)
    if not is_template:
        fields["flow_extra"] = {k: v for k, v in flow_data.items() if k not in _NOT_FLOW_EXTRA}
    for key, value in (("id", id), ("name", name), ("type", type)):
        if value is not None:
            fields[key] = value
    fields.setdefault("type", detect_flow_type(nodes))
    return fields, nodes, edges


def record_fields(record: Mapping[str, Any]) -> dict[str, Any]:
    """Return the :class:`Chatflow` fields of an API record's keys other than ``flowData``.

    ``id``, ``name`` and ``type`` are taken when not null, the dates when not empty; every
    key flowkit has no field for goes, verbatim, into ``record_extra``.
    """
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in record.items():
        field = _RECORD_FIELDS.get(key)
        if key == "flowData":
            continue
        if field is None:
            extra[key] = clone(value)
        elif field in ("id", "name", "type"):
            if value is not None:
                fields[field] = value
        elif field in ("created_at", "updated_at"):
            if value:
                fields[field] = value
        else:
            fields[field] = clone(value)
    if extra:
        fields["record_extra"] = extra
    return fields


def _parts(
    raw: list[Any], what: str, parse: Callable[[dict[str, Any], str], Any], problems: list[str]
) -> list[Any]:
    out = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            problems.append(f"{what} #{index} must be an object, got {kind_of(item)}")
            continue
        ident = item.get("id")
        label = f"{what} {ident!r}" if isinstance(ident, str) and ident else f"{what} #{index}"
        try:
            out.append(parse(item, label))
        except FlowValidationError as exc:
            problems.extend(exc.problems)
    return out


def node_from_flowise(raw: dict[str, Any], label: str) -> Node:
    """Return the :class:`Node` of one Flowise node object (the object is not kept).

    :param label: how to name the node in a message, e.g. ``"node 'faiss_0'"``.
    :raises FlowValidationError: when it has no id or a field has the wrong type.
    """
    if not isinstance(raw.get("id"), str) or not raw["id"]:
        raise FlowValidationError(f"{label} has no id (a non-empty string); give it one")
    data = raw.get("data")
    if "data" in raw and not isinstance(data, dict):
        raise FlowValidationError(f"{label}: 'data' must be an object, got {kind_of(data)}")
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    top = dict(_NODE_TOP)
    for key, value in raw.items():
        if key in top:
            fields[top[key]] = value
        elif key != "data":
            extra[key] = value
    data_extra: dict[str, Any] = {}
    if isinstance(data, dict):
        inner = dict(_NODE_DATA)
        for key, value in data.items():
            if key in inner:
                fields[inner[key]] = value
            else:
                data_extra[key] = value
    fields["extra"] = extra
    fields["data_extra"] = data_extra
    fields["key_order"] = tuple(raw)
    fields["data_key_order"] = tuple(data) if isinstance(data, dict) else ()
    return build(Node, fields, label)


def edge_from_flowise(raw: dict[str, Any], label: str) -> Edge:
    """Return the :class:`Edge` of one Flowise edge object; an edge without an id gets
    Flowise's own ``<source>-<sourceHandle>-<target>-<targetHandle>`` (never exported).

    :raises FlowValidationError: when an end is missing or a field has the wrong type.
    """
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    known = dict(_EDGE_KEYS)
    for key, value in raw.items():
        if key in known:
            fields[known[key]] = value
        else:
            extra[key] = value
    for end in ("source", "target"):
        if not isinstance(fields.get(end), str) or not fields[end]:
            raise FlowValidationError(f"{label} has no {end} (a node id); give it one")
    if "id" not in fields:  # Flowise's own id scheme; not exported, since the input had none
        fields["id"] = "-".join(
            str(fields.get(k) or "") for k in ("source", "source_handle", "target", "target_handle")
        )
    fields["extra"] = extra
    fields["key_order"] = tuple(raw)
    return build(Edge, fields, label)


# ---- writing --------------------------------------------------------------------------------


def assemble(
    key_order: tuple[str, ...] | None,
    known: Mapping[str, Any],
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """Lay out ``known`` values and ``extra`` keys in ``key_order``, other keys last."""
    out: dict[str, Any] = {}
    for key in key_order or ():
        if key in known:
            out[key] = known[key]
        elif key in extra:
            out[key] = clone(extra[key])
    for key, value in known.items():
        if key not in out:
            out[key] = value
    for key, value in extra.items():
        if key not in out:
            out[key] = clone(value)
    return out


def emitted(
    part: BaseModel,
    pairs: tuple[tuple[str, str], ...],
    key_order: tuple[str, ...] | None,
    present_only: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The known keys to write for ``part``: for a part read from Flowise (``key_order`` not
    None), the keys it had and the fields changed from their default since (except the
    ``present_only`` keys, written only when it had them); for a part built in code, every
    field with a value."""
    fields = type(part).model_fields
    out: dict[str, Any] = {}
    for key, field in pairs:
        value = getattr(part, field)
        if key_order is None:
            wanted = value is not None
        elif key in key_order:
            wanted = True
        elif key in present_only:
            wanted = False
        else:
            info = fields[field]
            wanted = not info.is_required() and value != info.get_default(call_default_factory=True)
        if wanted:
            out[key] = clone(value)
    return out


def node_to_flowise(node: Node) -> dict[str, Any]:
    """Return one node as Flowise writes it, keys in the source's order."""
    order = node.key_order
    data_order = None if order is None else node.data_key_order or ()
    data = assemble(data_order, emitted(node, _NODE_DATA, data_order), node.data_extra)
    known = emitted(node, _NODE_TOP, order)
    if data or order is None or "data" in order:
        known["data"] = data
    return assemble(order, known, node.extra)


def edge_to_flowise(edge: Edge) -> dict[str, Any]:
    """Return one edge as Flowise writes it, keys in the source's order."""
    return assemble(edge.key_order, emitted(edge, _EDGE_KEYS, edge.key_order), edge.extra)


def flow_data(
    nodes: list[Node], edges: list[Edge], flow_extra: Mapping[str, Any]
) -> dict[str, Any]:
    """Return Flowise's ``flowData`` object: ``{"nodes": [...], "edges": [...], ...}``, then
    the other keys of ``flow_extra`` (template keys and a nested ``flowData`` excepted).
    The result is a fresh structure."""
    out: dict[str, Any] = {
        "nodes": [node_to_flowise(n) for n in nodes],
        "edges": [edge_to_flowise(e) for e in edges],
    }
    for key, value in flow_extra.items():
        if key not in _NOT_FLOW_EXTRA:
            out.setdefault(key, clone(value))
    return out
