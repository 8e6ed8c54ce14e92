"""flowkit.graph: validation, ending nodes, ancestry, run order, stop-node resolution."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowkit import Chatflow, FlowkitError, FlowType, FlowValidationError, Node
from flowkit.flowise import detect_flow_type
from flowkit.graph import ENDING_CATEGORIES, problems
from flowkit.model.rules import _find_cycle

ENDING = sorted(ENDING_CATEGORIES)


def two_node_flow(end_category: str | None, flow_type: FlowType = FlowType.CHATFLOW) -> Chatflow:
    """chatOpenAI_0 -> end_0 (end_0 of the given category)."""
    flow = Chatflow(type=flow_type)
    model = flow.add_node("chatOpenAI", category="Chat Models")
    end = flow.add_node("end", category=end_category)
    flow.connect(model, end, "model")
    return flow


def add_sticky_note(flow: Chatflow, category: str = "Utilities") -> Node:
    return flow.add_node("stickyNote", type="stickyNote", category=category)


def agent_flow(starts: int) -> Chatflow:
    flow = Chatflow(type=FlowType.AGENTFLOW)
    for _ in range(starts):
        flow.add_node("startAgentflow", category="Agent Flows", type="agentFlow")
    flow.add_node("llmAgentflow", category="Agent Flows", type="agentFlow")
    return flow


def retrieval_flow(*stores: dict[str, object]) -> Chatflow:
    """Embeddings feeding one vector store per ``stores`` entry (its inputs), and a chain."""
    flow = Chatflow()
    embeddings = flow.add_node("openAIEmbeddings", category="Embeddings")
    chain = flow.add_node("retrievalQAChain", category="Chains")
    for inputs in stores:
        store = flow.add_node("faiss", category="Vector Stores", inputs=inputs)
        flow.connect(embeddings, store, "embeddings")
        flow.connect(store, chain, "vectorStoreRetriever")
    return flow


# ---- validate: every problem at once ----------------------------------------------------


def test_validate_lists_self_loop_cycle_and_missing_ending_node_at_once() -> None:
    flow = Chatflow()
    a, b, c = flow.add_node("a"), flow.add_node("b"), flow.add_node("c")
    flow.connect(a, b, "x")
    flow.connect(b, a, "x")
    loop = flow.connect(c, c, "x")

    with pytest.raises(FlowValidationError) as caught:
        flow.check()

    found = caught.value.problems
    assert len(found) == 3
    assert any(loop.id in p and "'c_0'" in p and "itself" in p for p in found)
    assert any("cycle" in p and "'a_0'" in p and "'b_0'" in p for p in found)
    assert any("no valid ending node" in p for p in found)


def test_validate_names_the_nodes_that_end_an_invalid_flow() -> None:
    flow = two_node_flow("Chat Models")

    with pytest.raises(FlowValidationError, match="end_0") as caught:
        flow.check()

    assert "Chain" in str(caught.value)


def test_valid_flow_has_no_problems() -> None:
    flow = two_node_flow("Chains")

    found = problems(flow)

    assert found == []


# ---- the ending-node rule ---------------------------------------------------------------


@pytest.mark.parametrize("category", ENDING)
def test_node_of_an_ending_category_ends_a_chatflow(category: str) -> None:
    flow = two_node_flow(category)

    ending = flow.ending_nodes()

    assert [n.id for n in ending] == ["end_0"]
    flow.check()


@pytest.mark.parametrize("category", ["Chat Models", "Vector Stores", "Tools", None])
def test_node_of_another_category_does_not_end_a_chatflow(category: str | None) -> None:
    flow = two_node_flow(category)

    ending = flow.ending_nodes()

    assert ending == []
    with pytest.raises(FlowValidationError, match="no valid ending node"):
        flow.check()


def test_node_whose_output_is_ending_node_ends_a_chatflow() -> None:
    flow = Chatflow()
    model = flow.add_node("chatOpenAI", category="Chat Models")
    end = flow.add_node("ifElse", category="Utilities", outputs={"output": "EndingNode"})
    flow.connect(model, end, "input")

    ending = flow.ending_nodes()

    assert ending == [end]
    flow.check()


def test_node_without_incoming_edges_does_not_end_a_flow_of_several() -> None:
    flow = two_node_flow("Chains")
    flow.add_node("conversationChain", category="Chains")

    ending = flow.ending_nodes()

    assert [n.id for n in ending] == ["end_0"]


def test_only_node_ends_the_flow_without_edges() -> None:
    flow = Chatflow()
    chain = flow.add_node("conversationChain", category="Chains")

    ending = flow.ending_nodes()

    assert ending == [chain]
    flow.check()


def test_sticky_note_does_not_count_against_the_only_node() -> None:
    flow = Chatflow()
    chain = flow.add_node("conversationChain", category="Chains")
    add_sticky_note(flow)

    ending = flow.ending_nodes()

    assert ending == [chain]
    flow.check()


def test_sticky_note_is_never_an_ending_node() -> None:
    flow = Chatflow()
    add_sticky_note(flow, category="Chains")

    ending = flow.ending_nodes()

    assert ending == []
    with pytest.raises(FlowValidationError, match="no valid ending node"):
        flow.check()


def test_connected_sticky_note_is_never_an_ending_node() -> None:
    flow = two_node_flow("Chat Models")
    note = add_sticky_note(flow, category="Chains")
    flow.connect("end_0", note, "text")

    ending = flow.ending_nodes()

    assert ending == []


def test_multiagent_flow_uses_the_ending_node_rule() -> None:
    good = two_node_flow("Multi Agents", FlowType.MULTIAGENT)
    bad = two_node_flow("Chat Models", FlowType.MULTIAGENT)

    good.check()
    with pytest.raises(FlowValidationError, match="no valid ending node"):
        bad.check()


def test_chatflow_with_a_cycle_is_invalid() -> None:
    flow = two_node_flow("Chains")
    flow.connect("end_0", "chatOpenAI_0", "callback")
    flow.add_node("conversationChain", category="Chains")
    flow.connect("end_0", "conversationChain_0", "model")

    with pytest.raises(FlowValidationError, match="cycle") as caught:
        flow.check()

    assert "'chatOpenAI_0'" in str(caught.value)
    assert "'end_0'" in str(caught.value)


# ---- agent flows --------------------------------------------------------------------------


def test_agentflow_with_one_start_node_is_valid() -> None:
    flow = agent_flow(starts=1)

    flow.check()


@pytest.mark.parametrize("starts", [0, 2])
def test_agentflow_needs_exactly_one_start_node(starts: int) -> None:
    flow = agent_flow(starts=starts)

    with pytest.raises(FlowValidationError, match="startAgentflow"):
        flow.check()


def test_agentflow_with_two_start_nodes_names_them() -> None:
    flow = agent_flow(starts=2)

    with pytest.raises(FlowValidationError) as caught:
        flow.check()

    assert "startAgentflow_0" in str(caught.value)
    assert "startAgentflow_1" in str(caught.value)


def test_agentflow_may_loop() -> None:
    flow = agent_flow(starts=1)
    flow.connect("startAgentflow_0", "llmAgentflow_0")
    flow.add_node("loopAgentflow", category="Agent Flows", type="agentFlow")
    flow.connect("llmAgentflow_0", "loopAgentflow_0")
    flow.connect("loopAgentflow_0", "llmAgentflow_0")

    flow.check()


def test_agentflow_ends_at_every_node_without_outgoing_edges() -> None:
    flow = agent_flow(starts=1)
    flow.connect("startAgentflow_0", "llmAgentflow_0")
    other = flow.add_node("directReplyAgentflow", category="Agent Flows", type="agentFlow")
    flow.connect("startAgentflow_0", other)

    ending = flow.ending_nodes()

    assert [n.id for n in ending] == ["llmAgentflow_0", "directReplyAgentflow_0"]


# ---- upstream and run order ---------------------------------------------------------------


def test_upstream_returns_every_ancestor_in_flow_order() -> None:
    flow = Chatflow()
    loader, splitter, embeddings, store, chain, model = (
        flow.add_node(name)
        for name in ("pdfFile", "textSplitter", "openAIEmbeddings", "faiss", "chain", "model")
    )
    flow.connect(splitter, loader, "textSplitter")
    flow.connect(loader, store, "document")
    flow.connect(embeddings, store, "embeddings")
    flow.connect(store, chain, "retriever")
    flow.connect(model, chain, "model")

    ancestors = flow.upstream("faiss_0")

    assert ancestors == ["pdfFile_0", "textSplitter_0", "openAIEmbeddings_0"]


def test_upstream_of_a_node_without_inputs_is_empty() -> None:
    flow = two_node_flow("Chains")

    ancestors = flow.upstream("chatOpenAI_0")

    assert ancestors == []


def test_upstream_of_an_unknown_node_raises_naming_it() -> None:
    flow = two_node_flow("Chains")

    with pytest.raises(FlowkitError, match="ghost_3"):
        flow.upstream("ghost_3")


def test_run_order_of_an_unknown_node_raises_naming_it() -> None:
    flow = two_node_flow("Chains")

    with pytest.raises(FlowkitError, match="ghost_3"):
        flow.run_order("ghost_3")


def test_run_order_breaks_ties_by_flow_order() -> None:
    flow = Chatflow()
    late, early, end = flow.add_node("late"), flow.add_node("early"), flow.add_node("end")
    flow.connect(early, end, "x")
    flow.connect(late, end, "y")

    order = flow.run_order("end_0")

    assert order == ["late_0", "early_0", "end_0"]


def test_run_order_leaves_out_what_does_not_feed_the_node() -> None:
    flow = two_node_flow("Chains")
    flow.add_node("unrelated")

    order = flow.run_order("end_0")

    assert order == ["chatOpenAI_0", "end_0"]


def test_run_order_of_a_looping_flow_lists_each_node_once() -> None:
    flow = agent_flow(starts=1)
    flow.connect("startAgentflow_0", "llmAgentflow_0")
    loop = flow.add_node("loopAgentflow", category="Agent Flows", type="agentFlow")
    end = flow.add_node("directReplyAgentflow", category="Agent Flows", type="agentFlow")
    flow.connect("llmAgentflow_0", loop)
    flow.connect(loop, "llmAgentflow_0")
    flow.connect(loop, end)

    order = flow.run_order(end.id)

    assert order == ["startAgentflow_0", "llmAgentflow_0", "loopAgentflow_0", end.id]


@st.composite
def random_dags(draw: st.DrawFn) -> tuple[Chatflow, str]:
    """A DAG made with the builder: nodes added in one random order, edges (added in another)
    only go from lower to higher ``rank``, a second random order; and a sink to ask about."""
    size = draw(st.integers(1, 10))
    names = draw(st.lists(st.sampled_from(["a", "b", "c_d"]), min_size=size, max_size=size))
    rank = draw(st.permutations(range(size)))
    flow = Chatflow()
    ids = [flow.add_node(name).id for name in names]
    pairs = [(i, j) for i in range(size) for j in range(size) if rank[i] < rank[j]]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []
    for n, (i, j) in enumerate(chosen):
        flow.connect(ids[i], ids[j], f"in{n}")
    sink = ids[draw(st.integers(0, size - 1))]
    return flow, sink


@settings(max_examples=100, deadline=None)
@given(case=random_dags())
def test_run_order_puts_every_source_before_its_target(case: tuple[Chatflow, str]) -> None:
    flow, sink = case

    order = flow.run_order(sink)

    position = {node_id: i for i, node_id in enumerate(order)}
    assert order[-1] == sink
    assert sorted(order) == sorted([*flow.upstream(sink), sink])
    for edge in flow.edges:
        if edge.target in position:
            assert position[edge.source] < position[edge.target]


@settings(max_examples=50, deadline=None)
@given(case=random_dags())
def test_run_order_is_the_same_on_every_call(case: tuple[Chatflow, str]) -> None:
    flow, sink = case

    first, second = flow.run_order(sink), flow.run_order(sink)

    assert first == second


@st.composite
def random_digraphs(draw: st.DrawFn) -> nx.DiGraph[str]:
    """A small directed graph, often cyclic: nodes in a random order (some only reached by
    edges), then random edges."""
    size = draw(st.integers(1, 8))
    names = draw(st.permutations([f"n{i}" for i in range(size)]))
    g: nx.DiGraph[str] = nx.DiGraph()
    g.add_nodes_from(names[: draw(st.integers(0, size))])
    pairs = [(u, v) for u in names for v in names if u != v]
    if pairs:
        g.add_edges_from(draw(st.lists(st.sampled_from(pairs), max_size=16)))
    return g


@settings(max_examples=300, deadline=None)
@given(g=random_digraphs())
def test_a_cycle_is_found_exactly_when_there_is_one(g: nx.DiGraph[str]) -> None:
    multi: nx.MultiDiGraph[str] = nx.MultiDiGraph(g)

    cycle = _find_cycle(multi)

    assert bool(cycle) == (not nx.is_directed_acyclic_graph(g))
    for u, v in zip(cycle, [*cycle[1:], *cycle[:1]], strict=True):
        assert g.has_edge(u, v)  # each node leads to the next, the last back to the first
    assert len(set(cycle)) == len(cycle)


def test_a_long_flow_listed_from_its_end_validates_and_orders() -> None:
    # Nodes (and edges) listed from the end back to the start, and a diamond ladder whose
    # paths double at every layer: nothing may walk each path, nor restart a search from
    # each node (networkx's find_cycle is quadratic in this order).
    flow = Chatflow()
    previous = flow.add_node("llmChain", category="Chains")
    chain = [previous]
    for _ in range(2_000):
        node = flow.add_node("promptTemplate")
        chain.append(node)
        flow.connect(node, previous, "input")
        previous = node
    layer = [previous]
    for _ in range(500):
        pair = [flow.add_node("chatOpenAI"), flow.add_node("chatOpenAI")]
        for source in pair:
            for target in layer:
                flow.connect(source, target, "input")
        layer = pair

    flow.check()
    order = flow.run_order("llmChain_0")

    assert len(order) == len(flow.nodes)
    assert order[-1] == "llmChain_0"
    assert order[:2] == ["chatOpenAI_998", "chatOpenAI_999"]


# ---- stop node ------------------------------------------------------------------------------


def test_resolve_stop_node_without_a_vector_store_says_so() -> None:
    flow = two_node_flow("Chains")

    with pytest.raises(FlowValidationError, match="no vector store"):
        flow.resolve_stop_node()


def test_resolve_stop_node_picks_the_only_vector_store() -> None:
    flow = retrieval_flow({})

    stop = flow.resolve_stop_node()

    assert stop == "faiss_0"


def test_resolve_stop_node_with_two_vector_stores_lists_both_and_asks_for_an_id() -> None:
    flow = retrieval_flow({}, {})

    with pytest.raises(FlowValidationError) as caught:
        flow.resolve_stop_node()

    message = str(caught.value)
    assert "faiss_0" in message
    assert "faiss_1" in message
    assert "stop_node_id" in message


def test_resolve_stop_node_prefers_the_one_vector_store_with_file_upload() -> None:
    flow = retrieval_flow({}, {"fileUpload": True})

    stop = flow.resolve_stop_node()

    assert stop == "faiss_1"


def test_resolve_stop_node_takes_an_explicit_vector_store() -> None:
    flow = retrieval_flow({}, {"fileUpload": True})

    stop = flow.resolve_stop_node("faiss_0")

    assert stop == "faiss_0"


def test_resolve_stop_node_rejects_an_explicit_node_that_is_not_a_vector_store() -> None:
    flow = retrieval_flow({}, {})

    with pytest.raises(FlowValidationError, match="not a vector store") as caught:
        flow.resolve_stop_node("retrievalQAChain_0")

    assert "retrievalQAChain_0" in str(caught.value)


def test_resolve_stop_node_rejects_an_unknown_explicit_id() -> None:
    flow = retrieval_flow({})

    with pytest.raises(FlowValidationError, match="ghost_3"):
        flow.resolve_stop_node("ghost_3")


def test_vector_store_nodes_are_the_vector_store_category_in_flow_order() -> None:
    flow = retrieval_flow({}, {})

    stores = flow.vector_store_nodes()

    assert [n.id for n in stores] == ["faiss_0", "faiss_1"]


# ---- type detection ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("categories", "expected"),
    [
        (["Chat Models", "Agent Flows"], FlowType.AGENTFLOW),
        (["Chat Models", "Multi Agents"], FlowType.MULTIAGENT),
        (["Sequential Agents"], FlowType.MULTIAGENT),
        (["Chat Models", "Chains"], FlowType.CHATFLOW),
        ([], FlowType.CHATFLOW),
    ],
)
def test_flow_type_is_detected_from_node_categories(
    categories: list[str], expected: FlowType
) -> None:
    nodes = [Node(id=f"n_{i}", category=c) for i, c in enumerate(categories)]

    detected = detect_flow_type(nodes)

    assert detected is expected
