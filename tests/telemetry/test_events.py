"""The telemetry payloads against the wire contract (``../shared/spec/telemetry-events.md``).

Every event flowkit emits must carry exactly Flowise's keys, in Flowise's order, with the
``flowGraph`` Flowise itself would send for the same flow: checked here on every Flowise
marketplace chatflow and on flows built in code, through a real :class:`Workspace`.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from flowkit import __version__, signals
from flowkit.errors import FlowkitError
from flowkit.model import Assistant, Chatflow, ChatType, Tool
from flowkit.runtime import retrieval_demo_flow
from flowkit.telemetry import (
    EVENTS,
    MemorySink,
    Telemetry,
    TelemetryEvent,
    TelemetrySettings,
    json_schema,
    wire_keys,
)
from flowkit.workspace import Workspace
from telemetry.helpers import send_prediction

CONTRACT_KEYS: dict[str, list[str]] = {
    "chatflow_created": ["version", "chatlowId", "flowGraph"],
    "tool_created": ["version", "toolId", "toolName"],
    "assistant_created": ["version", "assistantId"],
    "vector_upserted": ["version", "chatlowId", "type", "flowGraph", "stopNodeId"],
    "prediction_sent": ["version", "chatlowId", "chatId", "type", "flowGraph"],
}
"""The contract's table, copied by hand: event name -> its properties' keys, in order."""

DEMO_TEXT = "Paris is the capital of France.\n\nThe Seine flows through Paris."

DEMO_GRAPH = {
    "nodes": [
        "recursiveCharacterTextSplitter_0",
        "plainText_0",
        "hashingEmbeddings_0",
        "memoryVectorStore_0",
        "fakeChatModel_0",
        "retrievalQAChain_0",
    ],
    "edges": [
        {"source": "recursiveCharacterTextSplitter_0", "target": "plainText_0"},
        {"source": "plainText_0", "target": "memoryVectorStore_0"},
        {"source": "hashingEmbeddings_0", "target": "memoryVectorStore_0"},
        {"source": "memoryVectorStore_0", "target": "retrievalQAChain_0"},
        {"source": "fakeChatModel_0", "target": "retrievalQAChain_0"},
    ],
}
"""What Flowise sends as ``flowGraph`` for :func:`retrieval_demo_flow`."""


def run_all_five(workspace: Workspace) -> tuple[Chatflow, Tool, Assistant]:
    """Save a flow, upsert, predict, save a tool and an assistant: one event each."""
    flow = workspace.create_chatflow(retrieval_demo_flow(DEMO_TEXT))
    workspace.upsert_vector(flow)
    workspace.predict(flow, "What is the capital of France?", chat_id="chat-42")
    tool = workspace.create_tool(Tool(name="todays_date_time"))
    assistant = workspace.create_assistant(Assistant())
    return flow, tool, assistant


def wire(event: TelemetryEvent) -> dict[str, Any]:
    """The event as it leaves the process: through JSON and back."""
    parsed: dict[str, Any] = json.loads(json.dumps(event.to_wire()))
    return parsed


def flowise_graph(export: dict[str, Any]) -> dict[str, Any]:
    """The ``flowGraph`` Flowise builds from a flow export (its telemetry code, restated)."""
    return {
        "nodes": [node["id"] for node in export["nodes"]],
        "edges": [{"source": e["source"], "target": e["target"]} for e in export["edges"]],
    }


# ---- flowGraph equals Flowise's ------------------------------------------------------------


def test_marketplace_chatflow_graph_equals_flowise_payload(
    marketplace_chatflow: Path, sink: MemorySink, telemetry: Telemetry
) -> None:
    export = json.loads(marketplace_chatflow.read_text(encoding="utf-8"))
    flow = Chatflow.from_flowise(marketplace_chatflow)
    stores = flow.vector_store_nodes()
    stop = stores[0].id if stores else flow.nodes[0].id

    Workspace(strict_signals=True).create_chatflow(flow)
    signals.send(
        signals.vector_upserted,
        flow,
        strict=True,
        workspace=None,
        stop_node_id=stop,
        chat_type=ChatType.INTERNAL,
        result=None,
    )
    send_prediction(flow, strict=True)

    expected = flowise_graph(export)
    assert [e.event for e in sink.events] == [
        "chatflow_created",
        "vector_upserted",
        "prediction_sent",
    ]
    for event in sink.events:
        assert wire(event)["properties"]["flowGraph"] == expected, event.event
    assert wire(sink.events[1])["properties"]["stopNodeId"] == stop


def test_built_flow_sends_all_five_events_exactly(sink: MemorySink, telemetry: Telemetry) -> None:
    flow, tool, assistant = run_all_five(Workspace(strict_signals=True))

    assert [wire(e)["properties"] for e in sink.events] == [
        {"version": __version__, "chatlowId": flow.id, "flowGraph": DEMO_GRAPH},
        {
            "version": __version__,
            "chatlowId": flow.id,
            "type": "INTERNAL",
            "flowGraph": DEMO_GRAPH,
            "stopNodeId": "memoryVectorStore_0",
        },
        {
            "version": __version__,
            "chatlowId": flow.id,
            "chatId": "chat-42",
            "type": "EXTERNAL",
            "flowGraph": DEMO_GRAPH,
        },
        {"version": __version__, "toolId": tool.id, "toolName": "todays_date_time"},
        {"version": __version__, "assistantId": assistant.id},
    ]
    assert [e.event for e in sink.events] == [
        "chatflow_created",
        "vector_upserted",
        "prediction_sent",
        "tool_created",
        "assistant_created",
    ]


def test_built_flow_with_parallel_edges_and_sticky_note_matches_its_export(
    sink: MemorySink, telemetry: Telemetry
) -> None:
    flow = retrieval_demo_flow(DEMO_TEXT)
    flow.add_node("stickyNote", id="stickyNote_0", type="stickyNote")
    flow.connect(
        "memoryVectorStore_0", "retrievalQAChain_0", "vectorStoreRetriever", source_output="other"
    )

    Workspace(strict_signals=True).create_chatflow(flow)

    assert wire(sink.events[0])["properties"]["flowGraph"] == flowise_graph(flow.to_flowise())


def test_chat_type_is_sent_as_given(sink: MemorySink, telemetry: Telemetry) -> None:
    workspace = Workspace(strict_signals=True)
    flow = workspace.create_chatflow(retrieval_demo_flow(DEMO_TEXT))

    workspace.upsert_vector(flow, chat_type=ChatType.EXTERNAL)
    workspace.predict(flow, "Paris?", chat_type=ChatType.INTERNAL)

    assert [wire(e)["properties"].get("type") for e in sink.events] == [
        None,
        "EXTERNAL",
        "INTERNAL",
    ]


def test_chat_id_defaults_to_the_prediction_chat_id(sink: MemorySink, telemetry: Telemetry) -> None:
    workspace = Workspace(strict_signals=True)
    flow = workspace.create_chatflow(retrieval_demo_flow(DEMO_TEXT))

    prediction = workspace.predict(flow, "Paris?")

    assert wire(sink.events[-1])["properties"]["chatId"] == prediction.chat_id
    assert uuid.UUID(prediction.chat_id).version == 4


def test_version_is_the_given_application_version(sink: MemorySink, flowkit_home: Path) -> None:
    client = Telemetry(
        sink=sink,
        settings=TelemetrySettings(home=flowkit_home),
        version="9.9.9",
        synchronous=True,
    )
    with client:
        Workspace().create_assistant(Assistant())
    client.shutdown()

    assert wire(sink.events[0])["properties"]["version"] == "9.9.9"


# ---- keys and order --------------------------------------------------------------------------


def test_events_map_the_contract_names_in_order() -> None:
    assert list(EVENTS) == list(CONTRACT_KEYS)


@pytest.mark.parametrize("name", list(CONTRACT_KEYS))
def test_wire_keys_are_the_contract_keys_in_order(name: str) -> None:
    assert wire_keys(name) == CONTRACT_KEYS[name]


def test_delivered_properties_have_the_contract_keys_in_order(
    sink: MemorySink, telemetry: Telemetry
) -> None:
    run_all_five(Workspace(strict_signals=True))

    for event in sink.events:
        assert list(event.properties) == CONTRACT_KEYS[event.event]
        assert list(wire(event)["properties"]) == CONTRACT_KEYS[event.event]


def test_models_serialize_to_the_contract_keys(sink: MemorySink, telemetry: Telemetry) -> None:
    run_all_five(Workspace(strict_signals=True))

    for event in sink.events:
        model = EVENTS[event.event].model_validate(dict(event.properties))
        assert list(model.model_dump(by_alias=True, mode="json")) == CONTRACT_KEYS[event.event]


def test_chatflow_id_attribute_is_spelled_chatlow_id_on_the_wire() -> None:
    payload = EVENTS["prediction_sent"].model_validate(
        {
            "version": "1",
            "chatflow_id": "f",
            "chat_id": "c",
            "type": "EXTERNAL",
            "flow_graph": {"nodes": [], "edges": []},
        }
    )

    dumped = payload.model_dump(by_alias=True, mode="json")

    assert dumped["chatlowId"] == "f"
    assert "chatflowId" not in dumped


def test_stop_node_id_only_on_vector_upserted_and_never_null(
    sink: MemorySink, telemetry: Telemetry
) -> None:
    run_all_five(Workspace(strict_signals=True))

    for event in sink.events:
        properties = wire(event)["properties"]
        if event.event == "vector_upserted":
            assert isinstance(properties["stopNodeId"], str)
            assert properties["stopNodeId"]
        else:
            assert "stopNodeId" not in properties


def test_unknown_event_name_raises_flowkit_error_naming_the_known_ones() -> None:
    with pytest.raises(FlowkitError, match="prediction_sent"):
        wire_keys("prediction_send")
    with pytest.raises(FlowkitError, match="unknown event 'nope'"):
        json_schema("nope")


# ---- the envelope ---------------------------------------------------------------------------


def test_envelope_has_the_contract_keys(sink: MemorySink, telemetry: Telemetry) -> None:
    run_all_five(Workspace(strict_signals=True))

    for event in sink.events:
        assert list(wire(event)) == ["event", "distinctId", "properties", "timestamp", "uuid"]
        assert wire(event)["event"] == event.event


def test_timestamp_is_iso8601_utc_at_the_time_of_the_operation(
    sink: MemorySink, telemetry: Telemetry
) -> None:
    before = datetime.now(UTC) - timedelta(milliseconds=1)
    run_all_five(Workspace(strict_signals=True))
    after = datetime.now(UTC) + timedelta(milliseconds=1)

    for event in sink.events:
        text = wire(event)["timestamp"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|\+00:00)", text)
        moment = datetime.fromisoformat(text)
        assert moment.utcoffset() == timedelta(0)
        assert before <= moment <= after


def test_uuid_is_a_fresh_uuid4_per_event(sink: MemorySink, telemetry: Telemetry) -> None:
    workspace = Workspace(strict_signals=True)
    flow = workspace.create_chatflow(retrieval_demo_flow(DEMO_TEXT))
    for i in range(200):
        send_prediction(flow, f"chat-{i}")

    uuids = [wire(e)["uuid"] for e in sink.events]
    assert len(uuids) == 201
    assert len(set(uuids)) == len(uuids)
    for text in uuids:
        parsed = uuid.UUID(text)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == text


def test_distinct_id_is_the_instance_id_in_the_settings_file(
    flowkit_home: Path, sink: MemorySink, telemetry: Telemetry
) -> None:
    run_all_five(Workspace(strict_signals=True))

    instance_id = json.loads((flowkit_home / "settings.json").read_text())["instanceId"]
    assert uuid.UUID(instance_id).version == 4
    assert {wire(e)["distinctId"] for e in sink.events} == {instance_id}


# ---- JSON Schema ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CONTRACT_KEYS))
def test_json_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    schema = json_schema(name)

    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert list(schema["properties"]) == CONTRACT_KEYS[name]
    assert sorted(schema["required"]) == sorted(CONTRACT_KEYS[name])


def test_every_delivered_event_validates_against_its_json_schema(
    sink: MemorySink, telemetry: Telemetry
) -> None:
    run_all_five(Workspace(strict_signals=True))

    assert len(sink.events) == 5
    for event in sink.events:
        Draft202012Validator(json_schema(event.event)).validate(wire(event)["properties"])


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda p: p.update(chatflowId=p.pop("chatlowId")), id="renamed-key"),
        pytest.param(lambda p: p.update(productId="x"), id="extra-key"),
        pytest.param(lambda p: p.update(stopNodeId=None), id="null-stop-node"),
        pytest.param(lambda p: p.pop("stopNodeId"), id="missing-stop-node"),
        pytest.param(lambda p: p.update(type="BOTH"), id="unknown-type"),
        pytest.param(
            lambda p: p["flowGraph"]["edges"].append({"source": "a", "target": "b", "id": "e"}),
            id="edge-with-extra-key",
        ),
        pytest.param(lambda p: p["flowGraph"].update(viewport={}), id="graph-with-extra-key"),
    ],
)
def test_json_schema_rejects_what_the_contract_forbids(change: Any) -> None:
    properties = {
        "version": "1.0.0",
        "chatlowId": "f",
        "type": "INTERNAL",
        "flowGraph": {"nodes": ["faiss_0"], "edges": [{"source": "faiss_0", "target": "faiss_0"}]},
        "stopNodeId": "faiss_0",
    }
    validator = Draft202012Validator(json_schema("vector_upserted"))
    validator.validate(properties)

    change(properties)

    with pytest.raises(ValidationError):
        validator.validate(properties)
