"""What changed between two chatflows: :func:`diff_chatflows` and its :class:`ChatflowDiff`.

Pure: it reads two flows and changes neither. Nodes are matched by id and edges by id; a
node is *changed* when any of its fields differs (for inputs, which ones are named), and an
edge whose id stays but whose ends or handles differ counts as removed and added. Used by
the workspace revisions and ``flowkit diff``, and general enough for a plan of changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowkit.model import Chatflow, Edge, Node

__all__ = ["ChatflowDiff", "NodeChange", "diff_chatflows"]

# Node fields compared one by one (inputs are compared key by key).
_NODE_FIELDS = (
    "name",
    "label",
    "category",
    "type",
    "credential",
    "parent_id",
    "position",
    "extra",
    "data_extra",
)
_EDGE_FIELDS = ("source", "target", "source_handle", "target_handle", "type", "extra")
_FLOW_FIELDS = ("name", "type", "flow_extra")


@dataclass(frozen=True, slots=True)
class NodeChange:
    """How one node differs.

    :param node_id: the node.
    :param inputs: the input names whose values differ (added, removed or changed),
        sorted.
    :param fields: the other node fields that differ (``label``, ``position``,
        ``data_extra``, ...), in the node's field order.
    """

    node_id: str
    inputs: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line: ``"llmChain_0: inputs prompt, model; label"``."""
        parts = []
        if self.inputs:
            parts.append("inputs " + ", ".join(self.inputs))
        if self.fields:
            parts.append(", ".join(self.fields))
        return f"{self.node_id}: {'; '.join(parts)}"


@dataclass(frozen=True, slots=True)
class ChatflowDiff:
    """What turns flow ``a`` into flow ``b``.

    Ids are listed in flow order (``b``'s for what was added, ``a``'s for the rest).

    :param nodes_added: ids of nodes only ``b`` has.
    :param nodes_removed: ids of nodes only ``a`` has.
    :param nodes_changed: how each node both have, and that differs, differs.
    :param edges_added: edges only ``b`` has.
    :param edges_removed: edges only ``a`` has.
    :param flow_fields: the flow's own fields that differ (``name``, ``type``,
        ``flow_extra``).
    """

    nodes_added: tuple[str, ...] = ()
    nodes_removed: tuple[str, ...] = ()
    nodes_changed: tuple[NodeChange, ...] = ()
    edges_added: tuple[Edge, ...] = ()
    edges_removed: tuple[Edge, ...] = ()
    flow_fields: tuple[str, ...] = ()
    names: tuple[str, str] = field(default=("", ""), compare=False)

    def __bool__(self) -> bool:
        """True when the flows differ."""
        return not self.is_empty

    @property
    def is_empty(self) -> bool:
        """True when the flows have the same nodes, edges and own fields."""
        return not (
            self.nodes_added
            or self.nodes_removed
            or self.nodes_changed
            or self.edges_added
            or self.edges_removed
            or self.flow_fields
        )

    def summary(self) -> str:
        """One line of counts: ``"nodes: 1 added, 0 removed, 2 changed; edges: 1 added, 0
        removed"`` (``"no changes"`` when there are none)."""
        if self.is_empty:
            return "no changes"
        text = (
            f"nodes: {len(self.nodes_added)} added, {len(self.nodes_removed)} removed, "
            f"{len(self.nodes_changed)} changed; edges: {len(self.edges_added)} added, "
            f"{len(self.edges_removed)} removed"
        )
        if self.flow_fields:
            text += f"; flow: {', '.join(self.flow_fields)} changed"
        return text

    def render(self) -> str:
        """The diff as text, one change a line, marked ``+`` (added), ``-`` (removed) or
        ``~`` (changed), ending with :meth:`summary`."""
        lines: list[str] = []
        if "name" in self.flow_fields:
            lines.append(f"~ name: {self.names[0]!r} -> {self.names[1]!r}")
        lines += [f"~ flow {name}" for name in self.flow_fields if name != "name"]
        lines += [f"+ node {node_id}" for node_id in self.nodes_added]
        lines += [f"- node {node_id}" for node_id in self.nodes_removed]
        lines += [f"~ node {change.describe()}" for change in self.nodes_changed]
        lines += [f"+ edge {_edge_text(edge)}" for edge in self.edges_added]
        lines += [f"- edge {_edge_text(edge)}" for edge in self.edges_removed]
        lines.append(self.summary())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


def diff_chatflows(a: Chatflow, b: Chatflow) -> ChatflowDiff:
    """Return what turns chatflow ``a`` into chatflow ``b``.

    The flows' ids and times are not compared (two revisions of one flow, or a flow and its
    copy, diff as their content does).

    :param a: the flow before.
    :param b: the flow after.
    :returns: a :class:`ChatflowDiff`; empty (falsy) when the contents are equal.
    """
    nodes_a = {node.id: node for node in a.nodes}
    nodes_b = {node.id: node for node in b.nodes}
    changed = []
    for node_id, before in nodes_a.items():
        after = nodes_b.get(node_id)
        if after is not None:
            change = _node_change(before, after)
            if change is not None:
                changed.append(change)
    edges_a = {edge.id: edge for edge in a.edges}
    edges_b = {edge.id: edge for edge in b.edges}
    removed_edges = [e for i, e in edges_a.items() if not _same_edge(e, edges_b.get(i))]
    added_edges = [e for i, e in edges_b.items() if not _same_edge(e, edges_a.get(i))]
    return ChatflowDiff(
        nodes_added=tuple(i for i in nodes_b if i not in nodes_a),
        nodes_removed=tuple(i for i in nodes_a if i not in nodes_b),
        nodes_changed=tuple(changed),
        edges_added=tuple(added_edges),
        edges_removed=tuple(removed_edges),
        flow_fields=tuple(f for f in _FLOW_FIELDS if getattr(a, f) != getattr(b, f)),
        names=(a.name, b.name),
    )


def _node_change(before: Node, after: Node) -> NodeChange | None:
    inputs = sorted(
        key
        for key in before.inputs.keys() | after.inputs.keys()
        if not _equal(before.inputs.get(key, _MISSING), after.inputs.get(key, _MISSING))
    )
    fields = tuple(f for f in _NODE_FIELDS if not _equal(getattr(before, f), getattr(after, f)))
    if not inputs and not fields:
        return None
    return NodeChange(node_id=before.id, inputs=tuple(inputs), fields=fields)


def _same_edge(edge: Edge, other: Edge | None) -> bool:
    return other is not None and all(
        _equal(getattr(edge, f), getattr(other, f)) for f in _EDGE_FIELDS
    )


_MISSING = object()


def _equal(x: Any, y: Any) -> bool:
    # ``==`` on floats says NaN != NaN; a value compared with itself is unchanged.
    if x is y:
        return True
    try:
        return bool(x == y) or _json_equal(x, y)
    except Exception:  # a user value whose __eq__ raises: treat it as changed
        return False


def _json_equal(x: Any, y: Any) -> bool:
    """Equal as JSON values, where NaN equals NaN (a stored NaN reads back as a new float)."""
    if isinstance(x, float) and isinstance(y, float):
        return x != x and y != y
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_equal(x[k], y[k]) for k in x)
    if isinstance(x, list | tuple) and isinstance(y, list | tuple):
        return len(x) == len(y) and all(_equal(i, j) for i, j in zip(x, y, strict=True))
    return False


def _edge_text(edge: Edge) -> str:
    source = edge.target_input
    into = f" ({source})" if source else ""
    return f"{edge.source} -> {edge.target}{into}"
