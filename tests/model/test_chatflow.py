"""Chatflow: the builder, ids, order, revision, and the graph as the one record."""

from __future__ import annotations

import copy
import pickle
import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowkit import Chatflow, Edge, FlowType, FlowValidationError, Node
from flowkit.errors import AlreadyExistsError, ArgumentTypeError, NotFoundError

COMPONENT = st.sampled_from(["chatOpenAI", "faiss", "chatOpenAI_LlamaIndex", "a_1"])


def chain_flow() -> Chatflow:
    """chatOpenAI_0 -> llmChain_0 <- promptTemplate_0."""
    flow = Chatflow(name="chain")
    model = flow.add_node("chatOpenAI", category="Chat Models")
    prompt = flow.add_node("promptTemplate", category="Prompts")
    chain = flow.add_node("llmChain", category="Chains")
    flow.connect(model, chain, "model")
    flow.connect(prompt, chain, "prompt")
    return flow


def loaded_flow(*node_ids: str) -> Chatflow:
    nodes = [{"id": i, "data": {"name": i.rsplit("_", 1)[0]}} for i in node_ids]
    return Chatflow.from_flowise({"nodes": nodes, "edges": []})


# ---- ids --------------------------------------------------------------------------------


def test_add_node_numbers_ids_from_zero_per_component_name() -> None:
    flow = Chatflow()

    ids = [flow.add_node(name).id for name in ("faiss", "chatOpenAI", "faiss", "faiss")]

    assert ids == ["faiss_0", "chatOpenAI_0", "faiss_1", "faiss_2"]


def test_add_node_keeps_underscores_of_the_component_name_in_the_id() -> None:
    flow = Chatflow()

    node = flow.add_node("chatOpenAI_LlamaIndex")

    assert node.id == "chatOpenAI_LlamaIndex_0"
    assert node.name == "chatOpenAI_LlamaIndex"


def test_add_node_takes_the_number_freed_by_remove_node() -> None:
    flow = Chatflow()
    for _ in range(3):
        flow.add_node("faiss")
    flow.remove_node("faiss_1")

    ids = [flow.add_node("faiss").id, flow.add_node("faiss").id]

    assert ids == ["faiss_1", "faiss_3"]


def test_add_node_skips_numbers_taken_by_explicit_ids() -> None:
    flow = Chatflow()
    flow.add_node("faiss", id="faiss_1")

    ids = [flow.add_node("faiss").id, flow.add_node("faiss").id]

    assert ids == ["faiss_0", "faiss_2"]


def test_add_node_takes_the_lowest_number_after_an_explicit_id_is_removed() -> None:
    flow = Chatflow()
    flow.add_node("faiss", id="faiss_5")
    flow.remove_node("faiss_5")

    node = flow.add_node("faiss")

    assert node.id == "faiss_0"


def test_add_node_takes_the_lowest_free_number_in_a_loaded_flow() -> None:
    flow = loaded_flow("faiss_0", "faiss_2", "faiss_3")
    flow.remove_node("faiss_3")

    node = flow.add_node("faiss")

    assert node.id == "faiss_1"


@settings(max_examples=100, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["add", "remove", "explicit"]), COMPONENT, st.integers(0, 6)),
        max_size=30,
    )
)
def test_add_node_always_takes_the_lowest_free_number(
    steps: list[tuple[str, str, int]],
) -> None:
    flow = Chatflow()
    taken: set[str] = set()
    for action, name, n in steps:
        wanted = f"{name}_{n}"
        if action == "explicit" and wanted not in taken:
            flow.add_node(name, id=wanted)
            taken.add(wanted)
        elif action == "remove" and taken:
            victim = sorted(taken)[n % len(taken)]
            flow.remove_node(victim)
            taken.discard(victim)
        elif action == "add":
            free = (f"{name}_{k}" for k in range(len(taken) + 1))
            lowest = next(candidate for candidate in free if candidate not in taken)

            node = flow.add_node(name)

            assert node.id == lowest
            taken.add(node.id)
    assert set(flow.iter_node_ids()) == taken


def test_add_node_with_a_taken_id_raises_naming_the_id() -> None:
    flow = Chatflow()
    flow.add_node("faiss")

    with pytest.raises(AlreadyExistsError, match="faiss_0") as caught:
        flow.add_node("faiss", id="faiss_0")

    assert (caught.value.kind, caught.value.entity_id) == ("node", "faiss_0")


