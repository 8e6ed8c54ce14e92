"""Flowise interop: ``flowData``, API records, marketplace templates and tool exports.

Loading keeps every field Flowise wrote and the order of every object's keys, so that
``to_flowise(from_flowise(x))`` equals ``x``'s nodes and edges exactly, and a re-exported
file diffs cleanly against the original.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from flowkit.errors import FlowValidationError
from flowkit.model import Chatflow, Edge, FlowType, Node, Tool
from flowkit.model.build import build

__all__ = [
    "chatflow_from_flowise",
    "chatflow_to_flowise",
    "detect_flow_type",
    "read_json",
    "tool_from_flowise",
    "tool_to_flowise",
]

Source = str | bytes | Path | Mapping[str, Any]

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
_TOOL_KEYS = (
    ("id", "id"),
    ("name", "name"),
    ("description", "description"),
    ("color", "color"),
    ("iconSrc", "icon_src"),
    ("schema", "schema_"),
    ("func", "func"),
)
_TEMPLATE_KEYS = frozenset({"description", "usecases", "framework", "categories", "badge"})
# flowData keys never kept in flow_extra: exported, they would make the export read back as
# a template or an API record, not as the same flow.
_NOT_FLOW_EXTRA = _TEMPLATE_KEYS | {"nodes", "edges", "flowData"}
_AGENT_FLOW_CATEGORY = "Agent Flows"
_MULTI_AGENT_CATEGORIES = frozenset({"Multi Agents", "Sequential Agents"})


MAX_DEPTH = 200
"""How deeply dicts and lists may nest in what is read: deeper input is refused, so that
whatever loads can also be exported, copied and serialised (pydantic, ``json``, ``copy``)
without reaching Python's recursion limit."""


def clone(value: Any) -> Any:
    """Deep-copy JSON-shaped data (dicts and lists) at any depth, without recursion; other
    values are shared."""
    return _copy(value, None)


def _copy(value: Any, max_depth: int | None) -> Any:
    """``clone``, refusing data nested deeper than ``max_depth`` (when given).

    :raises _TooDeep: when the data nests deeper than ``max_depth``.
    """
    kind = type(value)
    if kind is not dict and kind is not list:
        return value
    top: Any = {} if kind is dict else []
    pending: list[tuple[Any, Any, int]] = [(value, top, 1)]
    while pending:
        source, target, depth = pending.pop()
        if max_depth is not None and depth > max_depth:
            raise _TooDeep
        items = source.items() if type(source) is dict else enumerate(source)
        is_list = type(target) is list
        for key, item in items:
            kind = type(item)
            if kind is dict or kind is list:
                item_copy: Any = {} if kind is dict else []
                pending.append((item, item_copy, depth + 1))
                item = item_copy
            if is_list:
                target.append(item)
            else:
                target[key] = item
    return top


def _deeper_than(value: Any, max_depth: int) -> bool:
    """Whether dicts and lists nest deeper than ``max_depth`` in ``value`` (no recursion)."""
    level = [value] if type(value) in (dict, list) else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return True
        below: list[Any] = []
        for item in level:
            below += [
                inner
                for inner in (item.values() if type(item) is dict else item)
                if type(inner) is dict or type(inner) is list
            ]
        level = below
    return False


class _TooDeep(Exception):
    """Data nests deeper than allowed."""


def _too_deep(what: str) -> FlowValidationError:
    return FlowValidationError(f"{what}: JSON nested too deeply (more than {MAX_DEPTH} levels)")


