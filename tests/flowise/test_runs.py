"""The RAG flow on a real Flowise through a workspace: upsert, ask, stream, history, with the
signals and telemetry events a local workspace sends."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from flowkit import Chatflow, FlowType, Workspace, signals
from flowkit.backends.base import Upload
from flowkit.backends.events import (
    AGENT_FLOW_EVENT,
    AGENT_FLOW_EXECUTED_DATA,
    END,
    METADATA,
    NEXT_AGENT_FLOW,
    SOURCE_DOCUMENTS,
    START,
    TOKEN,
)
from flowkit.client import FlowiseClient
from flowkit.testing import TelemetryCapture, assert_valid_event
from flowkit.workspace import AsyncWorkspace

from .conftest import Server

QUESTION = "What is the capital of Zubrowka?"


@pytest.fixture
def saved(workspace: Workspace, rag_flow: Chatflow) -> Iterator[Chatflow]:
    """The RAG flow saved on the server (deleted afterwards)."""
    flow = workspace.create_chatflow(rag_flow)
    yield flow
    workspace.delete_chatflow(flow.id)


class _Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, Any, dict[str, Any]]] = []

    def __call__(self, name: str) -> Any:
        def receive(sender: Any, **kwargs: Any) -> None:
            self.seen.append((name, sender, kwargs))

        return receive


@pytest.fixture
def recorded() -> Iterator[_Recorder]:
    recorder = _Recorder()
    names = ("chatflow_created", "vector_upserted", "prediction_sent", "operation_failed")
    receivers = [(getattr(signals, n), recorder(n)) for n in names]
    for signal, receiver in receivers:
        signal.connect(receiver, weak=False)
    yield recorder
    for signal, receiver in receivers:
        signal.disconnect(receiver)


def test_upsert_and_ask_send_the_local_signals_and_events(
    workspace: Workspace,
    rag_flow: Chatflow,
    recorded: _Recorder,
    telemetry_events: TelemetryCapture,
) -> None:
    flow = workspace.create_chatflow(rag_flow)
    try:
        upserted = workspace.upsert_vector(flow)
        answer = workspace.predict(flow, QUESTION, chat_id="flowkit-chat-1")
    finally:
        workspace.delete_chatflow(flow.id)

    assert upserted.num_added == 7
    assert upserted.stop_node_id == "memoryVectorStore_0"
    assert answer.text.startswith("MOCK: What is the capital of Zubrowka?")
    assert "context: <doc" in answer.text  # retrieval reached the upserted documents
    assert answer.chat_id == "flowkit-chat-1"
    assert answer.source_documents
    assert [name for name, _, _ in recorded.seen] == [
        "chatflow_created",
        "vector_upserted",
        "prediction_sent",
    ]
    assert recorded.seen[0][1] is flow
    assert telemetry_events.names() == ["chatflow_created", "vector_upserted", "prediction_sent"]
    telemetry_events.assert_all_valid()
    graph = telemetry_events.last("prediction_sent").properties["flowGraph"]
    assert graph["nodes"] == [n.id for n in flow.nodes]


def test_a_stream_spells_the_answer_and_sends_prediction_sent(
    workspace: Workspace, saved: Chatflow, recorded: _Recorder, telemetry_events: TelemetryCapture
) -> None:
    workspace.upsert_vector(saved)
    plain = workspace.predict(saved, QUESTION)

    events = list(workspace.stream(saved, QUESTION, chat_id="flowkit-stream-1"))

    names = [e.event for e in events]
    assert names[0] == START
    assert names[-1] == END
    assert SOURCE_DOCUMENTS in names
    assert METADATA in names
    answer = "".join(e.data for e in events if e.event == TOKEN)
    assert answer == plain.text
    (metadata,) = [e.data for e in events if e.event == METADATA]
    assert metadata["chatId"] == "flowkit-stream-1"
    sent = [kw for name, _, kw in recorded.seen if name == "prediction_sent"]
    assert len(sent) == 2
    assert sent[-1]["result"].text == answer
    assert telemetry_events.names()[-1] == "prediction_sent"
    assert_valid_event(telemetry_events.last("prediction_sent"))


def test_chat_history_is_read_and_deleted(workspace: Workspace, saved: Chatflow) -> None:
    workspace.predict(saved, "first question", chat_id="flowkit-history-a")
    workspace.predict(saved, "second question", chat_id="flowkit-history-b")

    conversation = workspace.chat_messages(saved, chat_id="flowkit-history-a")
    everything = workspace.chat_messages(saved)
    deleted = workspace.delete_chat_messages(saved, chat_id="flowkit-history-a")
    left = workspace.chat_messages(saved)

    assert next((m.role.value, m.content) for m in conversation) == (
        "userMessage",
        "first question",
    )
    assert [m.role.value for m in conversation] == ["userMessage", "apiMessage"]
    assert len(everything) == 4
    assert deleted == 2
    assert {m.chat_id for m in left} == {"flowkit-history-b"}


def test_a_session_id_alone_names_the_conversation_as_on_a_local_workspace(
    workspace: Workspace, saved: Chatflow
) -> None:
    session = {"sessionId": "flowkit-session-1"}
    first = workspace.predict(saved, "first question", overrides=session)
    second = workspace.predict(saved, "second question", overrides=session)

    conversation = workspace.chat_messages(saved, chat_id="flowkit-session-1")

    assert (first.chat_id, second.chat_id) == ("flowkit-session-1", "flowkit-session-1")
    assert [(m.role.value, m.content) for m in conversation][::2] == [
        ("userMessage", "first question"),
        ("userMessage", "second question"),
    ]
    assert len(conversation) == 4


def test_a_chat_named_beside_a_session_keeps_its_messages_in_that_session(
    workspace: Workspace, saved: Chatflow
) -> None:
    workspace.predict(
        saved, "first question", chat_id="flowkit-chat-s", overrides={"sessionId": "flowkit-s"}
    )

    messages = workspace.chat_messages(saved, chat_id="flowkit-chat-s")

    # As a local workspace keeps them (tests/storage/test_workspace_file.py).
    assert [(m.chat_id, m.session) for m in messages] == [
        ("flowkit-chat-s", "flowkit-s"),
        ("flowkit-chat-s", "flowkit-s"),
    ]


def test_the_async_workspace_streams_the_same_answer(server: Server, rag_flow: Chatflow) -> None:
    async def main() -> tuple[str, str]:
        async with AsyncWorkspace.connect(server.url, api_key=server.api_key) as workspace:
            flow = await workspace.create_chatflow(rag_flow)
            try:
                await workspace.upsert_vector(flow)
                plain = await workspace.predict(flow, QUESTION)
                tokens = [
                    e.data async for e in workspace.stream(flow, QUESTION) if e.event == TOKEN
                ]
                return plain.text, "".join(tokens)
            finally:
                await workspace.delete_chatflow(flow.id)

    plain, streamed = asyncio.run(main())

    assert streamed == plain
    assert "context: <doc" in plain


def test_a_multipart_upsert_with_files_is_accepted(client: FlowiseClient, saved: Chatflow) -> None:
    upload = Upload(name="notes.txt", data=b"The blue door code is 4711.", mime="text/plain")

    result = client.upsert_vector(saved.id, stop_node_id="memoryVectorStore_0", files=[upload])

    assert result.num_added == 7  # the flow's own text loader ran; the file went along
    assert result.stop_node_id == "memoryVectorStore_0"


def test_an_agent_flow_streams_its_agent_events_and_the_same_answer(
    workspace: Workspace, agent_flow: Chatflow, recorded: _Recorder
) -> None:
    flow = workspace.create_chatflow(agent_flow)
    try:
        plain = workspace.predict(flow, "Good night")
        events = list(workspace.stream(flow, "Good night"))
    finally:
        workspace.delete_chatflow(flow.id)

    names = [e.event for e in events]
    assert flow.type == FlowType.AGENTFLOW
    assert (names[0], events[0].data) == (AGENT_FLOW_EVENT, "INPROGRESS")
    assert NEXT_AGENT_FLOW in names
    assert AGENT_FLOW_EXECUTED_DATA in names
    assert names[-2:] == [METADATA, END]
    assert "".join(e.data for e in events if e.event == TOKEN) == plain.text
    assert plain.text.startswith("MOCK: ")
    assert [n for n, _, _ in recorded.seen].count("prediction_sent") == 2
