"""diff_chatflows: nodes added, removed and changed (naming inputs), edges added and removed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from flowkit.diff import ChatflowDiff, NodeChange, diff_chatflows
from flowkit.model import Chatflow


def _flow() -> Chatflow:
    flow = Chatflow(name="before")
    model = flow.add_node("chatOpenAI", inputs={"temperature": 0.2, "modelName": "gpt-4"})
    prompt = flow.add_node("promptTemplate", inputs={"template": "{q}"})
    chain = flow.add_node("llmChain")
    flow.connect(model, chain, "model")
    flow.connect(prompt, chain, "prompt")
    return flow


def test_equal_flows_have_an_empty_falsy_diff() -> None:
    a, b = _flow(), _flow()
    found = diff_chatflows(a, b)
    assert found.is_empty
    assert not found
    assert found.render() == "no changes"


def test_added_removed_and_changed_nodes_are_named() -> None:
    a = _flow()
    b = a.model_copy(deep=True)
    b.remove_node("promptTemplate_0")
    b.add_node("calculator")
    b.node("chatOpenAI_0").inputs["temperature"] = 0.9
    b.node("chatOpenAI_0").inputs["streaming"] = True
    b.node("llmChain_0").label = "Main chain"
    found = diff_chatflows(a, b)
    assert found.nodes_added == ("calculator_0",)
    assert found.nodes_removed == ("promptTemplate_0",)
    assert found.nodes_changed == (
        NodeChange("chatOpenAI_0", inputs=("streaming", "temperature")),
        NodeChange("llmChain_0", fields=("label",)),
    )
    assert [e.source for e in found.edges_removed] == ["promptTemplate_0"]
    assert found.edges_added == ()


def test_edges_added_and_removed() -> None:
    a = _flow()
    b = a.model_copy(deep=True)
    b.remove_edge(b.edges[0].id)
    b.connect("promptTemplate_0", "chatOpenAI_0", "cache")
    found = diff_chatflows(a, b)
    assert [(e.source, e.target) for e in found.edges_removed] == [("chatOpenAI_0", "llmChain_0")]
    assert [(e.source, e.target) for e in found.edges_added] == [
        ("promptTemplate_0", "chatOpenAI_0")
    ]
    # the inputs that name their source, as Flowise stores a connection, changed with them
    assert [(c.node_id, c.inputs) for c in found.nodes_changed] == [
        ("chatOpenAI_0", ("cache",)),
        ("llmChain_0", ("model",)),
    ]


def test_render_marks_each_change_and_ends_with_the_summary() -> None:
    a = _flow()
    b = a.model_copy(deep=True)
    b.name = "after"
    b.remove_node("promptTemplate_0")
    b.node("chatOpenAI_0").inputs["temperature"] = 1.0
    assert diff_chatflows(a, b).render().splitlines() == [
        "~ name: 'before' -> 'after'",
        "- node promptTemplate_0",
        "~ node chatOpenAI_0: inputs temperature",
        "- edge promptTemplate_0 -> llmChain_0 (prompt)",
        "nodes: 0 added, 1 removed, 1 changed; edges: 0 added, 1 removed; flow: name changed",
    ]


def test_ids_and_times_are_not_compared() -> None:
    a = _flow()
    b = Chatflow.from_flowise(a.to_flowise(), name="before")
    assert b.id != a.id
    assert not diff_chatflows(a, b)


def test_nan_inputs_equal_themselves() -> None:
    a = _flow()
    a.node("chatOpenAI_0").inputs["temperature"] = float("nan")
    b = Chatflow.from_flowise(a.to_flowise(), name="before")
    assert not diff_chatflows(a, b)


@given(
    st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=3), max_size=5),
    st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=3), max_size=5),
)
def test_changed_inputs_are_exactly_the_keys_that_differ(
    before: dict[str, object], after: dict[str, object]
) -> None:
    a, b = Chatflow(), Chatflow()
    a.add_node("x", inputs=before)
    b.add_node("x", inputs=after)
    found = diff_chatflows(a, b)
    differing = sorted(
        k for k in before.keys() | after.keys() if before.get(k, a) != after.get(k, a)
    )
    expected = (NodeChange("x_0", inputs=tuple(differing)),) if differing else ()
    assert found.nodes_changed == expected
    assert isinstance(found, ChatflowDiff)
    assert diff_chatflows(b, a).nodes_changed == tuple(
        NodeChange("x_0", inputs=tuple(differing)) for _ in expected
    )
