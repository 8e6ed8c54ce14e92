"""The pure graph rules: is a flow valid, where does it end, what feeds a node.

They read a flow through the small :class:`GraphView` protocol (which
:class:`~flowkit.model.Chatflow` satisfies), so the model calls them without importing
anything above it; :mod:`flowkit.graph` is their public home.

Every function here takes time linear in the flow's size (``run_order`` adds a log factor
for its deterministic tie-break), with no recursion, so large and densely shared graphs
(diamond ladders) cost no more than chains of the same size.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from typing import Protocol

import networkx as nx

from flowkit.errors import FlowValidationError, NotFoundError
from flowkit.model.enums import AGENT_FLOW_CATEGORY, FlowType
from flowkit.model.parts import Node

__all__ = [
    "ENDING_CATEGORIES",
    "MEMORY_CATEGORY",
    "VECTOR_STORE_CATEGORY",
    "GraphView",
    "ending_nodes",
    "problems",
    "resolve_stop_node",
    "run_order",
    "upstream",
    "validate",
    "vector_store_nodes",
]

ENDING_CATEGORIES = frozenset({"Chains", "Agents", "Engine", "Multi Agents", "Sequential Agents"})
"""Categories whose nodes may end a chatflow (Flowise's ending-node rule)."""
VECTOR_STORE_CATEGORY = "Vector Stores"
"""The category of vector-store nodes (what an upsert stops at)."""
MEMORY_CATEGORY = "Memory"
"""The category of memory nodes (whose ``sessionId`` input names a conversation's memory)."""
START_AGENTFLOW = "startAgentflow"
"""The component every AGENTFLOW starts with, exactly once."""


class GraphView(Protocol):
    """What the rules read of a flow (:class:`~flowkit.model.Chatflow` provides it)."""

    @property
    def id(self) -> str: ...
    @property
    def type(self) -> FlowType: ...
    @property
    def graph(self) -> nx.MultiDiGraph[str]: ...
    @property
    def nodes(self) -> list[Node]: ...
    def iter_node_ids(self) -> Iterator[str]: ...
    def has_node(self, node_id: str) -> bool: ...
    def node(self, node_id: str) -> Node: ...


def _is_ending_kind(node: Node) -> bool:
    return node.outputs.get("output") == "EndingNode" or node.category in ENDING_CATEGORIES


def _ending_candidates(flow: GraphView) -> list[Node]:
    g = flow.graph
    working = [n for n in flow.nodes if not n.is_sticky_note]
    if len(working) == 1:
        return working
    if flow.type is FlowType.AGENTFLOW:
        return [n for n in working if g.out_degree(n.id) == 0]
    return [n for n in working if g.in_degree(n.id) > 0 and g.out_degree(n.id) == 0]


def ending_nodes(flow: GraphView) -> list[Node]:
    """Return the nodes a prediction ends at, in flow order.

    For ``CHATFLOW``, ``MULTIAGENT`` and ``ASSISTANT`` flows this is Flowise's rule: a node
    with incoming and no outgoing edges (or the only node), whose category is Chains,
    Agents, Engine, Multi Agents or Sequential Agents, or whose ``outputs.output`` is
    ``"EndingNode"``. Sticky notes never count. For an ``AGENTFLOW``, every node without
    outgoing edges.

    :returns: possibly empty; :func:`validate` reports an empty result as a problem.
    """
    candidates = _ending_candidates(flow)
    if flow.type is FlowType.AGENTFLOW:
        return candidates
    return [n for n in candidates if _is_ending_kind(n)]


def problems(flow: GraphView) -> list[str]:
    """Return every problem of the flow, each naming its node or edge (empty when valid).

    Checks: self-loops; a cycle in a ``CHATFLOW``; for ``CHATFLOW`` and ``MULTIAGENT``, no
    valid ending node; for an ``AGENTFLOW``, not exactly one ``startAgentflow`` node.
    (Duplicate ids and dangling edges cannot exist in a built flow; the Flowise loader
    reports them.)
    """
    g = flow.graph
    found: list[str] = []
    for u, _, key in nx.selfloop_edges(g, keys=True):
        found.append(f"edge {key!r} connects node {u!r} to itself")
    if flow.type is FlowType.CHATFLOW:
        cycle = _find_cycle(g)
        if cycle:
            path = " -> ".join(repr(n) for n in [*cycle, cycle[0]])
            found.append(f"cycle through nodes {path}: a CHATFLOW must be acyclic")
    if flow.type in (FlowType.CHATFLOW, FlowType.MULTIAGENT) and not ending_nodes(flow):
        candidates = _ending_candidates(flow)
        if candidates:
            listed = ", ".join(f"{n.id!r} ({n.category or 'no category'})" for n in candidates)
            found.append(
                f"no valid ending node: the flow ends at {listed}; an ending node must be a "
                "Chain, Agent, Engine, Multi Agents or Sequential Agents node"
            )
        else:
            found.append("no valid ending node: no node has incoming and no outgoing edges")
        if any(n.category == AGENT_FLOW_CATEGORY for n in flow.nodes):
            found.append(
                f"the flow holds agent flow (v2) nodes but its type is {flow.type.value}: "
                "make it Chatflow(..., type=FlowType.AGENTFLOW)"
            )
    if flow.type is FlowType.AGENTFLOW:
        starts = [n.id for n in flow.nodes if n.name == START_AGENTFLOW]
        if len(starts) != 1:
            which = ", ".join(repr(s) for s in starts) or "none"
            found.append(f"an AGENTFLOW needs exactly one {START_AGENTFLOW!r} node, found {which}")
    return found


def validate(flow: GraphView) -> None:
    """Check the flow and raise if anything is wrong.

    :raises FlowValidationError: listing every problem found by :func:`problems` at once.
    """
    found = problems(flow)
    if found:
        raise FlowValidationError(found)


def _find_cycle(g: nx.MultiDiGraph[str]) -> list[str]:
    """Return the nodes of one cycle (without self-loops), or [] when acyclic.

    Linear in every node order: the strongly connected components say whether there is a
    cycle and where, and the search for one starts inside the first cyclic component, in
    flow order. (``nx.find_cycle`` with no source restarts from every node and is
    quadratic when the nodes come sinks first.)
    """
    if nx.is_directed_acyclic_graph(g):  # the common case, decided in one pass
        return []
    simple: nx.DiGraph[str] = nx.DiGraph((u, v) for u, v in g.edges() if u != v)
    cyclic = [c for c in nx.strongly_connected_components(simple) if len(c) > 1]
    if not cyclic:
        return []
    members = set().union(*cyclic)
    start = next(n for n in g if n in members)
    component = next(c for c in cyclic if start in c)
    return [u for u, _ in nx.find_cycle(simple.subgraph(component), source=start)]


def _require(flow: GraphView, node_id: str) -> None:
    if not flow.has_node(node_id):
        raise NotFoundError(
            f"chatflow {flow.id!r} has no node {node_id!r}; its nodes are listed by flow.nodes",
            kind="node",
            entity_id=node_id,
        )


def upstream(flow: GraphView, node_id: str) -> list[str]:
    """Return the ids of every ancestor of ``node_id`` (what feeds it), in flow order.

    :raises NotFoundError: when the flow has no such node.
    """
    _require(flow, node_id)
    ancestors = nx.ancestors(flow.graph, node_id)
    return [n for n in flow.iter_node_ids() if n in ancestors]


def run_order(flow: GraphView, node_id: str) -> list[str]:
    """Return the nodes that feed ``node_id``, and it last, in an order they can run in.

    The order is a topological order of that subgraph; ties go to the node that comes
    first in the flow, so the result is deterministic. In a flow that loops (an agent
    flow), each loop runs as a block where the first of its nodes enters it.

    :raises NotFoundError: when the flow has no such node.
    """
    _require(flow, node_id)
    g = flow.graph
    members = nx.ancestors(g, node_id)
    members.add(node_id)
    by_rank = [n for n in flow.iter_node_ids() if n in members]
    rank = {n: i for i, n in enumerate(by_rank)}
    # Every predecessor of a member is a member (an ancestor of node_id), so a member's
    # in-degree within the members is its in-degree; parallel edges count one each.
    # (Read from the graph's own adjacency: through a subgraph view, run_order took about
    # four times as long.)
    pred, succ = g.pred, g.succ
    indegree = {n: sum(map(len, pred[n].values())) for n in by_rank}
    heap = [rank[n] for n, d in indegree.items() if d == 0]
    heapq.heapify(heap)
    order: list[str] = []
    while heap:
        current = by_rank[heapq.heappop(heap)]
        order.append(current)
        for v, keys in succ[current].items():
            if v in indegree:
                left = indegree[v] = indegree[v] - len(keys)
                if left == 0:
                    heapq.heappush(heap, rank[v])
    if len(order) < len(members):
        return _loop_order(g.subgraph(members), rank)
    return order


def _loop_order(sub: nx.MultiDiGraph[str], rank: dict[str, int]) -> list[str]:
    """Order a looping subgraph: its loops condensed, each loop's nodes in flow order."""
    dag = nx.condensation(nx.DiGraph(sub))
    members = dag.graph["mapping"]
    blocks: dict[int, list[str]] = {}
    for node, block in members.items():
        blocks.setdefault(block, []).append(node)
    first = {b: min(rank[n] for n in ns) for b, ns in blocks.items()}
    ordered = nx.lexicographical_topological_sort(dag, key=lambda b: first[b])
    return [n for b in ordered for n in sorted(blocks[b], key=rank.__getitem__)]


def vector_store_nodes(flow: GraphView) -> list[Node]:
    """Return the vector-store nodes (category ``"Vector Stores"``), in flow order."""
    return [n for n in flow.nodes if n.category == VECTOR_STORE_CATEGORY]


def _ids(nodes: Iterable[Node]) -> str:
    return ", ".join(n.id for n in nodes)


def resolve_stop_node(flow: GraphView, stop_node_id: str | None = None) -> str:
    """Return the id of the vector-store node an upsert stops at, by Flowise's rules.

    An explicit ``stop_node_id`` must exist and be a vector store; else the one vector store
    whose ``inputs.fileUpload`` is truthy; else the only vector store.

    :raises FlowValidationError: when the explicit id is unknown or not a vector store, when
        there is no vector store, or when several qualify (the message lists their ids and
        says to pass ``stop_node_id``).
    """
    stores = vector_store_nodes(flow)
    if stop_node_id is not None:
        if not flow.has_node(stop_node_id):
            raise FlowValidationError(
                f"stop node {stop_node_id!r} is not in the flow; vector stores: "
                f"{_ids(stores) or 'none'}"
            )
        if flow.node(stop_node_id).category != VECTOR_STORE_CATEGORY:
            raise FlowValidationError(
                f"stop node {stop_node_id!r} is not a vector store; vector stores: "
                f"{_ids(stores) or 'none'}"
            )
        return stop_node_id
    if not stores:
        raise FlowValidationError("no vector store node in the flow: nothing to upsert into")
    with_upload = [n for n in stores if n.inputs.get("fileUpload")]
    if len(with_upload) == 1:
        return with_upload[0].id
    if len(stores) == 1:
        return stores[0].id
    several = with_upload or stores
    raise FlowValidationError(
        f"{len(several)} vector stores ({_ids(several)}): pass stop_node_id=... to choose one"
    )
