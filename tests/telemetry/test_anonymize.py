"""The anonymized flow shape: ids of Flowise's own components pass, other ids become stable
pseudonyms, and the snapshot cache follows every change of the flow."""

from __future__ import annotations

import gc
import itertools
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flowkit.telemetry
from flowkit import Workspace, signals
from flowkit.model import Chatflow, ChatType
from flowkit.runtime import retrieval_demo_flow
from flowkit.telemetry import (
    GraphSnapshots,
    JsonlSink,
    MemorySink,
    Telemetry,
    TelemetrySettings,
    flow_graph,
    pseudonym,
)
from flowkit.telemetry.anonymize import flowise_node_names, is_flowise_id
from telemetry.helpers import send_prediction

ROOT = Path(__file__).resolve().parents[2]

PSEUDONYM = re.compile(r"node_[0-9a-f]{16}")

component_names = st.sampled_from(sorted(flowise_node_names()))
"""Flowise's own component names, underscores included (``chatOpenAI_LlamaIndex``)."""

user_ids = st.text(min_size=1, max_size=40).map(lambda text: f"SECRET {text}")
"""Node ids that do not follow ``<name>_<n>`` and may carry user text."""


def strict_prediction(flow: Chatflow) -> None:
    send_prediction(flow, strict=True)


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
        ("myModel", "myModel_0"),  # not a Flowise component
        ("alice@example.com", "alice@example.com_0"),
        ("chatOpenAI", "chatopenai_0"),  # names are case-sensitive
        ("chatOpenAI", "chatOpenAI_01"),  # not how Flowise numbers
        ("chatOpenAI", "chatOpenAI_"),
        ("chatOpenAI", "chatOpenAI"),
        ("chatOpenAI", "chatOpenAI_secret_0"),  # a Flowise name, then user text
        ("chatOpenAI", "chatOpenAI_0 "),
        ("chatOpenAI", "chatOpenAI_٣"),  # a non-ASCII digit
    ],
)
def test_id_not_following_a_flowise_component_pattern_is_pseudonymized(
    name: str, node_id: str
) -> None:
    flow = Chatflow()
    flow.add_node(name, id=node_id)

    assert flow_graph(flow)["nodes"] == [pseudonym(node_id)]
    assert PSEUDONYM.fullmatch(pseudonym(node_id))


# ---- the catalog of Flowise's node names ----------------------------------------------------

SPEC_NAMES = ROOT / "tests" / "data" / "spec" / "flowise-3.1.3-node-names.txt"
CATALOG_FILE = Path(flowkit.telemetry.__file__).parent / "data" / "flowise_node_names.json"


def _is_chatflow_export(path: Path) -> bool:
    try:
        data = json.loads(path.read_bytes())
    except ValueError:
        return False
    return isinstance(data, dict) and ("nodes" in data or "flowData" in data)


LOCAL_EXPORTS = sorted(
    path
    for path in [*(ROOT / "tests" / "data").rglob("*.json"), *(ROOT / "examples").rglob("*.json")]
    if _is_chatflow_export(path)  # not tool exports or recorded events
)
"""The chatflow exports vendored in the repository (tests/data, examples)."""


def test_catalog_holds_every_flowise_3_1_3_name() -> None:
    listed = {line.strip() for line in SPEC_NAMES.read_text().splitlines() if line.strip()}

    assert len(listed) == 310
    assert listed <= flowise_node_names()


@pytest.mark.parametrize(
    "name", ["csvAgent", "pineconeUpsert", "chromaExistingIndex", "autoGPT", "mrklAgentChat"]
)
def test_catalog_keeps_names_removed_from_flowise_since_1_x(name: str) -> None:
    assert name in flowise_node_names()


def test_catalog_says_which_flowise_releases_it_came_from() -> None:
    catalog = json.loads(CATALOG_FILE.read_text("utf-8"))
    versions = {(source["package"], source["version"]) for source in catalog["sources"]}

    assert ("flowise", "3.1.3") in versions
    assert ("flowise-components", "1.8.6") in versions  # the last 1.x release
    assert ("flowise-components", "1.0.0") in versions
    assert frozenset(catalog["names"]) == flowise_node_names()
    assert catalog["names"] == sorted(catalog["names"])


