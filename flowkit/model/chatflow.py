"""The :class:`Chatflow`: a flow's identity plus one ``networkx.MultiDiGraph`` of its parts."""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import networkx as nx
from pydantic import (
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    field_validator,
    model_serializer,
    model_validator,
)

from flowkit.errors import AlreadyExistsError, ArgumentTypeError, FlowValidationError, NotFoundError
from flowkit.model import anchors, copying, flowdata, nodedefs, rules
from flowkit.model.build import build
from flowkit.model.checked import CheckedModel
from flowkit.model.enums import FlowType
from flowkit.model.jsondata import clone
from flowkit.model.parts import Edge, Node

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["Chatflow", "iso_time", "new_id", "utc_now"]

NODE_KEY = "node"
"""Graph node attribute holding the :class:`Node`."""
EDGE_KEY = "edge"
"""Graph edge attribute holding the :class:`Edge`."""
POSITION_KEY = "pos"
"""Graph edge attribute holding the edge's position in the flow's edge order."""

_NODE_FIELDS = frozenset(Node.model_fields) - {"id", "name", "category", "label", "inputs"}
_NUMBERED = re.compile(r"^(?P<name>.+)_(?P<n>0|[1-9][0-9]*)$")
_RESERVED_FLOW_EXTRA = flowdata.TEMPLATE_KEYS | {"nodes", "edges", "flowData"}


def new_id() -> str:
    """Return a fresh uuid4 string, the default id of every entity."""
    return str(uuid4())


def utc_now() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


