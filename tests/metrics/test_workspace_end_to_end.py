"""Metrics and traces through a real Workspace (memory backend, flowkit's own engine)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry.sdk.trace.export import in_memory_span_exporter as in_memory

import flowkit.metrics
from flowkit import ChatType, Tool, Workspace
from flowkit.errors import NotFoundError
from flowkit.runtime import retrieval_demo_flow
from flowkit.workspace import AsyncWorkspace

from .helpers import series

TEXT = "Doors open at eight.\n\nParking is free."


def test_operations_of_a_workspace_are_counted_as_flowise_counts() -> None:
    metrics = flowkit.metrics.install(enabled=True)
    workspace = Workspace()
    flow = workspace.create_chatflow(retrieval_demo_flow(TEXT, name="office"))
    workspace.upsert_vector(flow)
    workspace.predict(flow, "When do doors open?")
    workspace.predict(flow, "Parking?", chat_type=ChatType.INTERNAL)
    with pytest.raises(NotFoundError):
        workspace.upsert_vector("no-such-flow")
    workspace.create_tool(Tool(name="calculator", description="adds"))

    found = series(metrics.render().decode())

    assert found['chatflow_created{status="success",app="FlowiseAI"}'] == 1
    assert found['vector_upserted{status="success",app="FlowiseAI"}'] == 1
    assert found['vector_upserted{status="failure",app="FlowiseAI"}'] == 1
    assert found['chatflow_prediction_external{status="success",app="FlowiseAI"}'] == 1
    assert found['chatflow_prediction_internal{status="success",app="FlowiseAI"}'] == 1
    assert found['tool_created{status="success",app="FlowiseAI"}'] == 1
    count = "flowkit_operation_duration_ms_count"
    assert found[f'{count}{{operation="upsert_vector",status="failure"}}'] == 1
    assert found[f'{count}{{operation="predict",status="success"}}'] == 2


def test_a_prediction_span_has_the_engines_node_runs_as_children() -> None:
    exporter = in_memory.InMemorySpanExporter()
    flowkit.metrics.install(traces=True, span_exporter=exporter)
    workspace = Workspace()
    flow = workspace.create_chatflow(retrieval_demo_flow(TEXT, name="office"))
    workspace.upsert_vector(flow)
    exporter.clear()

    workspace.predict(flow, "When do doors open?")

    spans = exporter.get_finished_spans()
    [root] = [s for s in spans if s.parent is None]
    children = [s for s in spans if s.parent is not None]
    assert root.name == "predict"
    assert {c.attributes["flowise.node.id"] for c in children} >= {
        "retrievalQAChain_0",
        "memoryVectorStore_0",
    }
    assert all(c.parent.span_id == root.context.span_id for c in children)
    assert root.attributes["flowkit.node_runs"] == len(children)


def test_async_operations_get_their_own_node_runs() -> None:
    exporter = in_memory.InMemorySpanExporter()
    flowkit.metrics.install(traces=True, span_exporter=exporter)

    async def main() -> Any:
        workspace = AsyncWorkspace()
        flow = await workspace.create_chatflow(retrieval_demo_flow(TEXT, name="office"))
        await workspace.upsert_vector(flow)
        exporter.clear()
        await asyncio.gather(*(workspace.predict(flow, f"q{i}") for i in range(3)))

    asyncio.run(main())

    spans = exporter.get_finished_spans()
    roots = [s for s in spans if s.parent is None]
    assert [r.name for r in roots] == ["predict"] * 3
    per_root = {r.context.span_id: 0 for r in roots}
    for child in (s for s in spans if s.parent is not None):
        per_root[child.parent.span_id] += 1
    assert len(set(per_root.values())) == 1
    assert all(r.attributes["flowkit.node_runs"] == per_root[r.context.span_id] for r in roots)
