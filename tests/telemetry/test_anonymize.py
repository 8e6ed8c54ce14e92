"""The anonymized flow shape: Flowise ids pass, other ids become stable pseudonyms, and the
snapshot cache follows every change of the flow."""

from __future__ import annotations

import gc
import itertools
import json
import re
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowkit import signals
from flowkit.model import Chatflow, ChatType
from flowkit.runtime import retrieval_demo_flow
from flowkit.telemetry import (
    GraphSnapshots,
    MemorySink,
    Telemetry,
    flow_graph,
    pseudonym,
)

PSEUDONYM = re.compile(r"node_[0-9a-f]{16}")

component_names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,30}", fullmatch=True)
"""Component names as Flowise has them, underscores included (``chatOpenAI_LlamaIndex``)."""

user_ids = st.text(min_size=1, max_size=40).map(lambda text: f"SECRET {text}")
"""Node ids that do not follow ``<name>_<n>`` and may carry user text."""


def send_prediction(flow: Chatflow) -> None:
    signals.send(
        signals.prediction_sent,
        flow,
        strict=True,
        workspace=None,
        chat_id="chat-1",
        chat_type=ChatType.EXTERNAL,
        question="q",
        result=None,
    )


def send_upsert(flow: Chatflow, stop_node_id: str) -> None:
    signals.send(
        signals.vector_upserted,
        flow,
        strict=True,
        workspace=None,
        stop_node_id=stop_node_id,
        chat_type=ChatType.INTERNAL,
        result=None,
    )


def graph_of(event: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(json.dumps(event.to_wire()))["properties"]["flowGraph"]
    return parsed


def secret_flow(secret_id: str = "customer acme secret") -> Chatflow:
    """``plainText_0 -> <secret_id> <- hashingEmbeddings_0``, the store's id being user text."""
    flow = Chatflow()
    loader = flow.add_node("plainText")
    store = flow.add_node("memoryVectorStore", id=secret_id, category="Vector Stores")
    embeddings = flow.add_node("hashingEmbeddings")
    flow.connect(loader, store, "document")
    flow.connect(embeddings, store, "embeddings")
    return flow


# ---- Flowise ids pass, other ids are pseudonymized ----------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    names=st.lists(component_names, min_size=1, max_size=6, unique=True),
    numbers=st.lists(st.integers(min_value=0, max_value=10**6), min_size=6, max_size=6),
)
def test_flowise_pattern_ids_pass_unchanged(names: list[str], numbers: list[int]) -> None:
    flow = Chatflow()
    ids = [f"{name}_{n}" for name, n in zip(names, numbers, strict=False)]
    for name, node_id in zip(names, ids, strict=True):
        flow.add_node(name, id=node_id)
    for source, target in itertools.pairwise(ids):
        flow.connect(source, target, "input")

    graph = flow_graph(flow)

    assert graph == {
        "nodes": ids,
        "edges": [{"source": s, "target": t} for s, t in itertools.pairwise(ids)],
    }


def test_name_with_underscores_and_number_passes_unchanged() -> None:
    flow = Chatflow()
    flow.add_node("chatOpenAI_LlamaIndex", id="chatOpenAI_LlamaIndex_1")

    assert flow_graph(flow)["nodes"] == ["chatOpenAI_LlamaIndex_1"]


@pytest.mark.parametrize(
    ("name", "node_id"),
    [
        ("chatOpenAI", "llmChain_0"),  # another component's pattern
        ("chatOpenAI", "chatOpenAI_01"),  # not how Flowise numbers
        ("chatOpenAI", "chatOpenAI_"),
        ("chatOpenAI", "chatOpenAI"),
        ("chatOpenAI", "chatOpenAI_LlamaIndex_0"),  # a longer name's id
        ("chatOpenAI", "chatOpenAI_0 "),
        ("chatOpenAI", "chatOpenAI_٣"),  # a non-ASCII digit
    ],
)
def test_id_not_following_its_own_component_pattern_is_pseudonymized(
    name: str, node_id: str
) -> None:
    flow = Chatflow()
    flow.add_node(name, id=node_id)

    assert flow_graph(flow)["nodes"] == [pseudonym(node_id)]
    assert PSEUDONYM.fullmatch(pseudonym(node_id))


def test_user_text_id_is_pseudonymized_the_same_in_nodes_and_edges() -> None:
    flow = secret_flow("customer acme secret")

    graph = flow_graph(flow)

    alias = pseudonym("customer acme secret")
    assert graph == {
        "nodes": ["plainText_0", alias, "hashingEmbeddings_0"],
        "edges": [
            {"source": "plainText_0", "target": alias},
            {"source": "hashingEmbeddings_0", "target": alias},
        ],
    }
    assert "acme" not in json.dumps(graph)


def test_stop_node_id_carries_the_same_pseudonym(sink: MemorySink, telemetry: Telemetry) -> None:
    flow = secret_flow("customer acme secret")

    send_upsert(flow, "customer acme secret")

    properties = sink.events[0].to_wire()["properties"]
    assert properties["stopNodeId"] == pseudonym("customer acme secret")
    assert properties["stopNodeId"] in properties["flowGraph"]["nodes"]
    assert "acme" not in json.dumps(sink.events[0].to_wire())


