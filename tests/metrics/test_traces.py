"""Traces: a span per operation, a child per node run, attributes telemetry may send."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from opentelemetry.sdk.trace.export import in_memory_span_exporter as in_memory

import flowkit.metrics
from flowkit import ChatType, FlowType, Tool, signals

from .helpers import failed, flow, succeeded


def _node(sender: Any, node_id: str, component: str, *, status: str = "success", **kw: Any) -> None:
    signals.send(
        signals.node_finished,
        sender,
        strict=True,
        node_id=node_id,
        component=component,
        mode="predict",
        status=status,
        error_type=kw.get("error_type"),
        duration=kw.get("duration", 0.001),
    )


@pytest.fixture
def spans() -> Any:
    exporter = in_memory.InMemorySpanExporter()
    flowkit.metrics.install(traces=True, span_exporter=exporter)
    return exporter


def test_traces_are_off_unless_asked() -> None:
    installation = flowkit.metrics.install(enabled=True)

    assert installation.traces is None
    assert not signals.node_finished.receivers


def test_an_operation_gets_a_span_with_its_node_runs_as_children(spans: Any) -> None:
    chatflow = flow()
    _node(chatflow, "chatOpenAI_0", "chatOpenAI", duration=0.002)
    _node(chatflow, "bufferMemory_0", "bufferMemory", duration=0.001)
    succeeded(signals.prediction_sent, chatflow, chat_type=ChatType.EXTERNAL, duration=0.01)

    finished = spans.get_finished_spans()
    [parent] = [s for s in finished if s.name == "predict"]
    children = [s for s in finished if s.parent is not None]

    assert [c.name for c in children] == ["node chatOpenAI", "node bufferMemory"]
    assert all(c.parent.span_id == parent.context.span_id for c in children)
    assert all(c.context.trace_id == parent.context.trace_id for c in children)
    assert all(parent.start_time <= c.start_time <= c.end_time <= parent.end_time for c in children)
    assert children[0].end_time - children[0].start_time == pytest.approx(2_000_000, rel=0.01)
    assert dict(parent.attributes) == {
        "flowkit.operation": "predict",
        "flowkit.status": "success",
        "flowkit.node_runs": 2,
        "flowise.flow.node_count": 1,
        "flowise.flow_type": "CHATFLOW",
        "flowise.chat_type": "EXTERNAL",
    }


def test_custom_node_ids_and_component_names_are_anonymized(spans: Any) -> None:
    chatflow = flow(FlowType.AGENTFLOW)
    _node(chatflow, "my secret node", "mySecretComponent")
    succeeded(signals.prediction_sent, chatflow, chat_type=ChatType.INTERNAL)

    [child] = [s for s in spans.get_finished_spans() if s.parent is not None]

    assert child.name == "node custom"
    assert child.attributes["flowise.component"] == "custom"
    assert child.attributes["flowise.node.id"].startswith("node_")
    assert "secret" not in repr(dict(child.attributes))


def test_a_failure_span_has_error_status_and_type_never_a_message(spans: Any) -> None:
    chatflow = flow()
    _node(chatflow, "chatOpenAI_0", "chatOpenAI", status="failure", error_type="ComponentError")
    failed("predict", chatflow, chat_type=ChatType.EXTERNAL, error_type="ComponentError")

    finished = spans.get_finished_spans()
    [parent] = [s for s in finished if s.name == "predict"]
    [child] = [s for s in finished if s.parent is not None]

    assert parent.status.status_code.name == "ERROR"
    assert parent.status.description is None
    assert parent.attributes["error.type"] == "ComponentError"
    assert child.status.status_code.name == "ERROR"
    assert parent.attributes["flowkit.status"] == "failure"


def test_node_runs_of_another_thread_do_not_join_this_operation(spans: Any) -> None:
    chatflow = flow()
    other = threading.Thread(target=_node, args=(chatflow, "chatOpenAI_0", "chatOpenAI"))
    other.start()
    other.join()

    succeeded(signals.tool_created, Tool(name="t", description="d"))

    [span] = spans.get_finished_spans()
    assert span.name == "create_tool"
    assert span.attributes["flowkit.node_runs"] == 0


def test_concurrent_tasks_keep_their_own_node_runs(spans: Any) -> None:
    async def operation(index: int) -> None:
        chatflow = flow()
        for _ in range(index + 1):
            _node(chatflow, "chatOpenAI_0", "chatOpenAI")
            await asyncio.sleep(0)
        succeeded(signals.prediction_sent, chatflow, chat_type=ChatType.EXTERNAL)

    async def main() -> None:
        await asyncio.gather(*(operation(i) for i in range(3)))

    asyncio.run(main())

    runs = sorted(
        s.attributes["flowkit.node_runs"] for s in spans.get_finished_spans() if s.parent is None
    )
    assert runs == [1, 2, 3]


def test_every_operation_signal_makes_one_span(spans: Any) -> None:
    chatflow = flow()
    tool = Tool(name="t", description="d")
    succeeded(signals.chatflow_created, chatflow)
    succeeded(signals.chatflow_updated, chatflow)
    succeeded(signals.chatflow_deleted, chatflow)
    succeeded(signals.tool_created, tool)
    succeeded(signals.vector_upserted, chatflow, chat_type=ChatType.INTERNAL)
    failed("delete_tool", "tool-id")

    names = [s.name for s in spans.get_finished_spans()]

    assert names == [
        "create_chatflow",
        "update_chatflow",
        "delete_chatflow",
        "create_tool",
        "upsert_vector",
        "delete_tool",
    ]