def read_json(source: Source, what: str = "input") -> Any:
    """Return the parsed JSON of ``source``: a mapping (deep-copied), JSON text, or a path.

    A ``str`` that starts with ``{`` or ``[`` (after white space) is JSON text; any other
    ``str`` is a path.

    :raises FlowValidationError: when ``source`` is none of those, the file cannot be read,
        is not JSON, or nests dicts and lists more than :data:`MAX_DEPTH` levels deep.
    """
    if isinstance(source, Mapping):
        try:
            return _copy(dict(source), MAX_DEPTH)
        except _TooDeep:
            raise _too_deep(what) from None
    if isinstance(source, bytes) or (isinstance(source, str) and not _names_a_file(source)):
        return _parse_json(source, what)
    try:
        path = Path(source)
    except TypeError:  # None, a number, a list...: nothing flowkit can read
        raise FlowValidationError(
            f"{what} must be a mapping, JSON text, bytes or a path, got {type(source).__name__}"
        ) from None
    try:
        text = path.read_bytes()
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise FlowValidationError(f"cannot read file '{path}': {reason}") from None
    return _parse_json(text, f"file '{path}'")


def _names_a_file(text: str) -> bool:
    """Whether ``read_json`` takes the string ``text`` for a path (else for JSON text)."""
    return text.lstrip()[:1] not in ("{", "[")


def _parse_json(text: str | bytes, what: str = "input") -> Any:
    """Return the parsed JSON text ``text`` (never read as a path).

    :param what: how to name the text in a message, e.g. ``"flowData"``.
    :raises FlowValidationError: when it is not JSON or is nested too deeply.
    """
    try:
        parsed = json.loads(text)
    except RecursionError:
        raise FlowValidationError(f"{what}: JSON nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, huge integers
        raise FlowValidationError(f"{what} is not valid JSON: {exc}") from None
    if _deeper_than(parsed, MAX_DEPTH):
        raise _too_deep(what)
    return parsed


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def detect_flow_type(nodes: list[Node]) -> FlowType:
    """Return the flow type its nodes imply: ``AGENTFLOW`` for v2 ``"Agent Flows"`` nodes,
    ``MULTIAGENT`` for Multi Agents or Sequential Agents nodes, else ``CHATFLOW``."""
    categories = {n.category for n in nodes}
    if _AGENT_FLOW_CATEGORY in categories:
        return FlowType.AGENTFLOW
    if categories & _MULTI_AGENT_CATEGORIES:
        return FlowType.MULTIAGENT
    return FlowType.CHATFLOW


# ---- chatflows ----------------------------------------------------------------------------


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
        (``{id, name, type, flowData: "<json>", ...}``), or a path to a file holding any of
        them. A mapping is deep-copied: the flow never shares state with it.
    :param name: the flow's name (default: the record's name, else the file's stem).
    :param id: the flow's id (default: the record's id, else a fresh uuid4).
    :param type: the flow type (default: the record's type, else detected from the nodes
        with :func:`detect_flow_type`).
    :returns: the flow; ``to_flowise()`` gives back the input's nodes and edges exactly.
    :raises FlowValidationError: naming every problem at once (not JSON, not an object,
        missing or malformed ``nodes``/``edges``, a node without id, duplicate ids, an edge
        to an unknown node); no flow is returned then.
    """
    try:
        return _chatflow_from_flowise(source, name=name, id=id, type=type)
    except RecursionError:
        raise FlowValidationError("the flow is nested too deeply to read") from None


def _chatflow_from_flowise(
    source: Source, *, name: str | None, id: str | None, type: FlowType | str | None
) -> Chatflow:
    obj = read_json(source)
    if not isinstance(obj, dict):
        raise FlowValidationError(f"a Flowise flow must be a JSON object, got {_kind(obj)}")
    fields: dict[str, Any] = {}
    if isinstance(source, Path) or (isinstance(source, str) and _names_a_file(source)):
        fields["name"] = Path(source).stem  # a record's own name, read next, wins
    flow_data: Any = obj
    if "flowData" in obj:  # an API record
        raw = obj["flowData"]
        # Always JSON text: a record's string is never taken for a path to read.
        flow_data = _parse_json(raw, "flowData") if isinstance(raw, str | bytes) else raw
        if not isinstance(flow_data, dict):
            raise FlowValidationError(f"flowData must be a JSON object, got {_kind(flow_data)}")
        for key, field in (("id", "id"), ("name", "name"), ("type", "type")):
            if obj.get(key) is not None:
                fields[field] = obj[key]
        for key, field in (("createdDate", "created_at"), ("updatedDate", "updated_at")):
            if obj.get(key):
                fields[field] = obj[key]
    is_template = "flowData" not in obj and bool(_TEMPLATE_KEYS & obj.keys())
    problems: list[str] = []
    nodes_raw, edges_raw = flow_data.get("nodes"), flow_data.get("edges")
    for key, value in (("nodes", nodes_raw), ("edges", edges_raw)):
        if not isinstance(value, list):
            got = "missing" if value is None else f"{_kind(value)}, not a list"
            problems.append(f"'{key}' must be a list of {key}, got {got}")
    if problems:
        raise FlowValidationError(problems)
    nodes = _parts(nodes_raw, "node", _node_from_flowise, problems)
    edges = _parts(edges_raw, "edge", _edge_from_flowise, problems)
    if problems:
        raise FlowValidationError(problems)
    if not is_template:
        fields["flow_extra"] = {
            k: v for k, v in flow_data.items() if k not in _NOT_FLOW_EXTRA
        }
    for key, value in (("id", id), ("name", name), ("type", type)):
        if value is not None:
            fields[key] = value
    fields.setdefault("type", detect_flow_type(nodes))
    flow_fields = build(_FlowFields, fields, "chatflow").model_dump(exclude_unset=True)
    return Chatflow.from_parts(nodes, edges, **flow_fields)


class _FlowFields(BaseModel):
    """The flow's own fields, checked before anything is built."""

    id: str | None = None
    name: str | None = None
    type: FlowType
    created_at: Any = None
    updated_at: Any = None
    flow_extra: dict[str, Any] | None = None

    def model_post_init(self, _context: Any) -> None:
        # Check the timestamps with Chatflow's own types, so a bad one names the chatflow.
        if self.created_at is not None or self.updated_at is not None:
            probe = {k: getattr(self, k) for k in ("created_at", "updated_at")}
            build(Chatflow, {k: v for k, v in probe.items() if v is not None}, "chatflow")


