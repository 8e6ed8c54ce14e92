"""Telemetry payload tests, written the way a flowkit user writes them.

Run them with ``python -m pytest examples/test_payloads.py``. The ``telemetry_events``
fixture comes from flowkit's pytest plugin, which pytest loads by itself once flowkit is
installed: it records the events of one test in memory (nothing is sent, whatever the
environment says) and :func:`~flowkit.testing.assert_valid_event` checks one against the
contract: keys, key order and JSON Schema.
"""

from __future__ import annotations

from flowkit import Chatflow, Tool, Workspace
from flowkit.runtime import retrieval_demo_flow
from flowkit.testing import TelemetryCapture, assert_valid_event

TEXT = "Our office opens at nine.\n\nThe secret door code is 4242."


def saved_flow(workspace: Workspace) -> Chatflow:
    return workspace.create_chatflow(retrieval_demo_flow(TEXT, chunk_size=40))


def test_saving_a_flow_sends_its_graph(telemetry_events: TelemetryCapture) -> None:
    flow = saved_flow(Workspace())

    event = telemetry_events.last("chatflow_created")

    assert event.properties["chatlowId"] == flow.id
    assert event.properties["flowGraph"]["nodes"] == [node.id for node in flow.nodes]
    assert event.properties["flowGraph"]["edges"] == [
        {"source": edge.source, "target": edge.target} for edge in flow.edges
    ]
    assert_valid_event(event)


def test_upsert_and_prediction_send_one_event_each(telemetry_events: TelemetryCapture) -> None:
    workspace = Workspace()
    flow = saved_flow(workspace)

    workspace.upsert_vector(flow)
    answer = workspace.predict(flow, "When does the office open?")

    assert telemetry_events.names() == ["chatflow_created", "vector_upserted", "prediction_sent"]
    upserted = telemetry_events.last("vector_upserted")
    assert upserted.properties["stopNodeId"] == "memoryVectorStore_0"
    assert upserted.properties["type"] == "INTERNAL"
    sent = telemetry_events.last("prediction_sent")
    assert sent.properties["chatId"] == answer.chat_id
    assert sent.properties["type"] == "EXTERNAL"
    telemetry_events.assert_all_valid()


def test_no_question_answer_or_document_is_sent(telemetry_events: TelemetryCapture) -> None:
    workspace = Workspace()
    flow = saved_flow(workspace)
    workspace.upsert_vector(flow)
    answer = workspace.predict(flow, "What is the secret door code?")

    sent = repr([event.to_wire() for event in telemetry_events])

    assert "4242" in answer.text
    assert "4242" not in sent
    assert "secret" not in sent


def test_a_tool_sends_its_name_and_id_only(telemetry_events: TelemetryCapture) -> None:
    tool = Workspace().create_tool(Tool(name="calculator", func="return a + b"))

    event = telemetry_events.last("tool_created")

    assert dict(event.properties) == {
        "version": event.properties["version"],
        "toolId": tool.id,
        "toolName": "calculator",
    }
    assert_valid_event(event.to_wire())