def iso_time(moment: datetime) -> str:
    """Return ``moment`` as ISO 8601 text, UTC written as Flowise does (``...Z``), with
    every microsecond kept so that reading it back gives the same time."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class Chatflow(CheckedModel):
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
    :param deployed: Flowise's ``deployed`` flag (None: not set).
    :param is_public: Flowise's ``isPublic`` flag (None: not set).
    :param apikeyid: the id of the API key that protects the flow's predictions, if any.
    :param chatbot_config: Flowise's ``chatbotConfig`` (JSON text), if any.
    :param api_config: Flowise's ``apiConfig`` (JSON text), if any.
    :param category: Flowise's ``category`` (``;``-separated tags), if any.
    :param record_extra: every other key of a Flowise API record (``workspaceId``,
        ``speechToText``, ...), verbatim.

    **Serialization.** ``model_dump()`` and ``model_dump_json()`` give the flow as its
    Flowise API record: ``id``, ``name``, ``flowData`` (the nodes and edges as Flowise's
    JSON text), ``deployed``, ``isPublic``, ``apikeyid``, ``chatbotConfig``, ``apiConfig``,
    ``category``, ``type``, ``createdDate``, ``updatedDate`` (ISO 8601 text) and the keys of
    ``record_extra``. ``model_validate`` and ``model_validate_json`` (and the constructor)
    read such a record back into an equal flow: same nodes and edges, in the same order,
    with the same inputs, positions, extra keys and key order. ``==`` compares content
    (fields, nodes and edges in order; not the revision); ``copy.copy``, ``model_copy()``
    and ``copy.deepcopy`` all give a deep copy, which shares nothing with the original.
    """

    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    id: str = Field(default_factory=new_id, min_length=1, frozen=True)
    name: str = "Untitled chatflow"
    type: FlowType = FlowType.CHATFLOW
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    flow_extra: dict[str, Any] = Field(default_factory=dict)
    deployed: bool | None = None
    is_public: bool | None = None
    apikeyid: str | None = None
    chatbot_config: str | None = None
    api_config: str | None = None
    category: str | None = None
    record_extra: dict[str, Any] = Field(default_factory=dict)

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
        """A deep copy (``model_copy()`` uses it): changing the copy, its nodes or edges
        never changes the original."""
        return self.__deepcopy__()

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Chatflow:
        # A flow's fields, nodes and edges hold JSON-shaped data, which ``clone`` copies
        # several times faster than ``copy.deepcopy``'s generic walk; a workspace copies a
        # flow on every read, so this is on the path of ``get_chatflow`` and ``predict(id)``.
        copied = copying.copy_part(self)
        object.__setattr__(
            copied,
            "__pydantic_private__",
            {
                **(self.__pydantic_private__ or {}),
                "_graph": copying.copy_graph(self._graph),
                "_next_free": dict(self._next_free),
                "_edges_view": None,
            },
        )
        owner = weakref.ref(copied)
        for node in copied.nodes:
            node._owner = owner
        return copied

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        owner = weakref.ref(self)
        for node in self.nodes:
            node._owner = owner

    def __eq__(self, other: object) -> bool:
        """Equal when the content is: every field, and the nodes and edges in order."""
        if not isinstance(other, Chatflow):
            return NotImplemented
        return (
            self.__dict__ == other.__dict__
            and self.nodes == other.nodes
            and self.edges == other.edges
        )

    # ---- serialization: the Flowise API record ---------------------------------------

    @field_validator("flow_extra")
    @classmethod
    def _no_reserved_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        reserved = sorted(_RESERVED_FLOW_EXTRA & value.keys())
        if reserved:
            raise ValueError(
                f"flow_extra cannot hold {', '.join(map(repr, reserved))}: they belong to "
                "the graph or to a template; remove them"
            )
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _from_record(cls, data: Any, handler: ModelWrapValidatorHandler[Chatflow]) -> Chatflow:
        """Read a Flowise API record (a mapping with ``flowData``): its graph and fields."""
        if not (isinstance(data, Mapping) and "flowData" in data):
            return handler(data)
        fields, nodes, edges = flowdata.parse_flow(data)
        flow = handler(fields)
        flow._load(nodes, edges)
        return flow

    @model_serializer(mode="plain")
    def _to_record(self) -> dict[str, Any]:
        """The flow as its Flowise API record (see the class docstring)."""
        values = {
            "id": self.id,
            "name": self.name,
            "deployed": self.deployed,
            "isPublic": self.is_public,
            "apikeyid": self.apikeyid,
            "chatbotConfig": self.chatbot_config,
            "apiConfig": self.api_config,
            "category": self.category,
            "type": self.type.value,
            "createdDate": iso_time(self.created_at),
            "updatedDate": iso_time(self.updated_at),
        }
        record: dict[str, Any] = {"id": self.id, "name": self.name}
        try:
            record["flowData"] = json.dumps(self.to_flowise(), separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise FlowValidationError(
                f"chatflow {self.id!r} cannot be serialized: a node or edge holds a value "
                f"that is not JSON ({exc}); keep inputs and extra keys JSON-shaped"
            ) from None
        record.update(values)
        for key, value in self.record_extra.items():
            record.setdefault(key, clone(value))
        return record

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
        # nodes(data=True) walks networkx's node dict directly: 6x faster than .values()
        return [attrs[NODE_KEY] for _, attrs in self._graph.nodes(data=True)]

    @property
    def edges(self) -> list[Edge]:
        """The edges, in the flow's own order (the order they were added or loaded)."""
        view = self._edges_view
        if view is None or view[0] != self._revision:
            ordered = sorted(self._graph.edges(data=True), key=lambda e: e[2][POSITION_KEY])
            view = (self._revision, [attrs[EDGE_KEY] for _, _, attrs in ordered])
            self._edges_view = view
        return list(view[1])

    def iter_node_ids(self) -> Iterator[str]:
        """Iterate the node ids in the flow's own order."""
        return iter(self._graph)

    def node(self, node_id: str) -> Node:
        """Return the node with id ``node_id``.

        :raises NotFoundError: when the flow has no such node (the message names the id).
        """
        try:
            node: Node = self._graph.nodes[node_id][NODE_KEY]
        except (KeyError, TypeError):
            raise NotFoundError(
                f"chatflow {self.id!r} has no node {node_id!r}; see flow.nodes for its ids",
                kind="node",
                entity_id=str(node_id),
            ) from None
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
        :raises ArgumentTypeError: when ``name`` is not a string.
        :raises FlowValidationError: when ``name`` is empty or a value has the wrong type.
        :raises AlreadyExistsError: when ``id`` is taken.
        """
        if not isinstance(name, str):
            raise ArgumentTypeError(
                f"add_node takes the component name as a str, got {type(name).__name__}: "
                "e.g. flow.add_node('chatOpenAI')"
            )
        if not name:
            raise FlowValidationError(
                "a node needs a component name (a non-empty string), e.g. 'chatOpenAI'"
            )
        node_id = id if id is not None else self._free_id(name)
        if node_id in self._graph:
            raise _taken(node_id)
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

    def add_flowise_node(
        self,
        name: str,
        *,
        inputs: Mapping[str, Any] | None = None,
        credential: str | None = None,
        id: str | None = None,
        position: Mapping[str, float] | None = None,
    ) -> Node:
        """Add a node of Flowise component ``name`` as Flowise's editor makes it, and return it.

        Unlike :meth:`add_node`, the node carries everything a Flowise server reads besides
        its inputs: its declared inputs at their defaults, ``inputParams``,
        ``inputAnchors``, ``outputAnchors`` (so :meth:`connect` writes the editor's handles),
        base classes, category and version, from the catalog of Flowise 3.1.4's components
        (see :mod:`flowkit.model.nodedefs`). A flow built this way runs on a Flowise server.
        An agent flow (v2) component (``llmAgentflow``, ...) is made as the agent flow
        canvas makes it (node type ``agentFlow``, a numbered label); give such a flow
        ``type=FlowType.AGENTFLOW``.

        :param name: the component name, e.g. ``"chatOpenAI"``.
        :param inputs: values for the component's declared inputs, over their defaults (and
            ``<input>Config`` for an input that loads a configuration: ``llmModelConfig``).
        :param credential: the credential: a server's id, or ``"credential:<name>"`` in a
            flow applied from a flows-as-code folder.
        :param id: the node id; by default Flowise's ``<name>_<n>`` with the lowest free ``n``.
        :param position: where the node sits on the editor's canvas; by default left to
            right in the order added, 400 px apart.
        :raises NotFoundError: when Flowise has no component ``name`` (close names are
            suggested).
        :raises FlowValidationError: when an input is not one the component declares.
        :raises AlreadyExistsError: when ``id`` is taken.
        """
        if not isinstance(name, str):
            raise ArgumentTypeError(
                f"add_flowise_node takes the component name as a str, got {type(name).__name__}"
            )
        node_id = id if id is not None else self._free_id(name)
        if node_id in self._graph:
            raise _taken(node_id)
        where = position if position is not None else {"x": 400 * len(self._graph), "y": 0}
        raw = nodedefs.flowise_node(
            name, node_id, inputs=inputs, credential=credential, position=where
        )
        node = flowdata.node_from_flowise(raw, f"node {node_id!r}")
        self.insert_node(node)
        return node

    def insert_node(self, node: Node) -> None:
        """Add an already built :class:`Node` at the end of the node order.

        :raises ArgumentTypeError: when ``node`` is not a :class:`Node`.
        :raises AlreadyExistsError: when a node with the same id exists.
        """
        if not isinstance(node, Node):
            raise ArgumentTypeError(
                f"insert_node takes a Node, got {type(node).__name__}: build one with "
                "Node(id=..., name=...) or use flow.add_node(name)"
            )
        if node.id in self._graph:
            raise _taken(node.id)
        self._graph.add_node(node.id, **{NODE_KEY: node})
        node._owner = weakref.ref(self)
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
        and ``<source>-output-<source_output or name>``. As Flowise's editor does, the
        target's input then names the source: ``inputs[target_input]`` becomes
        ``"{{<source>.data.instance}}"`` (appended, for an input whose anchor is a list), which
        a Flowise server needs to run the flow; flowkit's own engine feeds the input from the
        edge either way. Between agent flow (v2) nodes (:meth:`add_flowise_node` of an
        ``Agent Flows`` component), an edge goes node to node as Flowise's agent flow canvas
        draws it: from the source's output (``source_output`` is an output's index,
        ``"0"``, ``"1"``, ... for a node with several) to the target node itself, of type
        ``agentFlow``, with the nodes' colours in its ``data``.

        :param source: the source node or its id.
        :param target: the target node or its id.
        :param target_input: the target's input this edge feeds, e.g. ``"embeddings"``.
        :param source_output: the source's output, for nodes with several; it becomes the
            one the node gives (``data.outputs.output``), as choosing it in Flowise's editor
            does. Without it, the node's chosen output is used.
        :raises ArgumentTypeError: when ``source`` or ``target`` is neither a Node nor a str.
        :raises NotFoundError: when either node is not in the flow.
        :raises AlreadyExistsError: when the same connection exists already.
        :raises FlowValidationError: when ``source_output`` is not an output the source
            declares (in its ``outputAnchors``), or an input name is given between agent
            flow nodes.
        """
        source_id, target_id = _node_id(source, "source"), _node_id(target, "target")
        missing = [n for n in (source_id, target_id) if n not in self._graph]
        if missing:
            names = ", ".join(repr(m) for m in missing)
            raise NotFoundError(
                f"cannot connect: unknown node {names}; add it first with flow.add_node",
                kind="node",
                entity_id=missing[0],
            )
        source_node, target_node = self.node(source_id), self.node(target_id)
        agent_flow = anchors.is_agent_flow(source_node) and anchors.is_agent_flow(target_node)
        extra: dict[str, Any] = {}
        if agent_flow:
            if target_input is not None:
                raise FlowValidationError(
                    f"agent flow nodes connect node to node: leave out the input name "
                    f"({target_input!r}) when connecting {source_id!r} to {target_id!r}"
                )
            source_handle = anchors.agent_flow_source_handle(source_node, source_output)
            target_handle = target_id  # Flowise's agent flow canvas: the node itself
            extra["data"] = anchors.agent_flow_edge_data(source_node, target_node, source_handle)
        else:
            if source_output is not None:
                anchors.check_output(source_node, source_output)
            source_handle = anchors.source_handle(source_node, source_output)
            target_handle = anchors.target_handle(target_node, target_input)
        edge_id = f"{source_id}-{source_handle}-{target_id}-{target_handle}"
        if self._graph.has_edge(source_id, target_id, edge_id):
            raise AlreadyExistsError(
                f"edge {edge_id!r} exists already: these nodes are connected this way once",
                kind="edge",
                entity_id=edge_id,
            )
        edge = Edge(
            id=edge_id,
            source=source_id,
            target=target_id,
            source_handle=source_handle,
            target_handle=target_handle,
            type="agentFlow" if agent_flow else "buttonedge",
            extra=extra,
        )
        # The id embeds both ends, so it cannot collide with an edge between other nodes.
        self._append_edge(edge)
        if agent_flow:
            return edge
        if target_input is not None and not source_node.is_sticky_note:
            anchors.link_input(target_node, target_input, source_id)
        if source_output is not None:
            anchors.choose_output(source_node, source_output)
        return edge

    @classmethod
    def from_parts(cls, nodes: Iterable[Node], edges: Iterable[Edge], **fields: Any) -> Chatflow:
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
        flow._load(node_list, edge_list)
        return flow

    def _load(self, nodes: list[Node], edges: list[Edge]) -> None:
        """Fill an empty graph with checked parts, in order; the revision stays 0."""
        graph = self._graph
        owner = weakref.ref(self)
        for node in nodes:
            graph.add_node(node.id, **{NODE_KEY: node})
            node._owner = owner
        for pos, edge in enumerate(edges):
            graph.add_edge(
                edge.source, edge.target, key=edge.id, **{EDGE_KEY: edge, POSITION_KEY: pos}
            )
        self._edge_seq = len(edges)
        self._revision = 0

    def insert_edge(self, edge: Edge) -> None:
        """Add an already built :class:`Edge` at the end of the edge order.

        :raises ArgumentTypeError: when ``edge`` is not an :class:`Edge`.
        :raises NotFoundError: when an end is not in the flow.
        :raises AlreadyExistsError: when the id is taken.
        """
        if not isinstance(edge, Edge):
            raise ArgumentTypeError(
                f"insert_edge takes an Edge, got {type(edge).__name__}: build one with "
                "Edge(id=..., source=..., target=...) or use flow.connect(source, target)"
            )
        for end in (edge.source, edge.target):
            if end not in self._graph:
                raise NotFoundError(
                    f"edge {edge.id!r} points to unknown node {end!r}; add the node first",
                    kind="node",
                    entity_id=end,
                )
        if any(key == edge.id for _, _, key in self._graph.edges(keys=True)):
            raise AlreadyExistsError(
                f"duplicate edge id {edge.id!r}: give the edge another id",
                kind="edge",
                entity_id=edge.id,
            )
        self._append_edge(edge)

    def _append_edge(self, edge: Edge) -> None:
        self._graph.add_edge(
            edge.source, edge.target, key=edge.id, **{EDGE_KEY: edge, POSITION_KEY: self._edge_seq}
        )
        self._edge_seq += 1
        self._touch()

    def remove_node(self, node_id: str) -> None:
        """Remove a node and every edge that touches it.

        :raises NotFoundError: when the flow has no such node.
        """
        self.node(node_id)._owner = None
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
        """Remove the edge with id ``edge_id``; the target's input stops naming the source
        (as Flowise's editor does, see :meth:`connect`).

        :raises NotFoundError: when the flow has no such edge.
        """
        for u, v, key, attrs in self._graph.edges(keys=True, data=True):
            if key == edge_id:
                edge: Edge = attrs[EDGE_KEY]
                self._graph.remove_edge(u, v, key)
                if edge.target_input is not None:
                    anchors.unlink_input(self.node(v), edge.target_input, u)
                self._touch()
                return
        raise NotFoundError(
            f"chatflow {self.id!r} has no edge {edge_id!r}; see flow.edges for its ids",
            kind="edge",
            entity_id=edge_id,
        )

    # ---- internals -----------------------------------------------------------------------

    def _touch(self, *, stamp: bool = True) -> None:
        # pydantic sets fields before private attributes exist during construction.
        if self.__pydantic_private__ is not None:
            self._revision += 1
            if stamp:
                super().__setattr__("updated_at", utc_now())

    def _node_changed(self, node: Node) -> None:
        """A field of ``node`` was set: count it when the node is this flow's own."""
        attrs = self._graph.nodes.get(node.id)
        if attrs is not None and attrs[NODE_KEY] is node:
            self._touch()

    def _free_id(self, name: str) -> str:
        """``<name>_<n>`` with the lowest free ``n``, scanning from the cached hint.

        The hint becomes that ``n`` (every lower number is taken), not ``n + 1``: the id is
        not taken until its node is inserted, so a node that fails to build takes nothing,
        and the next call steps past ``n`` once it is.
        """
        n = self._next_free.get(name, 0)
        while f"{name}_{n}" in self._graph:
            n += 1
        self._next_free[name] = n
        return f"{name}_{n}"

    # ---- the questions (rules in flowkit.model.rules) and Flowise's shapes ----------------

    def check(self) -> None:
        """Check the flow; see :func:`flowkit.graph.validate`.

        :raises FlowValidationError: listing every problem, each naming its node or edge.
        """
        rules.validate(self)

    def problems(self) -> list[str]:
        """Return every problem of the flow (empty when valid); see
        :func:`flowkit.graph.problems`."""
        return rules.problems(self)

    def ending_nodes(self) -> list[Node]:
        """Return the ending nodes; see :func:`flowkit.graph.ending_nodes`."""
        return rules.ending_nodes(self)

    def upstream(self, node_id: str) -> list[str]:
        """Return the ids of all ancestors of ``node_id``; see :func:`flowkit.graph.upstream`.

        :raises NotFoundError: when the flow has no such node.
        """
        return rules.upstream(self, node_id)

    def run_order(self, node_id: str) -> list[str]:
        """Return the run order of what feeds ``node_id``; see :func:`flowkit.graph.run_order`.

        :raises NotFoundError: when the flow has no such node.
        """
        return rules.run_order(self, node_id)

    def vector_store_nodes(self) -> list[Node]:
        """Return the vector-store nodes; see :func:`flowkit.graph.vector_store_nodes`."""
        return rules.vector_store_nodes(self)

    def resolve_stop_node(self, stop_node_id: str | None = None) -> str:
        """Return the upsert's stop node id; see :func:`flowkit.graph.resolve_stop_node`.

        :raises FlowValidationError: when no single vector store can be chosen.
        """
        return rules.resolve_stop_node(self, stop_node_id)

    @classmethod
    def from_flowise(
        cls,
        source: str | bytes | Path | Mapping[str, Any],
        *,
        name: str | None = None,
        id: str | None = None,
        type: FlowType | str | None = None,
    ) -> Chatflow:
        """Load a Flowise flow; see :func:`flowkit.flowise.chatflow_from_flowise`.

        :raises FlowValidationError: when the input is not a well-formed Flowise flow.
        """
        fields, nodes, edges = flowdata.parse_flow(source, name=name, id=id, type=type)
        return cls.from_parts(nodes, edges, **fields)

    def to_flowise(self) -> dict[str, Any]:
        """Return Flowise's ``flowData``; see :func:`flowkit.flowise.chatflow_to_flowise`."""
        return flowdata.flow_data(self.nodes, self.edges, self.flow_extra)


def _taken(node_id: str) -> AlreadyExistsError:
    return AlreadyExistsError(
        f"duplicate node id {node_id!r}: pick another id (or leave id out for the next free "
        "<name>_<n>)",
        kind="node",
        entity_id=node_id,
    )


def _node_id(end: Node | str, role: str) -> str:
    if isinstance(end, Node):
        return end.id
    if isinstance(end, str):
        return end
    raise ArgumentTypeError(
        f"connect takes the {role} as a Node or a node id (str), got {type(end).__name__}"
    )
