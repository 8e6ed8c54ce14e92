"""LocalBackend and AsyncLocalBackend: the Backend protocols over a Store, run here."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest

from flowkit import NotFoundError
from flowkit.backends import (
    AsyncBackend,
    AsyncLocalBackend,
    Backend,
    LocalBackend,
    PredictRequest,
    UpsertRequest,
)
from flowkit.model import Chatflow
from flowkit.runtime import builtin_registry, default_registry, retrieval_demo_flow
from flowkit.runtime.offline import VectorIndex
from flowkit.storage import MemoryStore

PARAGRAPHS = [
    "Kites fly when wind pushes against the sail and the line holds it at an angle.",
    "Bread rises because yeast turns sugar into carbon dioxide trapped by gluten.",
    "Tides follow the moon, whose pull raises the sea on the near and far sides.",
]
TEXT = "\n\n".join(PARAGRAPHS)


def backend() -> LocalBackend:
    return LocalBackend(MemoryStore(), builtin_registry())


def saved(local: LocalBackend) -> Chatflow:
    return local.create(retrieval_demo_flow(TEXT, name="facts", chunk_size=100))


def test_the_local_backends_implement_the_protocols() -> None:
    assert isinstance(LocalBackend(), Backend)
    assert isinstance(AsyncLocalBackend(), AsyncBackend)


def test_defaults_are_a_memory_store_and_the_default_registry() -> None:
    local = LocalBackend()

    assert isinstance(local.store, MemoryStore)
    assert local.components is default_registry()


def test_the_saved_version_runs_not_the_callers_changed_object() -> None:
    local = backend()
    flow = saved(local)
    local.upsert(UpsertRequest(flow=flow))
    flow.node("fakeChatModel_0").inputs["prefix"] = "CHANGED: "  # not saved

    answer = local.predict(PredictRequest(flow=flow, question="Why do tides follow?", chat_id="c"))

    assert not answer.text.startswith("CHANGED")


def test_running_an_unsaved_flow_is_not_found() -> None:
    local = backend()
    flow = retrieval_demo_flow(TEXT)

    with pytest.raises(NotFoundError, match="create_chatflow"):
        local.predict(PredictRequest(flow=flow, question="?", chat_id="c"))
    with pytest.raises(NotFoundError):
        local.upsert(UpsertRequest(flow=flow))


def test_the_component_state_saved_after_an_upsert_is_json_data() -> None:
    local = backend()
    flow = saved(local)

    result = local.upsert(UpsertRequest(flow=flow))
    state = local.store.load_state(flow.id)

    assert result.num_added == len(PARAGRAPHS)
    assert json.loads(json.dumps(state)) == state
    assert len(VectorIndex(state["memoryVectorStore_0"])) == len(PARAGRAPHS)


def test_upserts_of_one_flow_from_many_threads_lose_nothing() -> None:
    local = backend()
    flow = saved(local)
    barrier = threading.Barrier(8)

    def upsert() -> None:
        barrier.wait()
        local.upsert(UpsertRequest(flow=flow))

    threads = [threading.Thread(target=upsert) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    index = VectorIndex(local.store.load_state(flow.id)["memoryVectorStore_0"])
    assert len(index) == len(PARAGRAPHS)  # the same documents are kept once


def test_async_upserts_of_one_flow_lose_nothing() -> None:
    local = AsyncLocalBackend(MemoryStore(), builtin_registry())

    async def scenario() -> int:
        flow = await local.create(retrieval_demo_flow(TEXT, chunk_size=100))
        await asyncio.gather(*(local.upsert(UpsertRequest(flow=flow)) for _ in range(5)))
        return len(VectorIndex(local.store.load_state(flow.id)["memoryVectorStore_0"]))

    assert asyncio.run(scenario()) == len(PARAGRAPHS)  # the same documents are kept once


def test_overrides_in_the_request_reach_the_components() -> None:
    local = backend()
    flow = saved(local)
    local.upsert(UpsertRequest(flow=flow))

    answer = local.predict(
        PredictRequest(
            flow=flow, question="Why does bread rise?", chat_id="c", overrides={"topK": 3}
        )
    )

    assert len(answer.source_documents) == 3


def test_predict_keeps_the_question_then_the_answer() -> None:
    local = backend()
    flow = saved(local)

    answer = local.predict(PredictRequest(flow=flow, question="Kites?", chat_id="k"))

    kept = local.chat_messages(flow.id, "k")
    assert [m.content for m in kept] == ["Kites?", answer.text]
    assert kept[0].created_at <= kept[1].created_at


def test_the_upsert_stops_at_the_requested_vector_store() -> None:
    local = backend()
    flow = saved(local)

    result = local.upsert(UpsertRequest(flow=flow, stop_node_id="memoryVectorStore_0"))

    assert result.stop_node_id == "memoryVectorStore_0"


def test_a_change_made_through_another_backend_on_the_same_store_is_seen() -> None:
    store = MemoryStore()
    reader, writer = (
        LocalBackend(store, builtin_registry()),
        LocalBackend(store, builtin_registry()),
    )
    flow = saved(writer)
    writer.upsert(UpsertRequest(flow=flow))
    ask = PredictRequest(flow=flow, question="Why does bread rise?", chat_id="c")
    before = reader.predict(ask)

    changed = store.get(Chatflow, flow.id)
    changed.node("fakeChatModel_0").inputs["prefix"] = "Changed: "
    writer.update(changed)
    after_update = reader.predict(ask)
    more = writer.upsert(
        UpsertRequest(flow=flow, overrides={"text": "Volcanoes erupt when magma rises."})
    )
    after_upsert = reader.predict(
        PredictRequest(
            flow=flow, question="Why does bread rise?", chat_id="c", overrides={"topK": 9}
        )
    )

    assert not before.text.startswith("Changed: ")
    assert after_update.text.startswith("Changed: ")
    assert more.num_added == 1
    assert len(after_upsert.source_documents) == len(PARAGRAPHS) + 1


def test_the_store_generation_changes_with_the_flow_and_its_state() -> None:
    store = MemoryStore()
    flow = retrieval_demo_flow(TEXT)
    seen = [store.generation(flow.id)]
    store.save(flow)
    seen.append(store.generation(flow.id))
    store.save_state(flow.id, {"x": 1})
    seen.append(store.generation(flow.id))
    store.replace(flow)
    seen.append(store.generation(flow.id))
    store.delete(Chatflow, flow.id)
    seen.append(store.generation(flow.id))

    assert seen[0] == 0
    assert len(set(seen)) == 5


class SlowStore:
    """A MemoryStore behind a store that takes 0.2 s to read a chatflow (as a busy file may)."""

    def __init__(self) -> None:
        self.inner = MemoryStore()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def get(self, kind: type[Any], entity_id: str) -> Any:
        time.sleep(0.2)
        return self.inner.get(kind, entity_id)


def test_an_async_backend_reads_a_slow_store_off_the_event_loop() -> None:
    store = SlowStore()
    local = AsyncLocalBackend(store, builtin_registry())

    async def scenario() -> tuple[int, str]:
        flow = await local.create(retrieval_demo_flow(TEXT, chunk_size=100))
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        got = await local.get(Chatflow, flow.id)
        task.cancel()
        return ticks, got.id

    ticks, got = asyncio.run(scenario())

    assert got
    assert ticks >= 5


class _CountingStore(MemoryStore):
    """A MemoryStore that counts its state reads."""

    def __init__(self) -> None:
        super().__init__()
        self.state_reads = 0

    def load_state(self, chatflow_id: str) -> dict[str, Any]:
        self.state_reads += 1
        return super().load_state(chatflow_id)


def test_an_upsert_reads_the_state_once_and_a_repeated_prediction_not_at_all() -> None:
    """The state can be a whole vector index: an upsert reads its own copy under its lock,
    and only that one; predictions share the one read while nothing changed."""
    store = _CountingStore()
    local = LocalBackend(store, builtin_registry())
    flow = saved(local)

    local.upsert(UpsertRequest(flow=flow))
    after_upsert = store.state_reads
    local.upsert(UpsertRequest(flow=flow))
    after_second = store.state_reads
    local.predict(PredictRequest(flow=flow, question="why do kites fly?", chat_id="c1"))
    after_predict = store.state_reads
    local.predict(PredictRequest(flow=flow, question="why does bread rise?", chat_id="c1"))

    assert (after_upsert, after_second, after_predict, store.state_reads) == (1, 2, 3, 3)


def test_an_async_upsert_reads_the_state_once() -> None:
    store = _CountingStore()
    local = AsyncLocalBackend(store, builtin_registry())

    async def go() -> int:
        flow = await local.create(retrieval_demo_flow(TEXT, name="facts", chunk_size=100))
        await local.upsert(UpsertRequest(flow=flow))
        return store.state_reads

    assert asyncio.run(go()) == 1