def test_add_node_without_a_component_name_raises() -> None:
    flow = Chatflow()

    with pytest.raises(FlowValidationError, match="component name"):
        flow.add_node("")


def test_add_node_with_a_wrongly_typed_value_raises_naming_the_node() -> None:
    flow = Chatflow()

    with pytest.raises(FlowValidationError, match="faiss_0") as caught:
        flow.add_node("faiss", label=5)  # type: ignore[arg-type]

    assert "label" in str(caught.value)
    assert flow.nodes == []


def test_a_node_that_fails_to_build_takes_no_number() -> None:
    flow = Chatflow()
    flow.add_node("faiss")

    with pytest.raises(FlowValidationError):
        flow.add_node("faiss", label=5)  # type: ignore[arg-type]
    with pytest.raises(FlowValidationError):
        flow.add_flowise_node("faiss", inputs={"no such input": 1})

    assert flow.add_node("faiss").id == "faiss_1"
    assert flow.add_flowise_node("faiss").id == "faiss_2"


def test_add_node_label_defaults_to_the_component_name() -> None:
    flow = Chatflow()

    node = flow.add_node("faiss")

    assert node.label == "faiss"


def test_add_node_puts_node_fields_on_the_node_and_other_keywords_in_data() -> None:
    flow = Chatflow()

    node = flow.add_node("stickyNote", type="stickyNote", position={"x": 1, "y": 2}, version=2)

    assert node.type == "stickyNote"
    assert node.position == {"x": 1, "y": 2}
    assert node.data_extra["version"] == 2


def test_add_node_copies_the_inputs_mapping() -> None:
    flow = Chatflow()
    inputs = {"topK": 4}

    node = flow.add_node("faiss", inputs=inputs)
    inputs["topK"] = 9

    assert node.inputs == {"topK": 4}


# ---- lookup and order -------------------------------------------------------------------


def test_node_returns_the_node_with_that_id() -> None:
    flow = Chatflow()
    added = flow.add_node("faiss")

    found = flow.node("faiss_0")

    assert found is added


def test_node_with_an_unknown_id_raises_naming_the_id() -> None:
    flow = chain_flow()

    with pytest.raises(NotFoundError, match="ghost_3"):
        flow.node("ghost_3")


def test_nodes_are_listed_in_insertion_order() -> None:
    flow = Chatflow()
    for name in ("zeta", "alpha", "mid"):
        flow.add_node(name)

    ids = [n.id for n in flow.nodes]

    assert ids == ["zeta_0", "alpha_0", "mid_0"]


def test_edges_keep_insertion_order_when_added_out_of_source_order() -> None:
    flow = Chatflow()
    a, b, c, d = (flow.add_node(name) for name in "abcd")
    added = [
        flow.connect(c, d, "x"),
        flow.connect(a, b, "x"),
        flow.connect(c, b, "y"),
        flow.connect(a, d, "y"),
    ]
    networkx_order = [key for _, _, key in flow.graph.edges(keys=True)]

    listed = [e.id for e in flow.edges]

    assert networkx_order != [e.id for e in added]  # networkx groups edges by source
    assert listed == [e.id for e in added]


def test_edge_order_survives_removing_an_edge_in_the_middle() -> None:
    flow = Chatflow()
    a, b, c = (flow.add_node(name) for name in "abc")
    first, middle, last = flow.connect(b, c, "x"), flow.connect(a, c, "x"), flow.connect(a, b, "x")

    flow.remove_edge(middle.id)

    assert [e.id for e in flow.edges] == [first.id, last.id]


def test_graph_holds_the_nodes_and_edges_keyed_by_id() -> None:
    flow = chain_flow()

    node_keys = list(flow.graph.nodes)
    edge_keys = sorted(key for _, _, key in flow.graph.edges(keys=True))

    assert node_keys == [n.id for n in flow.nodes]
    assert edge_keys == sorted(e.id for e in flow.edges)
    assert flow.graph.nodes["llmChain_0"]["node"] is flow.node("llmChain_0")


def test_edges_list_is_a_copy() -> None:
    flow = chain_flow()

    flow.edges.clear()

    assert len(flow.edges) == 2


# ---- connect ----------------------------------------------------------------------------


def test_connect_accepts_nodes_or_ids() -> None:
    flow = Chatflow()
    flow.add_node("a")
    b = flow.add_node("b")

    edge = flow.connect("a_0", b, "x")

    assert (edge.source, edge.target) == ("a_0", "b_0")