def test_catalog_is_one_frozenset_loaded_once() -> None:
    first = flowise_node_names()

    assert isinstance(first, frozenset)
    assert flowise_node_names() is first


def test_catalog_is_read_on_first_use_not_at_import() -> None:
    script = textwrap.dedent(
        """
        import sys
        opened = []
        def audit(event, args):
            if event == "open" and str(args[0]).endswith("flowise_node_names.json"):
                opened.append(args[0])
        sys.addaudithook(audit)
        import flowkit, flowkit.telemetry
        from flowkit.model import Chatflow
        print(len(opened))
        flow = Chatflow()
        flow.add_node("chatOpenAI")
        flowkit.telemetry.flow_graph(flow)
        flowkit.telemetry.flow_graph(flow)
        print(len(opened))
        """
    )

    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )

    assert done.stdout.split() == ["0", "1"]


@pytest.mark.parametrize(
    ("node_id", "verbatim"),
    [
        ("chatOpenAI_0", True),
        ("chatOpenAI_LlamaIndex_12", True),
        ("csvAgent_3", True),  # Flowise 1.x only
        ("hashingEmbeddings_0", True),  # a flowkit built-in: a name of this package
        ("alice@example.com_0", False),
        ("chatOpenAI_secret_0", False),
        ("chatopenai_0", False),
        ("chatOpenAI_00", False),
        ("chatOpenAI_-1", False),
        ("chatOpenAI_0_", False),
        ("_0", False),
        ("0", False),
        ("", False),
    ],
)
def test_is_flowise_id_needs_a_catalog_name_and_a_flowise_number(
    node_id: str, verbatim: bool
) -> None:
    assert is_flowise_id(node_id) is verbatim


def check_export_keeps_every_id(path: Path) -> None:
    flow = Chatflow.from_flowise(path)
    ids = [node.id for node in flow.nodes]

    graph = flow_graph(flow)

    assert ids, f"{path.name} has no nodes"
    assert graph["nodes"] == ids
    assert graph["edges"] == [{"source": e.source, "target": e.target} for e in flow.edges]


def test_every_marketplace_chatflow_keeps_its_exact_graph(marketplace_chatflow: Path) -> None:
    check_export_keeps_every_id(marketplace_chatflow)


@pytest.mark.parametrize("path", LOCAL_EXPORTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_vendored_chatflow_keeps_its_exact_graph(path: Path) -> None:
    check_export_keeps_every_id(path)


def alice_flow() -> Chatflow:
    flow = Chatflow()
    loader = flow.add_node("plainText")
    alice = flow.add_node("alice@example.com", category="Vector Stores")
    chain = flow.add_node("retrievalQAChain", category="Chains")
    flow.connect(loader, alice, "document")
    flow.connect(alice, chain, "vectorStoreRetriever")
    return flow


def assert_no_trace_of_alice(text: str) -> None:
    assert "alice" not in text.lower()
    assert "example.com" not in text.lower()


def test_user_named_node_leaves_no_trace_in_the_memory_sink(
    sink: MemorySink, telemetry: Telemetry
) -> None:
    flow = Workspace().create_chatflow(alice_flow())
    alice_id = flow.nodes[1].id
    send_upsert(flow, alice_id)
    strict_prediction(flow)

    assert alice_id == "alice@example.com_0"
    assert [e.event for e in sink.events] == [
        "chatflow_created",
        "vector_upserted",
        "prediction_sent",
    ]
    for event in sink.events:
        assert_no_trace_of_alice(json.dumps(event.to_wire()))
        assert_no_trace_of_alice(repr(event))
    assert graph_of(sink.events[0])["nodes"] == [
        "plainText_0",
        pseudonym(alice_id),
        "retrievalQAChain_0",
    ]


def test_user_named_node_leaves_no_trace_in_the_jsonl_file_or_home(
    tmp_path: Path, flowkit_home: Path
) -> None:
    file = tmp_path / "events.jsonl"
    client = Telemetry(
        sink=JsonlSink(file), settings=TelemetrySettings(home=flowkit_home), synchronous=True
    )
    with client:
        flow = Workspace().create_chatflow(alice_flow())
        send_upsert(flow, flow.nodes[1].id)
        strict_prediction(flow)
    client.shutdown()

    lines = file.read_text("utf-8").splitlines()
    assert [json.loads(line)["event"] for line in lines] == [
        "chatflow_created",
        "vector_upserted",
        "prediction_sent",
    ]
    for written in [*tmp_path.rglob("*"), *flowkit_home.rglob("*")]:
        if written.is_file():
            assert_no_trace_of_alice(written.read_bytes().decode("utf-8", "replace"))


not_catalog_names = st.one_of(
    st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,30}", fullmatch=True),  # Flowise-like names
    st.emails(),
    st.text(min_size=1, max_size=30),
).filter(lambda name: name.strip() == name and not is_flowise_id(f"{name}_0"))
"""Names a user may give a node that are no Flowise (or flowkit built-in) component."""