def _parts(
    raw: list[Any], what: str, parse: Callable[[dict[str, Any], str], Any], problems: list[str]
) -> list[Any]:
    out = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            problems.append(f"{what} #{index} must be an object, got {_kind(item)}")
            continue
        ident = item.get("id")
        label = f"{what} {ident!r}" if isinstance(ident, str) and ident else f"{what} #{index}"
        try:
            out.append(parse(item, label))
        except FlowValidationError as exc:
            problems.extend(exc.problems)
    return out


def _node_from_flowise(raw: dict[str, Any], label: str) -> Node:
    if not isinstance(raw.get("id"), str) or not raw["id"]:
        raise FlowValidationError(f"{label} has no id (a non-empty string)")
    data = raw.get("data")
    if "data" in raw and not isinstance(data, dict):
        raise FlowValidationError(f"{label}: 'data' must be an object, got {_kind(data)}")
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
    node = build(Node, fields, label)
    node.__pydantic_fields_set__.difference_update(("extra", "data_extra"))
    node._layout = tuple(raw)
    node._data_layout = tuple(data) if isinstance(data, dict) else ()
    return node


def _edge_from_flowise(raw: dict[str, Any], label: str) -> Edge:
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
            raise FlowValidationError(f"{label} has no {end} (a node id)")
    generated = "id" not in fields
    if generated:  # Flowise's own id scheme; not exported, since the input had none
        fields["id"] = "-".join(
            str(fields.get(k) or "") for k in ("source", "source_handle", "target", "target_handle")
        )
    fields["extra"] = extra
    edge = build(Edge, fields, label)
    edge.__pydantic_fields_set__.discard("extra")
    if generated:
        edge.__pydantic_fields_set__.discard("id")
    edge._layout = tuple(raw)
    return edge