def test_connect_derives_flowise_style_handles() -> None:
    flow = Chatflow()
    source, target = flow.add_node("openAIEmbeddings"), flow.add_node("faiss")

    edge = flow.connect(source, target, "embeddings")

    assert edge.source_handle == "openAIEmbeddings_0-output-openAIEmbeddings"
    assert edge.target_handle == "faiss_0-input-embeddings"
    assert edge.target_input == "embeddings"
    assert edge.type == "buttonedge"


def test_connect_uses_the_nodes_anchor_ids_when_they_exist() -> None:
    flow = Chatflow()
    source = flow.add_node(
        "openAIEmbeddings",
        outputAnchors=[{"id": "openAIEmbeddings_0-output-openAIEmbeddings-Embeddings"}],
    )
    target = flow.add_node(
        "faiss",
        inputAnchors=[{"name": "embeddings", "id": "faiss_0-input-embeddings-Embeddings"}],
    )

    edge = flow.connect(source, target, "embeddings")

    assert edge.source_handle == "openAIEmbeddings_0-output-openAIEmbeddings-Embeddings"
    assert edge.target_handle == "faiss_0-input-embeddings-Embeddings"


def test_connect_with_an_unknown_node_raises_naming_it() -> None:
    flow = Chatflow()
    flow.add_node("a")

    with pytest.raises(NotFoundError, match="ghost_3"):
        flow.connect("a_0", "ghost_3", "x")

    assert flow.edges == []


def test_connect_the_same_pair_through_different_inputs_makes_parallel_edges() -> None:
    flow = Chatflow()
    a, b = flow.add_node("a"), flow.add_node("b")

    first, second = flow.connect(a, b, "x"), flow.connect(a, b, "y")

    assert first.id != second.id
    assert flow.graph.number_of_edges("a_0", "b_0") == 2


def test_connect_the_same_connection_twice_raises() -> None:
    flow = Chatflow()
    a, b = flow.add_node("a"), flow.add_node("b")
    flow.connect(a, b, "x")

    with pytest.raises(AlreadyExistsError, match="exists already"):
        flow.connect(a, b, "x")


# ---- removal ----------------------------------------------------------------------------


def test_remove_node_drops_its_edges() -> None:
    flow = chain_flow()

    flow.remove_node("llmChain_0")

    assert flow.edges == []
    assert flow.graph.number_of_edges() == 0
    assert [n.id for n in flow.nodes] == ["chatOpenAI_0", "promptTemplate_0"]


def test_remove_node_with_an_unknown_id_raises_naming_it() -> None:
    flow = chain_flow()

    with pytest.raises(NotFoundError, match="ghost_3"):
        flow.remove_node("ghost_3")


def test_remove_edge_removes_only_that_edge() -> None:
    flow = Chatflow()
    a, b = flow.add_node("a"), flow.add_node("b")
    kept, removed = flow.connect(a, b, "x"), flow.connect(a, b, "y")

    flow.remove_edge(removed.id)

    assert flow.edges == [kept]


def test_remove_edge_with_an_unknown_id_raises_naming_it() -> None:
    flow = chain_flow()

    with pytest.raises(NotFoundError, match="e7"):
        flow.remove_edge("e7")


# ---- revision ---------------------------------------------------------------------------

CHANGES: dict[str, Callable[[Chatflow], object]] = {
    "add_node": lambda f: f.add_node("faiss"),
    "connect": lambda f: f.connect("chatOpenAI_0", "llmChain_0", "memory"),
    "remove_node": lambda f: f.remove_node("promptTemplate_0"),
    "remove_edge": lambda f: f.remove_edge(f.edges[0].id),
    "set name": lambda f: setattr(f, "name", "renamed"),
    "set type": lambda f: setattr(f, "type", FlowType.MULTIAGENT),
    "insert_node": lambda f: f.insert_node(Node(id="x_0", name="x")),
    "insert_edge": lambda f: f.insert_edge(Edge(id="e", source="llmChain_0", target="llmChain_0")),
}

