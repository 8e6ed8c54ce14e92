"""The executor: run order, inputs, overrides and how failures surface."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowkit.errors import ComponentError, FlowkitError
from flowkit.model import Chatflow
from flowkit.runtime import ComponentRegistry, RunContext, arun, builtin_registry, run

MARKETPLACE = Path(__file__).resolve().parents[1] / "data" / "flowise" / "chatflows"  # vendored

Calls = list[tuple[str, dict[str, Any]]]


def recording(calls: Calls, output: Any = None) -> Callable[[dict[str, Any], RunContext], Any]:
    """A component that records (node id, inputs) and returns ``output`` (default: node id)."""

    def record(inputs: dict[str, Any], context: RunContext) -> Any:
        calls.append((context.node.id, inputs))
        return context.node.id if output is None else output

    return record


def registry_of(calls: Calls, *names: str) -> ComponentRegistry:
    registry = ComponentRegistry()
    for name in names:
        registry.register(name, recording(calls))
    return registry


def test_nodes_run_in_run_order_and_only_what_feeds_the_target() -> None:
    flow = Chatflow()
    c = flow.add_node("c")
    b = flow.add_node("b")
    a = flow.add_node("a")
    flow.add_node("unrelated")
    flow.connect(a, b, "x")
    flow.connect(b, c, "x")
    calls: Calls = []

    run(flow, c.id, mode="predict", registry=registry_of(calls, "a", "b", "c", "unrelated"))

    assert [node_id for node_id, _ in calls] == [a.id, b.id, c.id]


def test_target_output_is_returned() -> None:
    flow = Chatflow()
    node = flow.add_node("answer")
    registry = ComponentRegistry()
    registry.register("answer", lambda inputs, context: {"text": "42"})

    assert run(flow, node.id, mode="predict", registry=registry) == {"text": "42"}


def test_upstream_output_is_given_under_the_input_its_edge_targets() -> None:
    flow = Chatflow()
    source = flow.add_node("source")
    target = flow.add_node("target", inputs={"embeddings": "", "topK": 2})
    flow.connect(source, target, "embeddings")
    calls: Calls = []

    run(flow, target.id, mode="predict", registry=registry_of(calls, "source", "target"))

    assert calls[-1][1] == {"embeddings": source.id, "topK": 2}


def test_several_edges_into_one_input_give_a_list_in_edge_order() -> None:
    flow = Chatflow()
    store = flow.add_node("store")
    second = flow.add_node("loader")
    first = flow.add_node("loader")
    flow.connect(first, store, "document")
    flow.connect(second, store, "document")
    calls: Calls = []

    run(flow, store.id, mode="upsert", registry=registry_of(calls, "loader", "store"))

    assert calls[-1][1]["document"] == [first.id, second.id]


def test_edge_without_an_input_name_is_keyed_by_the_source_component_name() -> None:
    flow = Chatflow()
    source = flow.add_node("chatModel")
    target = flow.add_node("chain")
    edge = flow.connect(source, target)
    assert edge.target_input is None
    calls: Calls = []

    run(flow, target.id, mode="predict", registry=registry_of(calls, "chatModel", "chain"))

    assert calls[-1][1] == {"chatModel": source.id}


def test_component_changing_its_inputs_leaves_the_node_alone() -> None:
    flow = Chatflow()
    node = flow.add_node("greedy", inputs={"keep": 1})
    registry = ComponentRegistry()
    registry.register("greedy", lambda inputs, context: inputs.update(keep=2, added=3))

    run(flow, node.id, mode="predict", registry=registry)

    assert node.inputs == {"keep": 1}


def test_override_applies_to_every_node_with_that_input() -> None:
    flow = Chatflow()
    first = flow.add_node("model", inputs={"temperature": 0.9})
    second = flow.add_node("model", inputs={"temperature": 0.1})
    without = flow.add_node("chain", inputs={"other": 1})
    flow.connect(first, without, "a")
    flow.connect(second, without, "b")
    calls: Calls = []
    registry = registry_of(calls, "model", "chain")

    run(flow, without.id, mode="predict", registry=registry, overrides={"temperature": 0})

    assert [inputs for _, inputs in calls[:2]] == [{"temperature": 0}, {"temperature": 0}]
    assert "temperature" not in calls[2][1]


def test_override_keyed_by_node_id_applies_to_that_node_only() -> None:
    flow = Chatflow()
    first = flow.add_node("prompt", inputs={"template": "one"})
    second = flow.add_node("prompt", inputs={"template": "two"})
    chain = flow.add_node("chain")
    flow.connect(first, chain, "a")
    flow.connect(second, chain, "b")
    calls: Calls = []
    overrides = {"template": {second.id: "changed"}}

    run(
        flow,
        chain.id,
        mode="predict",
        registry=registry_of(calls, "prompt", "chain"),
        overrides=overrides,
    )

    assert dict(calls[:2]) == {first.id: {"template": "one"}, second.id: {"template": "changed"}}


def test_override_with_a_plain_object_value_applies_as_a_whole() -> None:
    flow = Chatflow()
    loader = flow.add_node("loader", inputs={"metadata": ""})
    calls: Calls = []

    run(
        flow,
        loader.id,
        mode="upsert",
        registry=registry_of(calls, "loader"),
        overrides={"metadata": {"source": "api"}},
    )

    assert calls[0][1] == {"metadata": {"source": "api"}}


def test_upstream_output_wins_over_an_override() -> None:
    flow = Chatflow()
    source = flow.add_node("source")
    target = flow.add_node("target", inputs={"model": ""})
    flow.connect(source, target, "model")
    calls: Calls = []

    run(
        flow,
        target.id,
        mode="predict",
        registry=registry_of(calls, "source", "target"),
        overrides={"model": "from override"},
    )

    assert calls[-1][1] == {"model": source.id}


@given(
    static=st.dictionaries(st.text(min_size=1, max_size=5), st.integers(), max_size=6),
    overrides=st.dictionaries(st.text(min_size=1, max_size=5), st.integers(), max_size=6),
)
def test_plain_overrides_replace_only_inputs_the_node_has(
    static: dict[str, int], overrides: dict[str, int]
) -> None:
    flow = Chatflow()
    node = flow.add_node("any", inputs=static)
    calls: Calls = []

    run(flow, node.id, mode="predict", registry=registry_of(calls, "any"), overrides=overrides)

    assert calls[0][1] == {k: overrides.get(k, v) for k, v in static.items()}


def test_context_carries_the_run_arguments_and_the_shared_state() -> None:
    flow = Chatflow()
    node = flow.add_node("probe")
    seen: list[RunContext] = []
    registry = ComponentRegistry()
    registry.register("probe", lambda inputs, context: seen.append(context))
    state: dict[str, Any] = {}
    workspace = object()

    run(
        flow,
        node.id,
        mode="predict",
        registry=registry,
        question="q?",
        chat_id="c1",
        state=state,
        stop_node_id="store_0",
        workspace=workspace,
    )

    context = seen[0]
    assert (context.node, context.flow, context.mode) == (node, flow, "predict")
    assert (context.question, context.chat_id, context.stop_node_id) == ("q?", "c1", "store_0")
    assert context.state is state
    assert context.workspace is workspace


def test_sticky_notes_are_skipped_and_need_no_component() -> None:
    flow = Chatflow()
    note = flow.add_node("stickyNote", type="stickyNote", inputs={"note": "hello"})
    target = flow.add_node("target")
    flow.connect(note, target, "note")
    calls: Calls = []

    run(flow, target.id, mode="predict", registry=registry_of(calls, "target"))

    assert calls == [(target.id, {})]


def test_missing_component_error_names_the_node_and_shows_how_to_register() -> None:
    flow = Chatflow()
    store = flow.add_node("faiss", category="Vector Stores")

    with pytest.raises(ComponentError) as caught:
        run(flow, store.id, mode="upsert", registry=ComponentRegistry())

    assert caught.value.node_id == "faiss_0"
    assert "'faiss_0'" in str(caught.value)
    assert '@component("faiss", category="Vector Stores")' in str(caught.value)


def test_no_node_runs_when_a_component_is_missing() -> None:
    flow = Chatflow()
    loader = flow.add_node("loader")
    store = flow.add_node("faiss", category="Vector Stores")
    flow.connect(loader, store, "document")
    calls: Calls = []

    with pytest.raises(ComponentError):
        run(flow, store.id, mode="upsert", registry=registry_of(calls, "loader"))

    assert calls == []


def test_async_component_under_sync_run_fails_before_anything_runs() -> None:
    flow = Chatflow()
    loader = flow.add_node("loader")
    store = flow.add_node("remoteStore")
    flow.connect(loader, store, "document")
    calls: Calls = []
    registry = registry_of(calls, "loader")

    async def remote(inputs: dict[str, Any], context: RunContext) -> int:
        return 1

    registry.register("remoteStore", remote)

    with pytest.raises(ComponentError, match=r"AsyncWorkspace\.predict / upsert_vector") as caught:
        run(flow, store.id, mode="upsert", registry=registry)

    assert caught.value.node_id == store.id
    assert calls == []


def test_component_exception_is_chained_and_names_the_node() -> None:
    flow = Chatflow()
    node = flow.add_node("broken")
    registry = ComponentRegistry()

    def broken(inputs: dict[str, Any], context: RunContext) -> None:
        raise ValueError("bad value")

    registry.register("broken", broken)

    with pytest.raises(ComponentError) as caught:
        run(flow, node.id, mode="predict", registry=registry)

    assert str(caught.value) == "node 'broken_0' (broken) failed: ValueError: bad value"
    assert caught.value.node_id == "broken_0"
    assert isinstance(caught.value.__cause__, ValueError)


def test_component_error_raised_by_a_component_passes_through_unchanged() -> None:
    flow = Chatflow()
    node = flow.add_node("strict")
    original = ComponentError("input 'x' is wrong", node_id="elsewhere")
    registry = ComponentRegistry()

    def strict(inputs: dict[str, Any], context: RunContext) -> None:
        raise original

    registry.register("strict", strict)

    with pytest.raises(ComponentError) as caught:
        run(flow, node.id, mode="predict", registry=registry)

    assert caught.value is original


def test_unknown_mode_is_refused() -> None:
    flow = Chatflow()
    node = flow.add_node("any")

    with pytest.raises(FlowkitError, match="mode must be"):
        run(flow, node.id, mode="train", registry=registry_of([], "any"))  # type: ignore[arg-type]


def test_unknown_target_is_refused() -> None:
    with pytest.raises(FlowkitError, match="ghost_0"):
        run(Chatflow(), "ghost_0", mode="predict", registry=ComponentRegistry())


def test_arun_awaits_async_components_and_calls_sync_ones() -> None:
    flow = Chatflow()
    loader = flow.add_node("syncLoader")
    store = flow.add_node("asyncStore")
    chain = flow.add_node("syncChain")
    flow.connect(loader, store, "document")
    flow.connect(store, chain, "retriever")
    calls: Calls = []
    registry = registry_of(calls, "syncLoader", "syncChain")

    async def async_store(inputs: dict[str, Any], context: RunContext) -> str:
        await asyncio.sleep(0)
        calls.append((context.node.id, inputs))
        return f"retriever over {inputs['document']}"

    registry.register("asyncStore", async_store)

    result = asyncio.run(arun(flow, chain.id, mode="predict", registry=registry))

    assert result == chain.id
    assert calls == [
        (loader.id, {}),
        (store.id, {"document": loader.id}),
        (chain.id, {"retriever": f"retriever over {loader.id}"}),
    ]


def test_arun_chains_a_failing_async_component() -> None:
    flow = Chatflow()
    node = flow.add_node("broken")
    registry = ComponentRegistry()

    async def broken(inputs: dict[str, Any], context: RunContext) -> None:
        raise RuntimeError("down")

    registry.register("broken", broken)

    with pytest.raises(ComponentError, match=r"node 'broken_0' .* RuntimeError: down") as caught:
        asyncio.run(arun(flow, node.id, mode="predict", registry=registry))

    assert isinstance(caught.value.__cause__, RuntimeError)


def test_real_flowise_export_reports_its_first_missing_component() -> None:
    flow = Chatflow.from_flowise(MARKETPLACE / "Github Docs QnA.json")

    with pytest.raises(ComponentError) as caught:
        run(
            flow,
            "conversationalRetrievalQAChain_0",
            mode="predict",
            registry=builtin_registry(),
            question="What is Flowise?",
        )

    message = str(caught.value)
    assert caught.value.node_id == "markdownTextSplitter_0"
    assert '@component("markdownTextSplitter", category="Text Splitters")' in message
    assert "also missing: 'github_0' (github)" in message
    assert "memoryVectorStore_0" not in message