def _assemble(
    layout: tuple[str, ...] | None,
    known: Mapping[str, Any],
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """Lay out ``known`` values and ``extra`` keys in the source's key order, new keys last."""
    out: dict[str, Any] = {}
    for key in layout or ():
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


def _emitted(
    part: BaseModel, pairs: tuple[tuple[str, str], ...], loaded: bool
) -> dict[str, Any]:
    """The known keys to write: what the source had or was set since; for parts built in
    code, every field with a value."""
    chosen = part.model_fields_set
    out: dict[str, Any] = {}
    for key, field in pairs:
        value = getattr(part, field)
        if field in chosen or (not loaded and value is not None):
            out[key] = clone(value)
    return out


def node_to_flowise(node: Node) -> dict[str, Any]:
    """Return one node as Flowise writes it, keys in the source's order."""
    loaded = node._layout is not None
    data = _assemble(node._data_layout, _emitted(node, _NODE_DATA, loaded), node.data_extra)
    known = _emitted(node, _NODE_TOP, loaded)
    if data or not loaded or "data" in (node._layout or ()):
        known["data"] = data
    return _assemble(node._layout, known, node.extra)


def edge_to_flowise(edge: Edge) -> dict[str, Any]:
    """Return one edge as Flowise writes it, keys in the source's order."""
    loaded = edge._layout is not None
    return _assemble(edge._layout, _emitted(edge, _EDGE_KEYS, loaded), edge.extra)


def chatflow_to_flowise(flow: Chatflow) -> dict[str, Any]:
    """Return the flow as Flowise's ``flowData``: ``{"nodes": [...], "edges": [...]}``.

    Other ``flowData`` keys the flow was loaded with (``viewport``, ...) follow them, except
    a template's ``description``, ``usecases``, ``framework``, ``categories``, ``badge`` and a
    nested ``flowData``, which are not read (the export would read back as a template or an
    API record). The result is a fresh structure: changing it never changes the flow.
    """
    out: dict[str, Any] = {
        "nodes": [node_to_flowise(n) for n in flow.nodes],
        "edges": [edge_to_flowise(e) for e in flow.edges],
    }
    for key, value in flow.flow_extra.items():
        out.setdefault(key, clone(value))
    return out


# ---- tools --------------------------------------------------------------------------------


def tool_from_flowise(source: Source) -> Tool:
    """Load a Flowise tool export (``{name, description, color, iconSrc, schema, func}``) or
    API record, from a mapping, JSON text or a file.

    :raises FlowValidationError: when the input is not JSON, not an object, has no name, or
        a field has the wrong type.
    """
    try:
        obj = read_json(source)
    except RecursionError:
        raise FlowValidationError("the tool is nested too deeply to read") from None
    if not isinstance(obj, dict):
        raise FlowValidationError(f"a Flowise tool must be a JSON object, got {_kind(obj)}")
    known = dict(_TOOL_KEYS)
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in obj.items():
        if key in known:
            fields[known[key]] = value
        else:
            extra[key] = value
    if not isinstance(fields.get("name"), str) or not fields["name"]:
        raise FlowValidationError("tool has no name (a non-empty string)")
    if "schema_" in fields:  # validated under its alias, the name Flowise and users write
        fields["schema"] = fields.pop("schema_")
    fields["extra"] = extra
    tool = build(Tool, fields, f"tool {fields['name']!r}")
    tool.__pydantic_fields_set__.discard("extra")
    tool._layout = tuple(obj)
    return tool


def tool_to_flowise(tool: Tool) -> dict[str, Any]:
    """Return the tool as Flowise exports it, keys in the source's order.

    A tool built in code is written without its ``id`` (as the marketplace exports are).
    """
    loaded = tool._layout is not None
    pairs = _TOOL_KEYS if loaded else _TOOL_KEYS[1:]
    return _assemble(tool._layout, _emitted(tool, pairs, loaded), tool.extra)