READS: dict[str, Callable[[Chatflow], object]] = {
    "nodes": lambda f: f.nodes,
    "edges": lambda f: f.edges,
    "node": lambda f: f.node("llmChain_0"),
    "has_node": lambda f: f.has_node("llmChain_0"),
    "check": lambda f: f.check(),
    "ending_nodes": lambda f: f.ending_nodes(),
    "upstream": lambda f: f.upstream("llmChain_0"),
    "run_order": lambda f: f.run_order("llmChain_0"),
    "vector_store_nodes": lambda f: f.vector_store_nodes(),
    "to_flowise": lambda f: f.to_flowise(),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_every_change_increases_the_revision(change: Callable[[Chatflow], object]) -> None:
    flow = chain_flow()
    before = flow.revision

    change(flow)

    assert flow.revision > before


@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
def test_reading_leaves_the_revision_alone(read: Callable[[Chatflow], object]) -> None:
    flow = chain_flow()
    before = flow.revision

    read(flow)

    assert flow.revision == before


def test_a_change_moves_updated_at_forward() -> None:
    flow = Chatflow(updated_at=datetime(2020, 1, 1, tzinfo=UTC))

    flow.add_node("faiss")

    assert flow.updated_at > datetime(2020, 1, 1, tzinfo=UTC)


def test_assigning_updated_at_keeps_the_assigned_value() -> None:
    flow = Chatflow()
    stamp = datetime(2020, 1, 1, tzinfo=UTC)

    flow.updated_at = stamp

    assert flow.updated_at == stamp


def test_chatflow_name_and_type_have_defaults() -> None:
    flow = Chatflow()

    assert flow.type is FlowType.CHATFLOW
    assert flow.name


# ---- building from parts ----------------------------------------------------------------


def test_from_parts_lists_every_problem_at_once() -> None:
    nodes = [Node(id="a_0"), Node(id="a_0"), Node(id="b_0")]
    edges = [
        Edge(id="e1", source="a_0", target="b_0"),
        Edge(id="e1", source="a_0", target="b_0"),
        Edge(id="e7", source="a_0", target="ghost_3"),
    ]

    with pytest.raises(FlowValidationError) as caught:
        Chatflow.from_parts(nodes, edges)

    assert caught.value.problems == (
        "duplicate node id 'a_0'",
        "duplicate edge id 'e1'",
        "edge 'e7' points to unknown node 'ghost_3'",
    )


def test_insert_edge_to_an_unknown_node_raises_naming_edge_and_node() -> None:
    flow = chain_flow()

    with pytest.raises(NotFoundError, match=re.escape("'e7'")) as caught:
        flow.insert_edge(Edge(id="e7", source="llmChain_0", target="ghost_3"))

    assert "ghost_3" in str(caught.value)


def test_insert_edge_with_a_taken_id_raises() -> None:
    flow = chain_flow()
    taken = flow.edges[0].id

    with pytest.raises(AlreadyExistsError, match="duplicate edge id"):
        flow.insert_edge(Edge(id=taken, source="chatOpenAI_0", target="promptTemplate_0"))


def test_insert_node_with_a_taken_id_raises() -> None:
    flow = chain_flow()

    with pytest.raises(AlreadyExistsError, match="llmChain_0"):
        flow.insert_node(Node(id="llmChain_0"))


def test_model_copy_has_its_own_structure() -> None:
    flow = Chatflow()
    first = flow.add_node("llmChain")

    copied = flow.model_copy()
    copied.add_node("chatOpenAI")
    copied.remove_node(first.id)

    assert [n.id for n in flow.nodes] == ["llmChain_0"]
    assert [n.id for n in copied.nodes] == ["chatOpenAI_0"]


# ---- named errors ------------------------------------------------------------------------


def test_node_with_an_unknown_id_is_a_lookup_error_naming_kind_and_id() -> None:
    flow = chain_flow()

    with pytest.raises(LookupError) as caught:
        flow.node("ghost_3")

    assert isinstance(caught.value, NotFoundError)
    assert (caught.value.kind, caught.value.entity_id) == ("node", "ghost_3")
    assert "flow.nodes" in str(caught.value)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda f: f.add_node(5), id="add_node"),
        pytest.param(lambda f: f.insert_node({"id": "x_0"}), id="insert_node"),
        pytest.param(lambda f: f.insert_edge("e1"), id="insert_edge"),
        pytest.param(lambda f: f.connect(1, "llmChain_0"), id="connect"),
    ],
)
def test_a_wrongly_typed_argument_is_a_type_error_saying_what_to_pass(
    call: Callable[[Chatflow], object],
) -> None:
    flow = chain_flow()

    with pytest.raises(TypeError) as caught:
        call(flow)

    assert isinstance(caught.value, ArgumentTypeError)
    assert "got" in str(caught.value)
    assert flow.revision == chain_flow().revision


