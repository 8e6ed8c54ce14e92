"""``AsyncWorkspace.predict`` and ``upsert_vector``: async components and async receivers are
awaited.

Each test drives its coroutine with ``asyncio.run`` (no pytest plugin needed).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from blinker import NamedSignal

from flowkit import signals
from flowkit.errors import ComponentError, FlowkitError
from flowkit.model import Chatflow, ChatType
from flowkit.runtime import (
    ComponentRegistry,
    RunContext,
    builtin_registry,
    retrieval_demo_flow,
)
from flowkit.runtime.builtins import fake_chat_model, memory_vector_store
from flowkit.workspace import AsyncWorkspace, Workspace

PARAGRAPHS = [
    "Lighthouses guide ships past dangerous reefs at night with a rotating Fresnel lens that "
    "focuses the lamp into a steady beam flashing its own pattern along the coastline.",
    "Glaciers carve deep valleys as compacted snow slides slowly downhill over centuries, and "
    "moraines of gravel and boulders mark where the ice once stopped before it retreated.",
    "Origami artists fold a single square of paper into cranes, frogs and flowers without "
    "scissors or glue, alternating valley folds and mountain folds along planned creases.",
]
TEXT = "\n\n".join(PARAGRAPHS)
CHUNK_SIZE = 200
"""Longer than any paragraph, shorter than two: each paragraph is a chunk of its own."""
QUESTION = "How do glaciers carve valleys and leave moraines?"


pytestmark = pytest.mark.usefixtures("no_receiver_left_behind")


class Recorder:
    """A sync receiver that records each call as ``(sender, keyword arguments)``."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, dict[str, Any]]] = []

    def __call__(self, sender: object, **kwargs: Any) -> None:
        self.calls.append((sender, kwargs))