HARMLESS = set("node_0123456789abcdef") | set("chatOpenAI_0")
"""The characters of the ids sent below: a name made only of them may be found by chance."""


@settings(max_examples=100, deadline=None)
@given(names=st.lists(not_catalog_names, min_size=1, max_size=5, unique=True))
def test_user_names_never_appear_in_the_anonymized_graph(names: list[str]) -> None:
    flow = Chatflow()
    model = flow.add_node("chatOpenAI")
    user_nodes = [flow.add_node(name) for name in names]
    for node in user_nodes:
        flow.connect(model, node, "model")

    graph = flow_graph(flow)

    assert graph["nodes"] == ["chatOpenAI_0", *(pseudonym(node.id) for node in user_nodes)]
    assert all(PSEUDONYM.fullmatch(alias) for alias in graph["nodes"][1:])
    sent = {*graph["nodes"], *(edge[end] for edge in graph["edges"] for end in edge)}
    assert sent == set(graph["nodes"])
    for name in names:
        leaked = [graph_id for graph_id in sent if name in graph_id]
        assert not leaked or set(name) <= HARMLESS, leaked


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

    strict_prediction(flow)
    strict_prediction(flow)

    assert sink.events[0].properties["flowGraph"] is sink.events[1].properties["flowGraph"]


def test_event_after_add_node_carries_the_new_node(sink: MemorySink, telemetry: Telemetry) -> None:
    flow = retrieval_demo_flow("text")
    strict_prediction(flow)

    flow.add_node("stickyNote", type="stickyNote")
    strict_prediction(flow)

    assert graph_of(sink.events[1])["nodes"] == [*graph_of(sink.events[0])["nodes"], "stickyNote_0"]
    assert graph_of(sink.events[1]) == flow_graph(flow)


def test_event_after_connect_carries_the_new_edge(sink: MemorySink, telemetry: Telemetry) -> None:
    flow = retrieval_demo_flow("text")
    strict_prediction(flow)

    flow.connect("hashingEmbeddings_0", "retrievalQAChain_0", "extra")
    strict_prediction(flow)

    assert graph_of(sink.events[1])["edges"] == [
        *graph_of(sink.events[0])["edges"],
        {"source": "hashingEmbeddings_0", "target": "retrievalQAChain_0"},
    ]


def test_event_after_remove_edge_lacks_the_edge(sink: MemorySink, telemetry: Telemetry) -> None:
    flow = retrieval_demo_flow("text")
    strict_prediction(flow)
    first = flow.edges[0]

    flow.remove_edge(first.id)
    strict_prediction(flow)

    assert graph_of(sink.events[1])["edges"] == graph_of(sink.events[0])["edges"][1:]
    assert graph_of(sink.events[1]) == flow_graph(flow)


def test_event_after_remove_node_lacks_the_node_and_its_edges(
    sink: MemorySink, telemetry: Telemetry
) -> None:
    flow = retrieval_demo_flow("text")
    strict_prediction(flow)

    flow.remove_node("fakeChatModel_0")
    strict_prediction(flow)

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


def test_every_component_add_flowise_node_builds_goes_out_verbatim() -> None:
    from flowkit.model.nodedefs import node_catalog

    assert set(node_catalog().names()) <= flowise_node_names()
