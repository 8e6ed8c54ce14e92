"""The clients' and the Flowise backends' ``upsert_history`` against the scripted server:
Flowise's records mapped to ``UpsertRecord``, newest last, and ``NotFoundError`` for an
unknown chatflow although Flowise answers it with an empty list."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from flowkit import ArgumentTypeError, NotFoundError, Workspace
from flowkit.backends.flowise import AsyncFlowiseBackend, FlowiseBackend
from flowkit.client import AsyncFlowiseClient, FlowiseClient
from flowkit.errors import FlowValidationError
from flowkit.storage.upserts import UpsertRecord
from flowkit.workspace import AsyncWorkspace

from .fake_flowise import FakeFlowise

ID = "00000000-0000-0000-0000-000000000007"
HISTORY = f"/api/v1/upsert-history/{ID}"
FLOW = f"/api/v1/chatflows/{ID}"
MISSING = {
    "statusCode": 404,
    "success": False,
    "message": f"Chatflow {ID} not found in the database!",
}


def node(node_id: str, category: str) -> dict[str, Any]:
    return {"label": node_id, "name": node_id.split("_")[0], "category": category, "id": node_id}


def row(record_id: str, date: str, **result: int) -> dict[str, Any]:
    """One record as Flowise 3.1.4 sends it (result and flowData parsed, date with Z)."""
    return {
        "id": record_id,
        "chatflowid": ID,
        "result": result,
        "flowData": [
            node("recursiveCharacterTextSplitter_0", "Text Splitters"),
            node("plainText_0", "Document Loaders"),
            node("openAIEmbeddings_0", "Embeddings"),
            node("memoryVectorStore_0", "Vector Stores"),
        ],
        "date": date,
    }


def test_records_are_mapped_and_read_oldest_first(fake: FakeFlowise, client: FlowiseClient) -> None:
    fake.json(
        "GET",
        HISTORY,
        [
            row("b", "2026-12-05T08:06:09.000Z", numAdded=0, numSkipped=7, numDeleted=1),
            row("a", "2026-12-05T08:06:05.000Z", numAdded=7),
        ],
    )

    history = client.upsert_history(ID)

    assert history == [
        UpsertRecord(
            chatflow_id=ID,
            stop_node_id="memoryVectorStore_0",
            num_added=7,
            created_at=datetime(2026, 12, 5, 8, 6, 5, tzinfo=UTC),
            id="a",
        ),
        UpsertRecord(
            chatflow_id=ID,
            stop_node_id="memoryVectorStore_0",
            num_skipped=7,
            num_deleted=1,
            created_at=datetime(2026, 12, 5, 8, 6, 9, tzinfo=UTC),
            id="b",
        ),
    ]
    (seen,) = fake.seen("GET", HISTORY)
    assert seen.path.endswith("?order=ASC")
    assert seen.headers["Authorization"] == "Bearer k-123"
    assert fake.seen("GET", FLOW) == []  # records found: no second call


def test_records_of_one_second_keep_the_servers_order(
    fake: FakeFlowise, client: FlowiseClient
) -> None:
    same = "2026-12-05T08:06:05.000Z"
    fake.json("GET", HISTORY, [row(name, same, numAdded=1) for name in "xyzw"])

    assert [r.id for r in client.upsert_history(ID)] == list("xyzw")


def test_what_flowise_did_not_count_reads_as_zero_and_no_vector_store_as_none(
    fake: FakeFlowise, client: FlowiseClient
) -> None:
    bare = {"id": "r", "chatflowid": ID, "result": {}, "flowData": {}, "date": "2026-12-05"}
    odd = {**row("s", "2026-12-06T00:00:00+02:00"), "result": {"numAdded": "7", "numUpdated": 2}}
    fake.json("GET", HISTORY, [bare, odd])

    first, second = client.upsert_history(ID)

    assert (first.stop_node_id, first.num_added, first.num_updated) == (None, 0, 0)
    assert first.created_at == datetime(2026, 12, 5, tzinfo=UTC)
    assert (second.num_added, second.num_updated) == (0, 2)
    assert second.stop_node_id == "memoryVectorStore_0"


def test_an_unreadable_record_raises_flow_validation_error(
    fake: FakeFlowise, client: FlowiseClient
) -> None:
    fake.json("GET", HISTORY, [{"id": "r", "chatflowid": ID, "date": "yesterday"}])

    with pytest.raises(FlowValidationError, match="yesterday"):
        client.upsert_history(ID)


def test_an_empty_history_of_an_unknown_chatflow_raises_not_found(
    fake: FakeFlowise, client: FlowiseClient
) -> None:
    fake.json("GET", HISTORY, [])  # what Flowise answers for any id it does not know
    fake.json("GET", FLOW, MISSING, 404)

    with pytest.raises(NotFoundError, match=ID) as raised:
        client.upsert_history(ID)

    assert (raised.value.kind, raised.value.entity_id) == ("chatflow", ID)
    assert len(fake.seen("GET", FLOW)) == 1


def test_an_empty_history_of_a_known_chatflow_is_empty(
    fake: FakeFlowise, client: FlowiseClient
) -> None:
    fake.json("GET", HISTORY, [])
    fake.json("GET", FLOW, {"id": ID, "name": "f", "flowData": "not even parsed"})

    assert client.upsert_history(ID) == []


def test_the_async_client_reads_and_checks_the_same_way(fake: FakeFlowise) -> None:
    other = "00000000-0000-0000-0000-000000000008"
    fake.json("GET", HISTORY, [row("a", "2026-12-05T08:06:05.000Z", numAdded=7)])
    fake.json("GET", f"/api/v1/upsert-history/{other}", [])
    fake.json("GET", f"/api/v1/chatflows/{other}", {"message": "Invalid Chatflow ID"}, 400)

    async def main() -> list[UpsertRecord]:
        async with AsyncFlowiseClient(fake.url, api_key="k") as client:
            with pytest.raises(NotFoundError):
                await client.upsert_history(other)
            return await client.upsert_history(ID)

    (record,) = asyncio.run(main())

    assert (record.id, record.num_added, record.stop_node_id) == ("a", 7, "memoryVectorStore_0")


def test_the_flowise_backends_and_workspaces_pass_the_history_through(fake: FakeFlowise) -> None:
    fake.json("GET", HISTORY, [row("a", "2026-12-05T08:06:05.000Z", numAdded=7)])
    with FlowiseClient(fake.url, api_key="k") as client:
        (direct,) = FlowiseBackend(client).upsert_history(ID)
    with Workspace.connect(fake.url, api_key="k") as ws:
        (via_workspace,) = ws.upsert_history(ID)
        with pytest.raises(ArgumentTypeError):
            ws.upsert_history(3)  # type: ignore[arg-type]

    async def main() -> list[UpsertRecord]:
        backend = AsyncFlowiseBackend.connect(fake.url, api_key="k")
        async with AsyncWorkspace(backend) as ws:
            return await ws.upsert_history(ID)

    (via_async,) = asyncio.run(main())

    assert direct == via_workspace == via_async
    assert direct.num_added == 7
    assert len(fake.seen("GET", HISTORY)) == 3  # the wrong type never reached the server