@settings(max_examples=60, deadline=None)
@given(node_id=user_ids)
def test_pseudonym_is_stable_within_the_process(node_id: str) -> None:
    first, second = secret_flow(node_id), secret_flow(node_id)

    assert flow_graph(first) == flow_graph(second)
    assert flow_graph(first)["nodes"][1] == pseudonym(node_id) == pseudonym(node_id)


@settings(max_examples=100, deadline=None)
@given(node_id=user_ids)
def test_pseudonym_does_not_contain_the_original_id(node_id: str) -> None:
    alias = pseudonym(node_id)

    assert PSEUDONYM.fullmatch(alias)
    assert node_id not in alias
    assert node_id not in json.dumps(flow_graph(secret_flow(node_id)), ensure_ascii=False)


@settings(max_examples=60, deadline=None)
@given(ids=st.lists(user_ids, min_size=2, max_size=10, unique=True))
def test_distinct_ids_get_distinct_pseudonyms(ids: list[str]) -> None:
    assert len({pseudonym(node_id) for node_id in ids}) == len(ids)


def test_pseudonyms_are_keyed_per_process_not_a_plain_hash() -> None:
    script = "from flowkit.telemetry import pseudonym; print(pseudonym('customer acme secret'))"

    outputs = {
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
        ).stdout.strip()
        for _ in range(2)
    }

    assert len(outputs) == 2
    assert all(PSEUDONYM.fullmatch(alias) for alias in outputs)


def test_flow_graph_keeps_flow_order_sticky_notes_and_parallel_edges() -> None:
    flow = Chatflow()
    model = flow.add_node("chatOpenAI")
    note = flow.add_node("stickyNote", type="stickyNote")
    chain = flow.add_node("llmChain")
    flow.connect(model, chain, "model")
    flow.connect(model, chain, "model", source_output="other")

    assert flow_graph(flow) == {
        "nodes": [model.id, note.id, chain.id],
        "edges": [
            {"source": "chatOpenAI_0", "target": "llmChain_0"},
            {"source": "chatOpenAI_0", "target": "llmChain_0"},
        ],
    }


# ---- the snapshot cache -------------------------------------------------------------------


def test_unchanged_flow_gives_the_same_snapshot_object() -> None:
    snapshots = GraphSnapshots()
    flow = retrieval_demo_flow("text")

    first = snapshots.get(flow)

    assert snapshots.get(flow) is first
    assert first == flow_graph(flow)


def test_events_of_an_unchanged_flow_share_one_graph(
    sink: MemorySink, telemetry: Telemetry
) -> None:
    flow = retrieval_demo_flow("text")

    send_prediction(flow)
    send_prediction(flow)

    assert sink.events[0].properties["flowGraph"] is sink.events[1].properties["flowGraph"]


def test_event_after_add_node_carries_the_new_node(sink: MemorySink, telemetry: Telemetry) -> None:
    flow = retrieval_demo_flow("text")
    send_prediction(flow)

    flow.add_node("stickyNote", type="stickyNote")
    send_prediction(flow)

    assert graph_of(sink.events[1])["nodes"] == [*graph_of(sink.events[0])["nodes"], "stickyNote_0"]
    assert graph_of(sink.events[1]) == flow_graph(flow)


def test_event_after_connect_carries_the_new_edge(sink: MemorySink, telemetry: Telemetry) -> None:
    flow = retrieval_demo_flow("text")
    send_prediction(flow)

    flow.connect("hashingEmbeddings_0", "retrievalQAChain_0", "extra")
    send_prediction(flow)

    assert graph_of(sink.events[1])["edges"] == [
        *graph_of(sink.events[0])["edges"],
        {"source": "hashingEmbeddings_0", "target": "retrievalQAChain_0"},
    ]


def test_event_after_remove_edge_lacks_the_edge(sink: MemorySink, telemetry: Telemetry) -> None:
    flow = retrieval_demo_flow("text")
    send_prediction(flow)
    first = flow.edges[0]

    flow.remove_edge(first.id)
    send_prediction(flow)

    assert graph_of(sink.events[1])["edges"] == graph_of(sink.events[0])["edges"][1:]
    assert graph_of(sink.events[1]) == flow_graph(flow)


def test_event_after_remove_node_lacks_the_node_and_its_edges(
    sink: MemorySink, telemetry: Telemetry
) -> None:
    flow = retrieval_demo_flow("text")
    send_prediction(flow)

    flow.remove_node("fakeChatModel_0")
    send_prediction(flow)

    assert "fakeChatModel_0" not in json.dumps(graph_of(sink.events[1]))
    assert graph_of(sink.events[1]) == flow_graph(flow)


def test_snapshot_entry_goes_away_with_its_flow() -> None:
    snapshots = GraphSnapshots()
    flow = retrieval_demo_flow("text")
    snapshots.get(flow)
    assert len(snapshots) == 1

    del flow
    gc.collect()

    assert len(snapshots) == 0


def test_two_flows_with_equal_shapes_keep_separate_snapshots() -> None:
    snapshots = GraphSnapshots()
    first, second = retrieval_demo_flow("a"), retrieval_demo_flow("b")

    one = snapshots.get(first)
    second.add_node("stickyNote", type="stickyNote")
    two = snapshots.get(second)

    assert one is not two
    assert snapshots.get(first) is one
    assert "stickyNote_0" in two["nodes"]
    assert "stickyNote_0" not in one["nodes"]
