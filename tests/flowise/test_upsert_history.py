"""The RAG flow upserted on a real Flowise, its upsert history read back through a workspace
and the client: when, stop node, counts, newest last; NotFoundError for an unknown chatflow
(Flowise itself answers an empty list)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from flowkit import Chatflow, NotFoundError, Workspace
from flowkit.client import FlowiseClient
from flowkit.storage.upserts import UpsertRecord
from flowkit.workspace import AsyncWorkspace

from .conftest import Server

STOP = "memoryVectorStore_0"
SLACK = timedelta(seconds=2)  # Flowise keeps dates to the second (or the millisecond)


def test_each_upsert_is_read_back_newest_last(
    workspace: Workspace, client: FlowiseClient, rag_flow: Chatflow
) -> None:
    flow = workspace.create_chatflow(rag_flow)
    try:
        never = workspace.upsert_history(flow)
        before = datetime.now(UTC)
        first = workspace.upsert_vector(flow)
        second = workspace.upsert_vector(flow, stop_node_id=STOP)
        after = datetime.now(UTC)
        history = workspace.upsert_history(flow.id)
        direct = client.upsert_history(flow.id)
    finally:
        workspace.delete_chatflow(flow.id)

    assert never == []
    assert (first.num_added, second.num_added) == (7, 7)  # no record manager: added again
    assert [(r.chatflow_id, r.stop_node_id, r.num_added) for r in history] == [
        (flow.id, STOP, 7),
        (flow.id, STOP, 7),
    ]
    assert all((r.num_updated, r.num_skipped, r.num_deleted) == (0, 0, 0) for r in history)
    assert before - SLACK <= history[0].created_at <= history[1].created_at <= after + SLACK
    assert len({r.id for r in history}) == 2
    assert direct == history


def test_an_unknown_or_deleted_chatflow_raises_not_found(
    workspace: Workspace, rag_flow: Chatflow
) -> None:
    flow = workspace.create_chatflow(rag_flow)
    workspace.upsert_vector(flow)
    workspace.delete_chatflow(flow.id)
    unknown = str(uuid.uuid4())

    with pytest.raises(NotFoundError, match=unknown):
        workspace.upsert_history(unknown)
    with pytest.raises(NotFoundError, match=flow.id):
        workspace.upsert_history(flow.id)


def test_the_async_workspace_reads_the_same_history(server: Server, rag_flow: Chatflow) -> None:
    async def main() -> list[UpsertRecord]:
        async with AsyncWorkspace.connect(server.url, api_key=server.api_key) as workspace:
            flow = await workspace.create_chatflow(rag_flow)
            try:
                await workspace.upsert_vector(flow)
                return await workspace.upsert_history(flow)
            finally:
                await workspace.delete_chatflow(flow.id)

    (record,) = asyncio.run(main())

    assert (record.stop_node_id, record.num_added) == (STOP, 7)
