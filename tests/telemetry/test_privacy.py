"""Nothing a user wrote leaves in a telemetry event, except what the contract names.

Secrets are planted everywhere a user can put text (node inputs, credentials, labels, Flowise
``data`` fields, positions, node and edge ids, edge handles, the chatflow's name, a tool's
description, function and schema, an assistant's details, the question, the answer, the
retrieved documents, an uploaded file's name and bytes, and overrides), real operations run
through a :class:`Workspace` with telemetry connected, and no serialized event may hold any
of them. The tool's name is the one
user-chosen text the contract sends (``toolName``), so no secret is planted there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowkit import Upload, signals
from flowkit.model import Assistant, Chatflow, ChatType, Edge, Tool
from flowkit.runtime import Document, Prediction, UpsertResult
from flowkit.telemetry import MemorySink, Telemetry, TelemetryEvent, TelemetrySettings
from flowkit.workspace import Workspace

CONTRACT_KEYS: dict[str, list[str]] = {
    "chatflow_created": ["version", "chatlowId", "flowGraph"],
    "tool_created": ["version", "toolId", "toolName"],
    "assistant_created": ["version", "assistantId"],
    "vector_upserted": ["version", "chatlowId", "type", "flowGraph", "stopNodeId"],
    "prediction_sent": ["version", "chatlowId", "chatId", "type", "flowGraph"],
}
MARKER = "SECRET"


def _secret(token: bytes, noise: str) -> str:
    return f"{MARKER}-{token.hex()}-{noise}"


secret_text = st.builds(_secret, st.binary(min_size=8, max_size=8), st.text(max_size=12))
"""A secret: a marker, 16 random hex digits (what the check looks for) and any text."""


@dataclass(frozen=True)
class Secrets:
    """One secret per place a user can write something."""

    flow_name: str
    flow_extra: str
    node_id: str
    store_id: str
    chain_id: str
    note_id: str
    label: str
    input: str
    credential: str
    data_extra: str
    node_extra: str
    position: str
    edge_id: str
    source_handle: str
    target_handle: str
    edge_extra: str
    document: str
    metadata: str
    prefix: str
    question: str
    tool_description: str
    tool_func: str
    tool_schema: str
    tool_extra: str
    tool_icon: str
    assistant_name: str
    assistant_instructions: str
    assistant_credential: str
    assistant_icon: str
    upload_name: str
    upload_data: str
    override: str

    def all(self) -> list[str]:
        return [getattr(self, f.name) for f in fields(self)]

    def tokens(self) -> list[str]:
        """The random part of each secret, which no event may contain in any form."""
        return [token(text) for text in self.all()]


def token(secret: str) -> str:
    """The 16 random hex digits of a secret."""
    return secret.split("-", 2)[1]


def distinct_secrets() -> st.SearchStrategy[Secrets]:
    names = [f.name for f in fields(Secrets)]
    return st.lists(secret_text, min_size=len(names), max_size=len(names), unique=True).map(
        lambda values: Secrets(**dict(zip(names, values, strict=True)))
    )


def planted_flow(s: Secrets) -> Chatflow:
    """The offline retrieval flow, with a secret in every user-writable place."""
    flow = Chatflow(name=s.flow_name, flow_extra={"viewport": {"note": s.flow_extra}})

    def add(name: str, category: str, node_id: str, **inputs: object) -> str:
        flow.add_node(
            name,
            category=category,
            id=node_id,
            label=s.label,
            inputs={**inputs, "note": s.input},
            credential=s.credential,
            position={"x": 10, "y": 20, "note": s.position},
            data_extra={"description": s.data_extra},
            extra={"selected": s.node_extra},
        )
        return node_id

    splitter = add(
        "recursiveCharacterTextSplitter",
        "Text Splitters",
        "recursiveCharacterTextSplitter_0",
        chunkSize=200,
        chunkOverlap=0,
    )
    loader = add(
        "plainText",
        "Document Loaders",
        s.node_id,
        text=f"Paris is lovely. {s.document}",
        metadata=json.dumps({"source": s.metadata}),
    )
    embeddings = add("hashingEmbeddings", "Embeddings", "hashingEmbeddings_0")
    store = add("memoryVectorStore", "Vector Stores", s.store_id, topK=1)
    model = add("fakeChatModel", "Chat Models", "fakeChatModel_0", prefix=s.prefix)
    chain = add("retrievalQAChain", "Chains", s.chain_id)
    add("stickyNote", "Utilities", s.note_id)
    flow.node(s.note_id).type = "stickyNote"
    for n, (source, target, target_input) in enumerate(
        [
            (splitter, loader, "textSplitter"),
            (loader, store, "document"),
            (embeddings, store, "embeddings"),
            (store, chain, "vectorStoreRetriever"),
            (model, chain, "model"),
        ]
    ):
        flow.insert_edge(
            Edge(
                id=f"{s.edge_id}-{n}",
                source=source,
                target=target,
                source_handle=f"{source}-output-{s.source_handle}",
                target_handle=f"{target}-input-{target_input}-{s.target_handle}",
                extra={"data": {"label": s.edge_extra}},
            )
        )
    return flow


def assert_nothing_leaks(events: list[TelemetryEvent], s: Secrets) -> None:
    for event in events:
        for text in (
            json.dumps(event.to_wire(), ensure_ascii=False),
            json.dumps(event.to_wire()),
            repr(event),
        ):
            assert MARKER not in text, f"{event.event} leaks a secret: {text}"
            for token in s.tokens():
                assert token not in text, f"{event.event} leaks {token}: {text}"


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(s=distinct_secrets())
def test_no_planted_secret_appears_in_any_serialized_event(s: Secrets, flowkit_home: Path) -> None:
    sink = MemorySink()
    client = Telemetry(sink=sink, settings=TelemetrySettings(home=flowkit_home), synchronous=True)
    with client:
        workspace = Workspace(strict_signals=True)
        flow = workspace.create_chatflow(planted_flow(s))
        upserted = workspace.upsert_vector(flow)
        workspace.upsert_vector(
            flow,
            files=[Upload(name=f"{s.upload_name}.txt", data=s.upload_data.encode())],
            overrides={"note": s.override},
        )
        answer = workspace.predict(flow, f"Where is Paris? {s.question}")
        workspace.create_tool(
            Tool(
                name="lookup_weather",
                description=s.tool_description,
                func=s.tool_func,
                schema=json.dumps([{"property": "city", "description": s.tool_schema}]),
                icon_src=s.tool_icon,
                extra={"notes": s.tool_extra},
            )
        )
        workspace.create_assistant(
            Assistant(
                details={"name": s.assistant_name, "instructions": s.assistant_instructions},
                credential=s.assistant_credential,
                icon_src=s.assistant_icon,
            )
        )
    client.shutdown()

    # The secrets did reach the operations...
    assert upserted.num_added >= 1
    assert s.prefix in answer.text
    assert any(token(s.document) in doc.page_content for doc in answer.source_documents)
    assert any(token(s.metadata) in str(doc.metadata) for doc in answer.source_documents)
    # ...and none of them left in an event.
    assert [e.event for e in sink.events] == [
        "chatflow_created",
        "vector_upserted",
        "vector_upserted",
        "prediction_sent",
        "tool_created",
        "assistant_created",
    ]
    assert_nothing_leaks(sink.events, s)
    for event in sink.events:
        assert list(event.to_wire()["properties"]) == CONTRACT_KEYS[event.event]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(s=distinct_secrets())
def test_signal_arguments_never_reach_an_event(s: Secrets, flowkit_home: Path) -> None:
    flow = planted_flow(s)
    prediction = Prediction(
        text=s.prefix,
        chat_id="chat-1",
        source_documents=[Document(page_content=s.document, metadata={"source": s.metadata})],
    )
    upsert = UpsertResult(stop_node_id=s.store_id, num_added=1, note=s.input)
    sink = MemorySink()
    client = Telemetry(sink=sink, settings=TelemetrySettings(home=flowkit_home), synchronous=True)
    with client:
        signals.send(
            signals.vector_upserted,
            flow,
            strict=True,
            workspace=None,
            stop_node_id=s.store_id,
            chat_type=ChatType.INTERNAL,
            result=upsert,
            overrides={"text": s.credential},
        )
        signals.send(
            signals.prediction_sent,
            flow,
            strict=True,
            workspace=None,
            chat_id="chat-1",
            chat_type=ChatType.EXTERNAL,
            question=s.question,
            result=prediction,
            history=[s.label],
        )
    client.shutdown()

    assert [e.event for e in sink.events] == ["vector_upserted", "prediction_sent"]
    assert_nothing_leaks(sink.events, s)


def test_tool_name_is_the_one_user_text_sent(flowkit_home: Path) -> None:
    sink = MemorySink()
    client = Telemetry(sink=sink, settings=TelemetrySettings(home=flowkit_home), synchronous=True)
    tool = Tool(name="todays_date_time", description="private description", func="return 1")
    with client:
        Workspace().create_tool(tool)
    client.shutdown()

    assert sink.events[0].to_wire()["properties"] == {
        "version": client.version,
        "toolId": tool.id,
        "toolName": "todays_date_time",
    }
