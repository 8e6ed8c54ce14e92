"""The :class:`Chatflow`: a flow's identity plus one ``networkx.MultiDiGraph`` of its parts."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from flowkit.errors import FlowkitError, FlowValidationError
from flowkit.model.build import build
from flowkit.model.enums import FlowType
from flowkit.model.parts import Edge, Node

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["Chatflow", "new_id", "utc_now"]

NODE_KEY = "node"
"""Graph node attribute holding the :class:`Node`."""
EDGE_KEY = "edge"
"""Graph edge attribute holding the :class:`Edge`."""
POSITION_KEY = "pos"
"""Graph edge attribute holding the edge's position in the flow's edge order."""

_NODE_FIELDS = frozenset(Node.model_fields) - {"id", "name", "category", "label", "inputs"}
_NUMBERED = re.compile(r"^(?P<name>.+)_(?P<n>0|[1-9][0-9]*)$")


def new_id() -> str:
    """Return a fresh uuid4 string, the default id of every entity."""
    return str(uuid4())


def utc_now() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


class Chatflow(BaseModel):
    """A Flowise chatflow (or agent flow): its identity and its graph of nodes and edges.

    The graph (:attr:`graph`, a ``networkx.MultiDiGraph`` keyed by node id and edge id) is the
    only record of the structure; :attr:`nodes` and :attr:`edges` are views of it in the flow's
    own order. Every change made through this class increases :attr:`revision`, so code
    outside the model can cache what it derives from a flow. Mutating a :class:`Node` in place
    (``node.inputs[...] = ...``) does not change the structure and is not counted.

    Not thread-safe for concurrent modification; reading from several threads is fine.

    :param id: the chatflow id (a uuid4 string unless given); cannot change.
    :param name: the display name.
    :param type: the :class:`FlowType`.
    :param created_at: when it was created (UTC).
    :param updated_at: when it was last changed (UTC).
    :param flow_extra: other top-level keys of Flowise's ``flowData`` (``viewport``, ...).
    """

    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    id: str = Field(default_factory=new_id, min_length=1, frozen=True)
    name: str = "Untitled chatflow"
    type: FlowType = FlowType.CHATFLOW
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    flow_extra: dict[str, Any] = Field(default_factory=dict)

    _graph: nx.MultiDiGraph[str] = PrivateAttr(default_factory=nx.MultiDiGraph)
    _revision: int = PrivateAttr(default=0)
    _edge_seq: int = PrivateAttr(default=0)
    _next_free: dict[str, int] = PrivateAttr(default_factory=dict)
    _edges_view: tuple[int, list[Edge]] | None = PrivateAttr(default=None)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name in type(self).model_fields:
            # An explicit ``updated_at`` is kept, not replaced by the current time.
            self._touch(stamp=name != "updated_at")

    def __copy__(self) -> Chatflow:
        """A copy with its own graph (the same Node and Edge objects): changing the copy's
        structure never changes the original. ``model_copy()`` uses it."""
        copied = super().__copy__()
        copied._graph = self._graph.copy()
        copied._next_free = dict(self._next_free)
        copied._edges_view = None
        return copied

    # ---- structure -------------------------------------------------------------------

    @property
    def graph(self) -> nx.MultiDiGraph[str]:
        """The flow's graph. Node attribute ``"node"`` holds the :class:`Node`; edge attribute
        ``"edge"`` the :class:`Edge` and ``"pos"`` its place in the edge order.

        Change the structure through the flow's methods, not the graph, so that
        :attr:`revision` and the edge order stay right.
        """
        return self._graph

    @property
    def revision(self) -> int:
        """An integer that every change made through the flow's methods increases."""
        # Read straight from pydantic's private store: telemetry reads it on every event,
        # and BaseModel.__getattr__ costs ~40x more.
        private = self.__pydantic_private__
        return int(private["_revision"]) if private is not None else 0

    @property
    def nodes(self) -> list[Node]:
        """The nodes, in the flow's own order (the order they were added or loaded)."""
        return [attrs[NODE_KEY] for attrs in self._graph.nodes.values()]

    @property
    def edges(self) -> list[Edge]:
        """The edges, in the flow's own order (the order they were added or loaded)."""
        view = self._edges_view
        if view is None or view[0] != self._revision:
            ordered = sorted(
                self._graph.edges(data=True), key=lambda e: e[2][POSITION_KEY]
            )
            view = (self._revision, [attrs[EDGE_KEY] for _, _, attrs in ordered])
            self._edges_view = view
        return list(view[1])

    def iter_node_ids(self) -> Iterator[str]:
        """Iterate the node ids in the flow's own order."""
        return iter(self._graph)

    def node(self, node_id: str) -> Node:
        """Return the node with id ``node_id``.

        :raises FlowkitError: when the flow has no such node (the message names the id).
        """
        try:
            node: Node = self._graph.nodes[node_id][NODE_KEY]
        except (KeyError, TypeError):
            raise FlowkitError(f"chatflow {self.id!r} has no node {node_id!r}") from None
        return node

    def has_node(self, node_id: str) -> bool:
        """Return whether the flow has a node with id ``node_id``."""
        return node_id in self._graph

    # ---- building ----------------------------------------------------------------------

    def add_node(
        self,
        name: str,
        *,
        category: str | None = None,
        label: str | None = None,
        inputs: Mapping[str, Any] | None = None,
        credential: str | None = None,
        id: str | None = None,
        **extra: Any,
    ) -> Node:
        """Add a node for component ``name`` and return it.

        :param name: the component name (Flowise ``data.name``), e.g. ``"memoryVectorStore"``.
        :param category: the component category, e.g. ``"Vector Stores"``.
        :param label: the display label (defaults to ``name``).
        :param inputs: the node's static input values.
        :param credential: a credential id.
        :param id: the node id; by default Flowise's ``<name>_<n>`` with the lowest free ``n``.
        :param extra: other Node fields (``type``, ``position``, ``parent_id``) or, for any
            other key, a Flowise ``data`` field kept verbatim (``outputs``, ``version``, ...).
        :raises FlowValidationError: when ``id`` is taken or a value has the wrong type.
        """
        if not isinstance(name, str) or not name:
            raise FlowValidationError("a node needs a component name (a non-empty string)")
        node_id = id if id is not None else self._free_id(name)
        if node_id in self._graph:
            raise FlowValidationError(f"duplicate node id {node_id!r}: pick another id")
        fields: dict[str, Any] = {
            "id": node_id,
            "name": name,
            "label": label if label is not None else name,
            "inputs": dict(inputs or {}),
            "position": {"x": 0, "y": 0},
        }
        if category is not None:
            fields["category"] = category
        if credential is not None:
            fields["credential"] = credential
        data_extra = dict(extra.pop("data_extra", None) or {})
        for key, value in extra.items():
            if key in _NODE_FIELDS:
                fields[key] = value
            else:
                data_extra[key] = value
        fields["data_extra"] = {"id": node_id, **data_extra}
        node = build(Node, fields, f"node {node_id!r}")
        self.insert_node(node)
        return node

    def insert_node(self, node: Node) -> None:
        """Add an already built :class:`Node` at the end of the node order.

        :raises FlowValidationError: when a node with the same id exists.
        """
        if node.id in self._graph:
            raise FlowValidationError(f"duplicate node id {node.id!r}: pick another id")
        self._graph.add_node(node.id, **{NODE_KEY: node})
        self._touch()

    def connect(
        self,
        source: Node | str,
        target: Node | str,
        target_input: str | None = None,
        *,
        source_output: str | None = None,
    ) -> Edge:
        """Connect an output of ``source`` to an input of ``target`` and return the edge.

        Handles are derived as Flowise writes them: an input or output anchor of the node
        with that name is used when the node has one, else ``<target>-input-<target_input>``
        and ``<source>-output-<source_output or name>``.

        :param source: the source node or its id.
        :param target: the target node or its id.
        :param target_input: the target's input this edge feeds, e.g. ``"embeddings"``.
        :param source_output: the source's output, for nodes with several.
        :raises FlowValidationError: when either node is not in the flow, or the same
            connection exists already.
        """
        source_id = source.id if isinstance(source, Node) else source
        target_id = target.id if isinstance(target, Node) else target
        missing = [n for n in (source_id, target_id) if n not in self._graph]
        if missing:
            names = ", ".join(repr(m) for m in missing)
            raise FlowValidationError(f"cannot connect: unknown node {names}; add it first")
        source_handle = _source_handle(self.node(source_id), source_output)
        target_handle = _target_handle(self.node(target_id), target_input)
        edge_id = f"{source_id}-{source_handle}-{target_id}-{target_handle}"
        if self._graph.has_edge(source_id, target_id, edge_id):
            raise FlowValidationError(f"edge {edge_id!r} exists already")
        edge = Edge(
            id=edge_id,
            source=source_id,
            target=target_id,
            source_handle=source_handle,
            target_handle=target_handle,
            type="buttonedge",
        )
        # The id embeds both ends, so it cannot collide with an edge between other nodes.
        self._append_edge(edge)
        return edge

    @classmethod
    def from_parts(
        cls, nodes: Iterable[Node], edges: Iterable[Edge], **fields: Any
    ) -> Chatflow:
        """Build a flow from nodes and edges, in their order, checking them all at once.

        :param nodes: the nodes, in flow order.
        :param edges: the edges, in flow order.
        :param fields: the flow's own fields (``id``, ``name``, ``type``, ...).
        :raises FlowValidationError: listing every duplicate node or edge id and every edge
            that points to an unknown node, or naming each invalid flow field (an empty
            ``id``, ...); nothing is built then.
        """
        node_list = list(nodes)
        edge_list = list(edges)
        found: list[str] = []
        seen: set[str] = set()
        for node in node_list:
            if node.id in seen:
                found.append(f"duplicate node id {node.id!r}")
            seen.add(node.id)
        edge_ids: set[str] = set()
        for edge in edge_list:
            if edge.id in edge_ids:
                found.append(f"duplicate edge id {edge.id!r}")
            edge_ids.add(edge.id)
            for end in dict.fromkeys((edge.source, edge.target)):
                if end not in seen:
                    found.append(f"edge {edge.id!r} points to unknown node {end!r}")
        if found:
            raise FlowValidationError(found)
        flow = build(cls, fields, "chatflow")
        graph = flow._graph
        for node in node_list:
            graph.add_node(node.id, **{NODE_KEY: node})
        for pos, edge in enumerate(edge_list):
            graph.add_edge(
                edge.source, edge.target, key=edge.id, **{EDGE_KEY: edge, POSITION_KEY: pos}
            )
        flow._edge_seq = len(edge_list)
        flow._revision = 0
        return flow

    def insert_edge(self, edge: Edge) -> None:
        """Add an already built :class:`Edge` at the end of the edge order.

        :raises FlowValidationError: when an end is not in the flow or the id is taken.
        """
        for end in (edge.source, edge.target):
            if end not in self._graph:
                raise FlowValidationError(f"edge {edge.id!r} points to unknown node {end!r}")
        if any(key == edge.id for _, _, key in self._graph.edges(keys=True)):
            raise FlowValidationError(f"duplicate edge id {edge.id!r}")
        self._append_edge(edge)

    def _append_edge(self, edge: Edge) -> None:
        self._graph.add_edge(
            edge.source, edge.target, key=edge.id, **{EDGE_KEY: edge, POSITION_KEY: self._edge_seq}
        )
        self._edge_seq += 1
        self._touch()

    def remove_node(self, node_id: str) -> None:
        """Remove a node and every edge that touches it.

        :raises FlowkitError: when the flow has no such node.
        """
        self.node(node_id)
        self._graph.remove_node(node_id)
        match = _NUMBERED.match(node_id)
        if match:
            # ``_next_free[name]`` promises that every lower number is taken; a name never
            # numbered by add_node (explicit ids, a loaded flow) promises nothing, so scan
            # from 0.
            name, n = match["name"], int(match["n"])
            self._next_free[name] = min(self._next_free.get(name, 0), n)
        self._touch()

    def remove_edge(self, edge_id: str) -> None:
        """Remove the edge with id ``edge_id``.

        :raises FlowkitError: when the flow has no such edge.
        """
        for u, v, key in self._graph.edges(keys=True):
            if key == edge_id:
                self._graph.remove_edge(u, v, key)
                self._touch()
                return
        raise FlowkitError(f"chatflow {self.id!r} has no edge {edge_id!r}")

    # ---- internals -----------------------------------------------------------------------

    def _touch(self, *, stamp: bool = True) -> None:
        # pydantic sets fields before private attributes exist during construction.
        if self.__pydantic_private__ is not None:
            self._revision += 1
            if stamp:
                super().__setattr__("updated_at", utc_now())

    def _free_id(self, name: str) -> str:
        n = self._next_free.get(name, 0)
        while f"{name}_{n}" in self._graph:
            n += 1
        self._next_free[name] = n + 1
        return f"{name}_{n}"

    # ---- the questions and the interop live in flowkit.graph and flowkit.flowise ----------
    # (imported on call: the model itself depends on nothing of flowkit but errors)

    def validate(self) -> None:  # type: ignore[override]
        """Check the flow; see :func:`flowkit.graph.validate`.

        :raises FlowValidationError: listing every problem, each naming its node or edge.
        """
        from flowkit import graph

        graph.validate(self)

    def ending_nodes(self) -> list[Node]:
        """Return the ending nodes; see :func:`flowkit.graph.ending_nodes`."""
        from flowkit import graph

        return graph.ending_nodes(self)

    def upstream(self, node_id: str) -> list[str]:
        """Return the ids of all ancestors of ``node_id``; see :func:`flowkit.graph.upstream`."""
        from flowkit import graph

        return graph.upstream(self, node_id)

    def run_order(self, node_id: str) -> list[str]:
        """Return the run order of what feeds ``node_id``; see :func:`flowkit.graph.run_order`."""
        from flowkit import graph

        return graph.run_order(self, node_id)

    def vector_store_nodes(self) -> list[Node]:
        """Return the vector-store nodes; see :func:`flowkit.graph.vector_store_nodes`."""
        from flowkit import graph

        return graph.vector_store_nodes(self)

    def resolve_stop_node(self, stop_node_id: str | None = None) -> str:
        """Return the upsert's stop node id; see :func:`flowkit.graph.resolve_stop_node`.

        :raises FlowValidationError: when no single vector store can be chosen.
        """
        from flowkit import graph

        return graph.resolve_stop_node(self, stop_node_id)

    @classmethod
    def from_flowise(
        cls,
        source: str | bytes | Path | Mapping[str, Any],
        *,
        name: str | None = None,
        id: str | None = None,
        type: FlowType | str | None = None,
    ) -> Chatflow:
        """Load a Flowise export; see :func:`flowkit.flowise.chatflow_from_flowise`.

        :raises FlowValidationError: when the input is not a well-formed Flowise flow.
        """
        from flowkit import flowise

        return flowise.chatflow_from_flowise(source, name=name, id=id, type=type)

    def to_flowise(self) -> dict[str, Any]:
        """Return Flowise's ``flowData``; see :func:`flowkit.flowise.chatflow_to_flowise`."""
        from flowkit import flowise

        return flowise.chatflow_to_flowise(self)


def _anchor_id(node: Node, key: str, name: str | None) -> str | None:
    anchors = node.data_extra.get(key)
    if not isinstance(anchors, list):
        return None
    found = [a for a in anchors if isinstance(a, dict) and isinstance(a.get("id"), str)]
    if name is None:
        return str(found[0]["id"]) if len(found) == 1 else None
    for anchor in found:
        if anchor.get("name") == name:
            return str(anchor["id"])
        for option in anchor.get("options") or []:
            if isinstance(option, dict) and option.get("name") == name:
                return str(option.get("id") or anchor["id"])
    return None


def _source_handle(node: Node, output: str | None) -> str:
    return _anchor_id(node, "outputAnchors", output) or f"{node.id}-output-{output or node.name}"


def _target_handle(node: Node, input_name: str | None) -> str:
    if input_name is None:
        return f"{node.id}-input"
    return _anchor_id(node, "inputAnchors", input_name) or f"{node.id}-input-{input_name}"
