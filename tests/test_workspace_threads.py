"""One workspace, many threads: every operation succeeds and every signal is seen once.

Threads start together on a ``threading.Barrier`` and every wait is bounded, so a deadlock
fails the test instead of hanging it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
from blinker import NamedSignal

from flowkit import signals
from flowkit.errors import FlowkitError
from flowkit.model import Chatflow
from flowkit.runtime import builtin_registry, retrieval_demo_flow
from flowkit.workspace import Workspace

THREADS = 8
ITERATIONS = 5
TIMEOUT = 30.0
"""Seconds any one wait may take; the whole file runs in well under a second."""

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
QUESTIONS = [
    "How do lighthouses guide ships at night?",
    "How do glaciers carve valleys and leave moraines?",
    "How do origami artists fold paper cranes?",
]

T = TypeVar("T")


pytestmark = pytest.mark.usefixtures("no_receiver_left_behind")


class Recorder:
    """A receiver that records each call's keyword arguments; safe from several threads."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, sender: object, **kwargs: Any) -> None:
        with self._lock:
            self.calls.append(kwargs)


@contextmanager
def connected(signal: NamedSignal, receiver: Callable[..., Any]) -> Iterator[None]:
    with signal.connected_to(receiver):
        yield


def together(work: Callable[[int], T]) -> list[T]:
    """Run ``work(0)`` .. ``work(THREADS - 1)`` on as many threads, released at once.

    :returns: the results in thread order; the first exception of any thread is raised.
    """
    barrier = threading.Barrier(THREADS, timeout=TIMEOUT)

    def start(index: int) -> T:
        barrier.wait()
        return work(index)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(start, i) for i in range(THREADS)]
        return [f.result(timeout=TIMEOUT) for f in futures]


@pytest.fixture(autouse=True)
def frequent_thread_switches() -> Iterator[None]:
    """Make the interpreter switch threads far more often, so that races show up."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def workspace() -> Workspace:
    return Workspace(components=builtin_registry())


def qa_flow(name: str = "docs QA") -> Chatflow:
    return retrieval_demo_flow(TEXT, name=name, chunk_size=CHUNK_SIZE)


def test_threads_predicting_at_once_all_get_the_right_answer() -> None:
    ws = workspace()
    flow = ws.create_chatflow(qa_flow())
    ws.upsert_vector(flow)

    def ask(index: int) -> list[tuple[int, str]]:
        picks = [(index + i) % len(QUESTIONS) for i in range(ITERATIONS)]
        return [(p, ws.predict(flow, QUESTIONS[p]).text) for p in picks]

    answers = [pair for pairs in together(ask) for pair in pairs]

    assert len(answers) == THREADS * ITERATIONS
    assert all(text == f'According to the context: "{PARAGRAPHS[pick]}"' for pick, text in answers)


def test_threads_predicting_at_once_send_each_prediction_exactly_once() -> None:
    ws = workspace()
    flow = ws.create_chatflow(qa_flow())
    ws.upsert_vector(flow)
    recorder = Recorder()

    def ask(index: int) -> list[str]:
        return [ws.predict(flow, QUESTIONS[0]).chat_id for _ in range(ITERATIONS)]

    with connected(signals.prediction_sent, recorder):
        returned = [chat_id for chat_ids in together(ask) for chat_id in chat_ids]

    heard = [kwargs["chat_id"] for kwargs in recorder.calls]
    assert len(heard) == THREADS * ITERATIONS
    assert len(set(heard)) == THREADS * ITERATIONS
    assert sorted(heard) == sorted(returned)
    assert all(kwargs["result"].chat_id == kwargs["chat_id"] for kwargs in recorder.calls)


def test_threads_predicting_with_their_own_chat_ids_are_each_heard_under_theirs() -> None:
    ws = workspace()
    flow = ws.create_chatflow(qa_flow())
    ws.upsert_vector(flow)
    recorder = Recorder()

    def ask(index: int) -> None:
        for i in range(ITERATIONS):
            ws.predict(flow, QUESTIONS[1], chat_id=f"thread-{index}-{i}")

    with connected(signals.prediction_sent, recorder):
        together(ask)

    heard = sorted(kwargs["chat_id"] for kwargs in recorder.calls)
    assert heard == sorted(f"thread-{t}-{i}" for t in range(THREADS) for i in range(ITERATIONS))


def test_threads_upserting_at_once_add_every_document() -> None:
    ws = workspace()
    flow = ws.create_chatflow(qa_flow())
    recorder = Recorder()

    with connected(signals.vector_upserted, recorder):
        results = together(lambda index: ws.upsert_vector(flow))
    retrieved = ws.predict(flow, QUESTIONS[0], overrides={"topK": 1000})

    # Each document is added once, by whichever upsert came first; the others skip it.
    assert sum(r.num_added for r in results) == len(PARAGRAPHS)
    assert [r.num_added + r.num_skipped for r in results] == [len(PARAGRAPHS)] * THREADS
    assert len(recorder.calls) == THREADS
    assert len(retrieved.source_documents) == len(PARAGRAPHS)


def test_threads_creating_the_same_chatflow_store_it_once_and_signal_once() -> None:
    ws = workspace()
    flows = [qa_flow() for _ in range(THREADS)]
    shared_id = flows[0].id
    flows = [flows[0], *(f.model_copy(update={"id": shared_id}) for f in flows[1:])]
    recorder = Recorder()

    def create(index: int) -> bool:
        try:
            ws.create_chatflow(flows[index])
        except FlowkitError:
            return False
        return True

    with connected(signals.chatflow_created, recorder):
        created = together(create)

    assert created.count(True) == 1
    assert len(recorder.calls) == 1
    winner = flows[created.index(True)]
    [stored] = ws.chatflows
    assert stored == winner
    assert stored.model_dump() == winner.model_dump()


def test_threads_creating_different_chatflows_store_them_all() -> None:
    ws = workspace()
    flows = [qa_flow(name=f"flow {i}") for i in range(THREADS)]
    recorder = Recorder()

    with connected(signals.chatflow_created, recorder):
        together(lambda index: ws.create_chatflow(flows[index]))

    assert {f.id for f in ws.chatflows} == {f.id for f in flows}
    assert len(recorder.calls) == THREADS
