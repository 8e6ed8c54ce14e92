"""Every upsert is recorded (Flowise's upsert_history) and read back with
``Workspace.upsert_history`` / ``AsyncWorkspace.upsert_history``: in memory and in a workspace
file, newest last, deleted with the chatflow, with the same errors on both stores."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowkit import (
    ArgumentTypeError,
    AsyncWorkspace,
    Chatflow,
    FlowkitError,
    NotFoundError,
    Workspace,
)
from flowkit.backends import AsyncLocalBackend, LocalBackend
from flowkit.runtime import retrieval_demo_flow
from flowkit.storage import MemoryStore
from flowkit.storage.base import Store, UpsertHistoryStore, UpsertRecord
from flowkit.storage.sqlite import SQLiteStore

TEXT = "The museum opens at ten.\n\nEntry is free on Sundays.\n\nDogs are welcome."
STOP = "memoryVectorStore_0"

Open = Callable[[], Workspace]


@pytest.fixture(params=["memory", "file"])
def open_workspace(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Open]:
    """Opens the same workspace again: in memory (one shared backend) or from one file."""
    if request.param == "memory":
        backend = LocalBackend()
        yield lambda: Workspace(backend)
    else:
        yield lambda: Workspace.open(tmp_path / "flows.db")


def rag() -> Chatflow:
    return retrieval_demo_flow(TEXT, chunk_size=30)


# ---- the workspaces -------------------------------------------------------------------------


def test_each_upsert_is_recorded_newest_last(open_workspace: Open) -> None:
    ws = open_workspace()
    flow = ws.create_chatflow(rag())
    before = datetime.now(UTC)
    first = ws.upsert_vector(flow)
    second = ws.upsert_vector(flow.id)

    history = ws.upsert_history(flow)

    assert [(r.stop_node_id, r.num_added, r.num_skipped) for r in history] == [
        (STOP, 3, 0),
        (STOP, 0, 3),
    ]
    assert (first.num_added, second.model_dump()["num_skipped"]) == (3, 3)
    assert all(r.chatflow_id == flow.id for r in history)
    assert before <= history[0].created_at <= history[1].created_at <= datetime.now(UTC)
    assert len({r.id for r in history}) == 2
    ws.close()


def test_the_history_is_read_by_id_or_flow_and_survives_reopening(open_workspace: Open) -> None:
    with open_workspace() as ws:
        flow = ws.create_chatflow(rag())
        ws.upsert_vector(flow)
        here = ws.upsert_history(flow)

    with open_workspace() as ws:
        again = ws.upsert_history(flow.id)

    assert again == here
    assert len(here) == 1


def test_a_chatflow_never_upserted_has_an_empty_history(open_workspace: Open) -> None:
    with open_workspace() as ws:
        flow = ws.create_chatflow(rag())
        assert ws.upsert_history(flow) == []


def test_an_unknown_chatflow_raises_not_found(open_workspace: Open) -> None:
    with open_workspace() as ws, pytest.raises(NotFoundError, match="ghost"):
        ws.upsert_history("ghost")


@pytest.mark.parametrize("wrong", [42, None, "", b"id", ["id"]])
def test_a_wrong_argument_type_raises_argument_type_error(open_workspace: Open, wrong: Any) -> None:
    with open_workspace() as ws, pytest.raises(ArgumentTypeError, match="upsert_history"):
        ws.upsert_history(wrong)


def test_deleting_the_chatflow_deletes_its_history(open_workspace: Open) -> None:
    with open_workspace() as ws:
        flow = ws.create_chatflow(rag())
        kept = ws.create_chatflow(rag())
        ws.upsert_vector(flow)
        ws.upsert_vector(kept)
        ws.delete_chatflow(flow)

        with pytest.raises(NotFoundError):
            ws.upsert_history(flow.id)
        assert len(ws.upsert_history(kept)) == 1


def test_a_failed_upsert_records_nothing(open_workspace: Open) -> None:
    with open_workspace() as ws:
        flow = ws.create_chatflow(rag())
        with pytest.raises(FlowkitError):
            ws.upsert_vector(flow, stop_node_id="plainText_0")  # not a vector store
        assert ws.upsert_history(flow) == []


@pytest.mark.parametrize("where", ["memory", "file"])
def test_the_async_workspace_reads_the_same_history(where: str, tmp_path: Path) -> None:
    async def main() -> list[UpsertRecord]:
        file = tmp_path / "flows.db"
        async with AsyncWorkspace() if where == "memory" else AsyncWorkspace.open(file) as ws:
            flow = await ws.create_chatflow(rag())
            await ws.upsert_vector(flow)
            await ws.upsert_vector(flow)
            with pytest.raises(NotFoundError, match="ghost"):
                await ws.upsert_history("ghost")
            with pytest.raises(ArgumentTypeError, match="upsert_history"):
                await ws.upsert_history(7)  # type: ignore[arg-type]
            return await ws.upsert_history(flow.id)

    history = asyncio.run(main())

    assert [(r.num_added, r.num_skipped) for r in history] == [(3, 0), (0, 3)]


def test_a_store_without_upsert_records_says_so() -> None:
    class Plain:
        """A Store that keeps no upsert records (the Store protocol does not ask for them)."""

        def __init__(self) -> None:
            self.inner = MemoryStore()

        def __getattr__(self, name: str) -> Any:
            if name in ("add_upsert_record", "upsert_history"):
                raise AttributeError(name)
            return getattr(self.inner, name)

    plain: Any = Plain()
    ws = Workspace(LocalBackend(store=plain))
    flow = ws.create_chatflow(rag())
    ws.upsert_vector(flow)  # still works, unrecorded

    with pytest.raises(FlowkitError, match="keeps no upsert records"):
        ws.upsert_history(flow)
    with pytest.raises(FlowkitError, match="keeps no upsert records"):
        asyncio.run(AsyncLocalBackend(store=plain).upsert_history(flow.id))


# ---- the stores -----------------------------------------------------------------------------


def test_memory_store_keeps_upsert_records() -> None:
    store = MemoryStore()
    assert isinstance(store, UpsertHistoryStore)
    assert isinstance(store, Store)
    records = [
        UpsertRecord(chatflow_id="f", stop_node_id=STOP, num_added=2),
        UpsertRecord(chatflow_id="g", stop_node_id=None),
        UpsertRecord(chatflow_id="f", stop_node_id=STOP, num_updated=1, num_deleted=4),
    ]
    for record in records:
        store.add_upsert_record(record)

    assert store.upsert_history("f") == [records[0], records[2]]
    assert store.upsert_history("g") == [records[1]]
    assert store.upsert_history("nobody") == []


def test_memory_store_refuses_what_is_not_a_record() -> None:
    store = MemoryStore()
    with pytest.raises(ArgumentTypeError, match="UpsertRecord"):
        store.add_upsert_record({"chatflow_id": "f"})  # type: ignore[arg-type]
    assert store.upsert_history("f") == []


def test_memory_store_deletes_the_records_with_the_chatflow() -> None:
    store = MemoryStore()
    flow = rag()
    store.save(flow)
    store.add_upsert_record(UpsertRecord(chatflow_id=flow.id, stop_node_id=STOP))
    history = store.upsert_history(flow.id)
    history.clear()  # the caller's list, not the store's

    assert len(store.upsert_history(flow.id)) == 1
    store.delete(Chatflow, flow.id)
    assert store.upsert_history(flow.id) == []


def test_memory_store_records_from_many_threads_are_all_kept_in_order() -> None:
    store = MemoryStore()
    start = threading.Barrier(8)

    def add(worker: int) -> None:
        start.wait()
        for n in range(200):
            store.add_upsert_record(
                UpsertRecord(chatflow_id="f", stop_node_id=f"w{worker}", num_added=n)
            )

    threads = [threading.Thread(target=add, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    history = store.upsert_history("f")
    assert len(history) == 8 * 200
    for worker in range(8):
        mine = [r.num_added for r in history if r.stop_node_id == f"w{worker}"]
        assert mine == list(range(200))


counts = st.integers(min_value=0, max_value=2**31)
records = st.builds(
    UpsertRecord,
    chatflow_id=st.sampled_from(["f", "g"]),
    stop_node_id=st.none() | st.text(min_size=1, max_size=20),
    num_added=counts,
    num_updated=counts,
    num_skipped=counts,
    num_deleted=counts,
    created_at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(records, max_size=8))
def test_memory_and_sqlite_stores_give_the_same_history(
    batch: list[UpsertRecord], tmp_path_factory: pytest.TempPathFactory
) -> None:
    memory = MemoryStore()
    sqlite = SQLiteStore(tmp_path_factory.mktemp("h") / "flows.db")
    try:
        for record in batch:
            memory.add_upsert_record(record)
            sqlite.add_upsert_record(record)
        for flow_id in ("f", "g"):
            expected = [r for r in batch if r.chatflow_id == flow_id]
            assert memory.upsert_history(flow_id) == expected
            assert sqlite.upsert_history(flow_id) == expected
    finally:
        sqlite.close()


def test_records_keep_their_time_not_the_time_they_are_read() -> None:
    store = MemoryStore()
    then = datetime.now(UTC) - timedelta(days=3)
    store.add_upsert_record(UpsertRecord(chatflow_id="f", stop_node_id=STOP, created_at=then))
    (record,) = store.upsert_history("f")
    assert record.created_at == then
