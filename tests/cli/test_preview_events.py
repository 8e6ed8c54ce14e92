"""``preview_events`` prints what the telemetry client sends: the same code builds both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flowkit import Chatflow, ChatType, Workspace
from flowkit.errors import FlowkitError, FlowValidationError
from flowkit.runtime import retrieval_demo_flow
from flowkit.telemetry import MemorySink, Telemetry, TelemetrySettings
from flowkit.telemetry.properties import event_fields, preview_events, wire_properties

TEXT = "Telemetry is off when DISABLE_FLOWISE_TELEMETRY=true.\n\nFlows are graphs."


def _sent(flow: Chatflow, home: Path, chat_type: ChatType) -> list[dict[str, Any]]:
    """Save, upsert and ask through a workspace; return what a real client delivered."""
    sink = MemorySink()
    with Telemetry(sink=sink, settings=TelemetrySettings(home=home), synchronous=True):
        workspace = Workspace()
        workspace.create_chatflow(flow)
        workspace.upsert_vector(flow, chat_type=chat_type)
        workspace.predict(flow, "How is telemetry turned off?", chat_id="c-1", chat_type=chat_type)
    return [{"event": e.event, "properties": dict(e.properties)} for e in sink.events]


@pytest.mark.parametrize("chat_type", list(ChatType))
def test_preview_equals_what_the_client_sends(chat_type: ChatType, tmp_path: Path) -> None:
    flow = retrieval_demo_flow(TEXT)

    previewed = preview_events(flow, chat_type=chat_type, chat_id="c-1")

    assert previewed == _sent(flow, tmp_path / "home", chat_type)


def _flow_with_custom_ids() -> Chatflow:
    """The demo's retrieval flow, its store and chain given ids that hold user text."""
    flow = Chatflow(name="custom ids")
    splitter = flow.add_node("recursiveCharacterTextSplitter", category="Text Splitters")
    loader = flow.add_node("plainText", category="Document Loaders", inputs={"text": TEXT})
    embeddings = flow.add_node("hashingEmbeddings", category="Embeddings")
    store = flow.add_node("memoryVectorStore", category="Vector Stores", id="acme store")
    model = flow.add_node("fakeChatModel", category="Chat Models")
    chain = flow.add_node("retrievalQAChain", category="Chains", id="acme answers")
    flow.connect(splitter, loader, "textSplitter")
    flow.connect(loader, store, "document")
    flow.connect(embeddings, store, "embeddings")
    flow.connect(store, chain, "vectorStoreRetriever")
    flow.connect(model, chain, "model")
    return flow


def test_preview_equals_the_client_for_pseudonymized_ids(tmp_path: Path) -> None:
    flow = _flow_with_custom_ids()

    previewed = preview_events(flow, chat_id="c-1", chat_type=ChatType.INTERNAL)

    assert previewed == _sent(flow, tmp_path / "home", ChatType.INTERNAL)
    assert "acme" not in repr(previewed)
    assert previewed[1]["properties"]["stopNodeId"].startswith("node_")


def test_preview_refuses_an_invalid_flow() -> None:
    flow = Chatflow(name="empty")

    with pytest.raises(FlowValidationError):
        preview_events(flow)


def test_preview_refuses_events_a_chatflow_does_not_send() -> None:
    with pytest.raises(FlowkitError, match="tool_created"):
        preview_events(retrieval_demo_flow(TEXT), events=["tool_created"])


def test_preview_refuses_an_unknown_chat_type() -> None:
    with pytest.raises(FlowkitError, match="INTERNAL or EXTERNAL"):
        preview_events(retrieval_demo_flow(TEXT), chat_type="BROWSER")


def test_unknown_event_names_are_refused_by_both_builders() -> None:
    with pytest.raises(FlowkitError, match="known events"):
        event_fields("chatflow_deleted", retrieval_demo_flow(TEXT))
    with pytest.raises(FlowkitError, match="known events"):
        wire_properties("chatflow_deleted", {}, None, "1.0")


def test_signal_arguments_that_do_not_fit_are_a_flowkit_error() -> None:
    with pytest.raises(FlowkitError, match="prediction_sent"):
        event_fields("prediction_sent", retrieval_demo_flow(TEXT))