class AsyncRecorder:
    """An async receiver that records each call only once it has been awaited past a yield."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, dict[str, Any]]] = []

    async def __call__(self, sender: object, **kwargs: Any) -> None:
        await asyncio.sleep(0)
        self.calls.append((sender, kwargs))


class Boom(Exception):
    """What the raising receivers raise."""


async def raising_async_receiver(sender: object, **kwargs: Any) -> None:
    await asyncio.sleep(0)
    raise Boom("async receiver failed on purpose")


@contextmanager
def connected(signal: NamedSignal, *receivers: Callable[..., Any]) -> Iterator[None]:
    """Connect ``receivers`` strongly for the block and always disconnect them."""
    with ExitStack() as stack:
        for receiver in receivers:
            stack.enter_context(signal.connected_to(receiver))
        yield


@contextmanager
def listening() -> Iterator[list[tuple[str, object, dict[str, Any]]]]:
    """Record every flowkit signal sent inside the block as ``(name, sender, kwargs)``."""
    heard: list[tuple[str, object, dict[str, Any]]] = []
    with ExitStack() as stack:
        for signal in signals.SIGNALS:

            def record(sender: object, _name: str = signal.name, **kwargs: Any) -> None:
                heard.append((_name, sender, kwargs))

            stack.enter_context(signal.connected_to(record))
        yield heard


def workspace(registry: ComponentRegistry | None = None, *, strict: bool = False) -> AsyncWorkspace:
    return AsyncWorkspace(
        components=registry if registry is not None else builtin_registry(),
        strict_signals=strict,
    )


def sync_workspace(registry: ComponentRegistry) -> Workspace:
    return Workspace(components=registry)


def saved_flow(ws: AsyncWorkspace | Workspace, *, upserted: bool = True) -> Chatflow:
    if isinstance(ws, Workspace):
        flow = ws.create_chatflow(retrieval_demo_flow(TEXT, chunk_size=CHUNK_SIZE))
        if upserted:
            ws.upsert_vector(flow)
        return flow

    async def save(aws: AsyncWorkspace) -> Chatflow:
        flow = await aws.create_chatflow(retrieval_demo_flow(TEXT, chunk_size=CHUNK_SIZE))
        if upserted:
            await aws.upsert_vector(flow)
        return flow

    return asyncio.run(save(ws))


async def async_chat_model(inputs: dict[str, Any], context: RunContext) -> Any:
    """``fakeChatModel``, async, answering with an ``async: `` prefix."""
    await asyncio.sleep(0)
    return fake_chat_model({**inputs, "prefix": "async: "}, context)


async def async_vector_store(inputs: dict[str, Any], context: RunContext) -> Any:
    """``memoryVectorStore``, async, reporting that it ran."""
    await asyncio.sleep(0)
    output = memory_vector_store(inputs, context)
    return {**output, "via": "async"} if isinstance(output, dict) else output


def registry_with(name: str, func: Callable[..., Any]) -> ComponentRegistry:
    registry = builtin_registry().copy()
    registry.register(name, func)
    return registry


# ---- signals ---------------------------------------------------------------------------------


def test_async_predict_sends_prediction_sent_once_with_the_documented_arguments() -> None:
    ws = workspace()
    flow = saved_flow(ws)
    recorder = Recorder()

    with connected(signals.prediction_sent, recorder):
        result = asyncio.run(ws.predict(flow, QUESTION))

    [(sender, kwargs)] = recorder.calls
    assert sender is flow
    assert kwargs.keys() == {
        "workspace",
        "chat_id",
        "chat_type",
        "question",
        "result",
        "duration",
    }
    assert kwargs["workspace"] is ws
    assert kwargs["result"] is result
    assert kwargs["question"] == QUESTION
    assert kwargs["chat_type"] is ChatType.EXTERNAL
    assert kwargs["chat_id"] == result.chat_id
    assert uuid.UUID(result.chat_id).version == 4


def test_async_upsert_vector_sends_vector_upserted_once_with_the_documented_arguments() -> None:
    ws = workspace()
    flow = saved_flow(ws, upserted=False)
    recorder = Recorder()

    with connected(signals.vector_upserted, recorder):
        result = asyncio.run(ws.upsert_vector(flow))

    [(sender, kwargs)] = recorder.calls
    assert sender is flow
    assert kwargs.keys() == {"workspace", "stop_node_id", "chat_type", "result", "duration"}
    assert kwargs["workspace"] is ws
    assert kwargs["stop_node_id"] == "memoryVectorStore_0" == result.stop_node_id
    assert kwargs["chat_type"] is ChatType.INTERNAL
    assert kwargs["result"] is result
    assert result.num_added == len(PARAGRAPHS)


def test_async_predict_awaits_async_receivers_and_runs_sync_ones() -> None:
    ws = workspace()
    flow = saved_flow(ws)
    async_recorder, sync_recorder = AsyncRecorder(), Recorder()

    with connected(signals.prediction_sent, async_recorder, sync_recorder):
        result = asyncio.run(ws.predict(flow, QUESTION))

    assert [(s, k["result"]) for s, k in async_recorder.calls] == [(flow, result)]
    assert [(s, k["result"]) for s, k in sync_recorder.calls] == [(flow, result)]


def test_async_upsert_vector_awaits_async_receivers_and_runs_sync_ones() -> None:
    ws = workspace()
    flow = saved_flow(ws, upserted=False)
    async_recorder, sync_recorder = AsyncRecorder(), Recorder()

    with connected(signals.vector_upserted, async_recorder, sync_recorder):
        result = asyncio.run(ws.upsert_vector(flow))

    assert [(s, k["result"]) for s, k in async_recorder.calls] == [(flow, result)]
    assert [(s, k["result"]) for s, k in sync_recorder.calls] == [(flow, result)]


def test_a_raising_async_receiver_is_isolated_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    ws = workspace()
    flow = saved_flow(ws)
    after = AsyncRecorder()

    with (
        caplog.at_level(logging.ERROR, logger="flowkit.signals"),
        connected(signals.prediction_sent, raising_async_receiver, after),
    ):
        result = asyncio.run(ws.predict(flow, QUESTION))

    assert result.text
    assert len(after.calls) == 1
    [record] = [r for r in caplog.records if r.name == "flowkit.signals"]
    assert "raising_async_receiver" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], Boom)
    assert "Traceback (most recent call last)" in caplog.text


def test_strict_async_predict_reraises_an_async_receivers_exception() -> None:
    ws = workspace(strict=True)
    flow = saved_flow(ws)

    with connected(signals.prediction_sent, raising_async_receiver), pytest.raises(Boom):
        asyncio.run(ws.predict(flow, QUESTION))


def test_concurrent_async_predicts_each_send_their_own_prediction() -> None:
    ws = workspace()
    flow = saved_flow(ws)
    recorder = AsyncRecorder()

    async def ask_many() -> list[str]:
        results = await asyncio.gather(*(ws.predict(flow, QUESTION) for _ in range(10)))
        return [r.chat_id for r in results]

    with connected(signals.prediction_sent, recorder):
        chat_ids = asyncio.run(ask_many())

    heard = [kwargs["chat_id"] for _, kwargs in recorder.calls]
    assert sorted(heard) == sorted(chat_ids)
    assert len(set(heard)) == 10


def test_a_muted_signal_calls_no_receiver_under_async_predict() -> None:
    ws = workspace()
    flow = saved_flow(ws)
    async_recorder, sync_recorder = AsyncRecorder(), Recorder()

    with (
        connected(signals.prediction_sent, async_recorder, sync_recorder),
        signals.prediction_sent.muted(),
    ):
        asyncio.run(ws.predict(flow, QUESTION))

    assert async_recorder.calls == []
    assert sync_recorder.calls == []


# ---- async components ------------------------------------------------------------------------


def test_async_predict_awaits_an_async_component() -> None:
    ws = workspace(registry_with("fakeChatModel", async_chat_model))
    flow = saved_flow(ws)

    result = asyncio.run(ws.predict(flow, QUESTION))

    assert result.text == f'async: According to the context: "{PARAGRAPHS[1]}"'
    assert [d.page_content for d in result.source_documents] == [PARAGRAPHS[1]]


def test_async_upsert_vector_awaits_an_async_vector_store() -> None:
    ws = workspace(registry_with("memoryVectorStore", async_vector_store))
    flow = saved_flow(ws, upserted=False)

    result = asyncio.run(ws.upsert_vector(flow))

    assert result.num_added == len(PARAGRAPHS)
    assert result.model_dump()["via"] == "async"


def test_sync_predict_with_an_async_component_says_to_use_async_workspace() -> None:
    ws = sync_workspace(registry_with("fakeChatModel", async_chat_model))
    flow = saved_flow(ws)

    with listening() as heard, pytest.raises(ComponentError, match="AsyncWorkspace") as raised:
        ws.predict(flow, QUESTION)

    assert raised.value.node_id == "fakeChatModel_0"
    assert heard == []


def test_sync_upsert_with_an_async_component_says_to_use_async_workspace() -> None:
    ws = sync_workspace(registry_with("memoryVectorStore", async_vector_store))
    flow = saved_flow(ws, upserted=False)

    with listening() as heard, pytest.raises(ComponentError, match="AsyncWorkspace"):
        ws.upsert_vector(flow)

    assert heard == []


# ---- failures send nothing --------------------------------------------------------------------


def test_a_failing_async_component_fails_async_predict_and_sends_nothing() -> None:
    original = ValueError("the async model is on fire")

    async def failing_model(inputs: dict[str, Any], context: RunContext) -> Any:
        await asyncio.sleep(0)
        raise original

    ws = workspace(registry_with("fakeChatModel", failing_model))
    flow = saved_flow(ws)

    with listening() as heard, pytest.raises(ComponentError, match="'fakeChatModel_0'") as raised:
        asyncio.run(ws.predict(flow, QUESTION))

    assert raised.value.__cause__ is original
    assert heard == []


def test_async_predict_with_a_missing_component_fails_and_sends_nothing() -> None:
    registry = builtin_registry()
    registry.unregister("fakeChatModel")
    ws = workspace(registry)
    flow = saved_flow(ws)

    with listening() as heard, pytest.raises(ComponentError, match='@component\\("fakeChatModel"'):
        asyncio.run(ws.predict(flow, QUESTION))

    assert heard == []


def test_async_upsert_vector_of_an_unsaved_flow_fails_and_sends_nothing() -> None:
    ws = workspace()

    with listening() as heard, pytest.raises(FlowkitError, match="create_chatflow"):
        asyncio.run(ws.upsert_vector(retrieval_demo_flow(TEXT)))

    assert heard == []


# ---- sync components run off the event loop ---------------------------------------------------


def test_ten_concurrent_predictions_with_a_slow_sync_component_overlap() -> None:
    def slow_model(inputs: dict[str, Any], context: RunContext) -> Any:
        time.sleep(0.2)  # a blocking call: it must not hold the event loop
        return fake_chat_model(inputs, context)

    ws = workspace(registry_with("fakeChatModel", slow_model))
    flow = saved_flow(ws)

    async def serial() -> float:
        started = time.perf_counter()
        for _ in range(10):
            await ws.predict(flow, QUESTION)
        return time.perf_counter() - started

    async def concurrent() -> float:
        started = time.perf_counter()
        answers = await asyncio.gather(*(ws.predict(flow, QUESTION) for _ in range(10)))
        assert len({a.chat_id for a in answers}) == 10
        return time.perf_counter() - started

    serial_time = asyncio.run(serial())
    concurrent_time = asyncio.run(concurrent())

    ratio = concurrent_time / serial_time
    print(
        f"10 predictions: serial {serial_time:.3f} s, concurrent {concurrent_time:.3f} s, "
        f"ratio {ratio:.3f}"
    )
    assert serial_time >= 10 * 0.2
    assert ratio < 0.5


def test_a_slow_sync_component_leaves_the_event_loop_free() -> None:
    def slow_model(inputs: dict[str, Any], context: RunContext) -> Any:
        time.sleep(0.3)
        return fake_chat_model(inputs, context)

    ws = workspace(registry_with("fakeChatModel", slow_model))
    flow = saved_flow(ws)

    async def scenario() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        await ws.predict(flow, QUESTION)
        task.cancel()
        return ticks

    assert asyncio.run(scenario()) >= 10