# ---- setting a node's field counts as a change of its flow ------------------------------


def test_setting_a_node_field_raises_the_flow_revision() -> None:
    flow = chain_flow()
    before = flow.revision

    flow.node("llmChain_0").label = "Answering chain"

    assert flow.revision > before
    assert flow.to_flowise()["nodes"][2]["data"]["label"] == "Answering chain"


def test_a_removed_or_copied_node_no_longer_changes_the_flow() -> None:
    flow = chain_flow()
    removed = flow.node("promptTemplate_0")
    flow.remove_node("promptTemplate_0")
    copied = flow.model_copy()
    before = flow.revision

    removed.label = "gone"
    copied.node("llmChain_0").label = "only the copy"
    copy.deepcopy(flow.node("llmChain_0")).label = "a loose copy"

    assert flow.revision == before
    assert copied.revision > 0
    assert flow.node("llmChain_0").label == "llmChain"


def test_a_pickled_flow_comes_back_equal_and_still_counts_node_changes() -> None:
    flow = chain_flow()

    again = pickle.loads(pickle.dumps(flow))
    before = again.revision
    again.node("llmChain_0").label = "renamed"

    assert again.revision > before
    assert flow.node("llmChain_0").label == "llmChain"


# ---- connect writes the input reference Flowise runs the flow by ------------------------------


def test_connect_makes_the_target_input_name_its_source_as_flowise_does() -> None:
    flow = Chatflow(name="f")
    model = flow.add_node("chatOpenAI", category="Chat Models")
    chain = flow.add_node("llmChain", category="Chains", inputs={"prompt": "keep me"})

    flow.connect(model, chain, "model")

    assert chain.inputs == {"prompt": "keep me", "model": "{{chatOpenAI_0.data.instance}}"}


def test_a_list_input_collects_every_source_and_removing_an_edge_takes_only_its_own() -> None:
    flow = Chatflow(name="f")
    agent = flow.add_node(
        "toolAgent",
        category="Agents",
        data_extra={
            "inputAnchors": [{"id": "toolAgent_0-input-tools-Tool", "name": "tools", "list": True}]
        },
    )
    first = flow.add_node("calculator", category="Tools")
    second = flow.add_node("serpAPI", category="Tools")
    flow.connect(first, agent, "tools")
    edge = flow.connect(second, agent, "tools")
    assert agent.inputs["tools"] == [
        "{{calculator_0.data.instance}}",
        "{{serpAPI_0.data.instance}}",
    ]

    flow.remove_edge(edge.id)

    assert agent.inputs["tools"] == ["{{calculator_0.data.instance}}"]


def test_removing_an_edge_clears_its_reference_and_nothing_else() -> None:
    flow = Chatflow(name="f")
    model = flow.add_node("chatOpenAI", category="Chat Models")
    chain = flow.add_node("llmChain", category="Chains")
    edge = flow.connect(model, chain, "model")
    chain.inputs["prompt"] = "{{chatOpenAI_0.data.instance}}"  # a user's own value, same text

    flow.remove_edge(edge.id)

    assert chain.inputs == {"model": "", "prompt": "{{chatOpenAI_0.data.instance}}"}


def test_a_sticky_note_connected_by_hand_writes_no_reference() -> None:
    flow = Chatflow(name="f")
    note = flow.add_node("stickyNote", type="stickyNote")
    chain = flow.add_node("llmChain", category="Chains")

    flow.connect(note, chain, "note")

    assert "note" not in chain.inputs


def test_connect_finds_an_output_among_the_options_of_an_entry_without_an_id() -> None:
    # Flowise keeps a multi-output node's outputs as options of one entry with no id.
    outputs = [
        {
            "name": "output",
            "type": "options",
            "options": [
                {"id": "plainText_0-output-document-Document|json", "name": "document"},
                {"id": "plainText_0-output-text-string|json", "name": "text"},
            ],
        }
    ]
    flow = Chatflow(name="f")
    loader = flow.add_node("plainText", data_extra={"outputAnchors": outputs})
    store = flow.add_node("memoryVectorStore", category="Vector Stores")

    edge = flow.connect(loader, store, "document", source_output="text")

    assert edge.source_handle == "plainText_0-output-text-string|json"
