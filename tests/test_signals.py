"""The five signals: who sends them, with what, to whom, and what a bad receiver cannot break."""

from __future__ import annotations

import asyncio
import gc
import logging
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from blinker import NamedSignal

from flowkit import signals
from flowkit.errors import FlowkitError
from flowkit.model import Assistant, Chatflow, ChatType, Tool
from flowkit.runtime import Prediction, UpsertResult, builtin_registry, retrieval_demo_flow
from flowkit.telemetry import MemorySink, Telemetry, TelemetrySettings
from flowkit.workspace import Workspace

TEXT = (
    "Lighthouses guide ships past reefs at night with rotating lenses and a steady beam.\n\n"
    "Glaciers carve deep valleys as compacted snow slides slowly downhill over centuries."
)
QUESTION = "How do lighthouses guide ships at night?"


pytestmark = pytest.mark.usefixtures("no_receiver_left_behind")


class Recorder:
    """A receiver that records each call as ``(sender, keyword arguments)``."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, dict[str, Any]]] = []

    def __call__(self, sender: object, **kwargs: Any) -> None:
        self.calls.append((sender, kwargs))


class Boom(Exception):
    """What the raising receivers raise."""


def raising_receiver(sender: object, **kwargs: Any) -> None:
    raise Boom("receiver failed on purpose")


async def async_receiver(sender: object, **kwargs: Any) -> None:
    """An async receiver; a sync operation must not call it."""


class AsyncCallable:
    """A receiver object whose ``__call__`` is ``async def``."""

    async def __call__(self, sender: object, **kwargs: Any) -> None:
        """Never awaited by a sync operation."""


def coroutine_returning_receiver(sender: object, **kwargs: Any) -> Any:
    """A sync function that hands back a coroutine (as a wrapper around async code would)."""
    return async_receiver(sender, **kwargs)


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


@contextmanager
def connected(
    signal: NamedSignal, receiver: Callable[..., Any], sender: Any = None
) -> Iterator[None]:
    """Connect ``receiver`` strongly (optionally to one sender) and always disconnect it."""
    if sender is None:
        signal.connect(receiver, weak=False)
    else:
        signal.connect(receiver, sender=sender, weak=False)
    try:
        yield
    finally:
        signal.disconnect(receiver)


def workspace(*, strict: bool = False) -> Workspace:
    return Workspace(components=builtin_registry(), strict_signals=strict)


def saved_flow(ws: Workspace, *, upserted: bool = True, name: str = "docs QA") -> Chatflow:
    flow = ws.create_chatflow(retrieval_demo_flow(TEXT, name=name))
    if upserted:
        ws.upsert_vector(flow)
    return flow


def perform(operation: str, ws: Workspace) -> Callable[[], object]:
    """Arrange what ``operation`` needs on ``ws`` and return the call that performs it."""
    if operation == "chatflow_created":
        return lambda: ws.create_chatflow(retrieval_demo_flow(TEXT))
    if operation == "tool_created":
        return lambda: ws.create_tool(Tool(name="calculator"))
    if operation == "assistant_created":
        return lambda: ws.create_assistant(Assistant(details={"name": "helper"}))
    flow = saved_flow(ws, upserted=operation == "prediction_sent")
    if operation == "vector_upserted":
        return lambda: ws.upsert_vector(flow)
    return lambda: ws.predict(flow, QUESTION)


OPERATIONS = [s.name for s in signals.SIGNALS]


# ---- the namespace -------------------------------------------------------------------------


def test_the_five_signals_are_named_as_their_events_in_contract_order() -> None:
    names = [s.name for s in signals.SIGNALS]

    assert names == [
        "chatflow_created",
        "tool_created",
        "assistant_created",
        "vector_upserted",
        "prediction_sent",
    ]


@pytest.mark.parametrize("name", OPERATIONS)
def test_each_signal_is_a_module_attribute_of_the_one_namespace(name: str) -> None:
    signal = getattr(signals, name)

    assert signal is signals.namespace.signal(name)
    assert signal in signals.SIGNALS


@pytest.mark.parametrize("name", OPERATIONS)
def test_each_signal_documents_its_sender_and_workspace_argument(name: str) -> None:
    doc = getattr(signals, name).__doc__ or ""

    assert ":sender:" in doc
    assert ":param workspace:" in doc


# ---- what each signal sends ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("create", "entity", "signal"),
    [
        ("create_chatflow", lambda: retrieval_demo_flow(TEXT), signals.chatflow_created),
        ("create_tool", lambda: Tool(name="calculator"), signals.tool_created),
        (
            "create_assistant",
            lambda: Assistant(details={"name": "helper"}),
            signals.assistant_created,
        ),
    ],
    ids=["chatflow", "tool", "assistant"],
)
def test_create_sends_its_signal_once_with_the_stored_entity_and_the_workspace(
    create: str, entity: Callable[[], object], signal: NamedSignal
) -> None:
    ws = workspace()
    original = entity()
    recorder = Recorder()

    with signal.connected_to(recorder):
        stored = getattr(ws, create)(original)

    assert stored is original
    [(sender, kwargs)] = recorder.calls
    assert sender is stored
    assert kwargs.keys() == {"workspace", "duration"}
    assert kwargs["workspace"] is ws


def test_vector_upserted_is_sent_once_with_the_documented_arguments() -> None:
    ws = workspace()
    flow = saved_flow(ws, upserted=False)
    recorder = Recorder()

    with signals.vector_upserted.connected_to(recorder):
        result = ws.upsert_vector(flow)

    [(sender, kwargs)] = recorder.calls
    assert sender is flow
    assert kwargs.keys() == {"workspace", "stop_node_id", "chat_type", "result", "duration"}
    assert kwargs["workspace"] is ws
    assert kwargs["stop_node_id"] == "memoryVectorStore_0"
    assert type(kwargs["stop_node_id"]) is str
    assert kwargs["result"] is result
    assert isinstance(result, UpsertResult)


def test_vector_upserted_chat_type_defaults_to_internal() -> None:
    ws = workspace()
    flow = saved_flow(ws, upserted=False)
    recorder = Recorder()

    with signals.vector_upserted.connected_to(recorder):
        ws.upsert_vector(flow)

    [(_, kwargs)] = recorder.calls
    assert kwargs["chat_type"] is ChatType.INTERNAL


def test_vector_upserted_chat_type_given_as_text_arrives_as_chat_type() -> None:
    ws = workspace()
    flow = saved_flow(ws, upserted=False)
    recorder = Recorder()

    with signals.vector_upserted.connected_to(recorder):
        ws.upsert_vector(flow, chat_type="EXTERNAL")

    [(_, kwargs)] = recorder.calls
    assert kwargs["chat_type"] is ChatType.EXTERNAL


def test_prediction_sent_is_sent_once_with_the_documented_arguments() -> None:
    ws = workspace()
    flow = saved_flow(ws)
    recorder = Recorder()

    with signals.prediction_sent.connected_to(recorder):
        result = ws.predict(flow, QUESTION)

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
    assert kwargs["question"] == QUESTION
    assert kwargs["result"] is result
    assert isinstance(result, Prediction)
    assert kwargs["chat_id"] == result.chat_id


def test_prediction_sent_chat_type_defaults_to_external() -> None:
    ws = workspace()
    flow = saved_flow(ws)
    recorder = Recorder()

    with signals.prediction_sent.connected_to(recorder):
        ws.predict(flow, QUESTION)

    [(_, kwargs)] = recorder.calls
    assert kwargs["chat_type"] is ChatType.EXTERNAL


def test_prediction_without_chat_id_sends_a_fresh_uuid4() -> None:
    ws = workspace()
    flow = saved_flow(ws)
    recorder = Recorder()

    with signals.prediction_sent.connected_to(recorder):
        ws.predict(flow, QUESTION)
        ws.predict(flow, QUESTION)

    chat_ids = [kwargs["chat_id"] for _, kwargs in recorder.calls]
    assert all(type(c) is str and str(uuid.UUID(c)) == c for c in chat_ids)
    assert all(uuid.UUID(c).version == 4 for c in chat_ids)
    assert chat_ids[0] != chat_ids[1]


def test_prediction_with_chat_id_and_chat_type_sends_the_given_ones() -> None:
    ws = workspace()
    flow = saved_flow(ws)
    recorder = Recorder()

    with signals.prediction_sent.connected_to(recorder):
        result = ws.predict(flow, QUESTION, chat_id="conversation-7", chat_type=ChatType.INTERNAL)

    [(_, kwargs)] = recorder.calls
    assert kwargs["chat_id"] == "conversation-7" == result.chat_id
    assert kwargs["chat_type"] is ChatType.INTERNAL


def test_operations_by_id_send_the_stored_flow_as_sender() -> None:
    ws = workspace()
    flow = saved_flow(ws, upserted=False)

    with listening() as heard:
        ws.upsert_vector(flow.id)
        ws.predict(flow.id, QUESTION)

    assert [name for name, _, _ in heard] == ["vector_upserted", "prediction_sent"]
    assert all(sender == flow for _, sender, _ in heard)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_each_operation_sends_only_its_own_signal(operation: str) -> None:
    ws = workspace()
    act = perform(operation, ws)

    with listening() as heard:
        act()

    assert [name for name, _, _ in heard] == [operation]


# ---- a receiver that raises ----------------------------------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_raising_receiver_does_not_break_the_operation(operation: str) -> None:
    ws = workspace()
    act = perform(operation, ws)

    with connected(getattr(signals, operation), raising_receiver):
        outcome = act()

    assert outcome is not None


def test_receivers_besides_a_raising_one_still_run() -> None:
    ws = workspace()
    flow = saved_flow(ws)
    before, after = Recorder(), Recorder()

    with ExitStack() as stack:
        stack.enter_context(signals.prediction_sent.connected_to(before))
        stack.enter_context(connected(signals.prediction_sent, raising_receiver))
        stack.enter_context(signals.prediction_sent.connected_to(after))
        ws.predict(flow, QUESTION)

    assert len(before.calls) == 1
    assert len(after.calls) == 1


def test_a_raising_receiver_is_logged_with_its_name_and_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ws = workspace()
    flow = saved_flow(ws)

    with (
        caplog.at_level(logging.ERROR, logger="flowkit.signals"),
        connected(signals.prediction_sent, raising_receiver),
    ):
        ws.predict(flow, QUESTION)

    [record] = [r for r in caplog.records if r.name == "flowkit.signals"]
    assert record.levelno == logging.ERROR
    assert "raising_receiver" in record.getMessage()
    assert "prediction_sent" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], Boom)
    assert "Traceback (most recent call last)" in caplog.text
    assert 'raise Boom("receiver failed on purpose")' in caplog.text


def test_strict_workspace_reraises_the_receivers_exception() -> None:
    ws = workspace(strict=True)
    flow = saved_flow(ws)

    with connected(signals.prediction_sent, raising_receiver), pytest.raises(Boom):
        ws.predict(flow, QUESTION)


def test_strict_workspace_has_saved_the_entity_before_reraising() -> None:
    ws = workspace(strict=True)
    flow = retrieval_demo_flow(TEXT)

    with connected(signals.chatflow_created, raising_receiver), pytest.raises(Boom):
        ws.create_chatflow(flow)

    assert ws.get_chatflow(flow.id) == flow


# ---- who receives what -----------------------------------------------------------------------


def test_a_receiver_connected_to_one_flow_sees_only_that_flows_events() -> None:
    ws = workspace()
    mine = saved_flow(ws, name="mine")
    other = saved_flow(ws, name="other")
    recorder = Recorder()

    signals.prediction_sent.connect(recorder, sender=mine)
    try:
        ws.predict(other, QUESTION)
        ws.predict(mine, QUESTION)
        ws.predict(other, QUESTION)
    finally:
        signals.prediction_sent.disconnect(recorder)

    assert [sender for sender, _ in recorder.calls] == [mine]


def test_connect_works_as_a_decorator() -> None:
    ws = workspace()
    flow = saved_flow(ws)
    questions: list[str] = []

    @signals.prediction_sent.connect
    def on_prediction(sender: Chatflow, *, question: str, **kwargs: Any) -> None:
        questions.append(question)

    try:
        ws.predict(flow, QUESTION)
    finally:
        signals.prediction_sent.disconnect(on_prediction)

    assert questions == [QUESTION]


def test_connect_returns_the_receiver_itself() -> None:
    def on_prediction(sender: Chatflow, **kwargs: Any) -> None:
        """A receiver."""

    returned = signals.prediction_sent.connect(on_prediction)
    signals.prediction_sent.disconnect(on_prediction)

    assert returned is on_prediction


def test_a_muted_signal_calls_no_receiver() -> None:
    ws = workspace()
    flow = saved_flow(ws)
    recorder = Recorder()

    with signals.prediction_sent.connected_to(recorder), signals.prediction_sent.muted():
        result = ws.predict(flow, QUESTION)

    assert recorder.calls == []
    assert result.text


# ---- an async receiver meets a sync operation --------------------------------------------------

ASYNC_RECEIVERS = {
    "async def": async_receiver,
    "async __call__": AsyncCallable(),
    "returns a coroutine": coroutine_returning_receiver,
}


@contextmanager
def no_unawaited_coroutine() -> Iterator[None]:
    """Fail when the block leaves a coroutine behind that was never awaited."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
        gc.collect()
    unawaited = [w for w in caught if "was never awaited" in str(w.message)]
    assert unawaited == []


@pytest.mark.parametrize("kind", ASYNC_RECEIVERS)
@pytest.mark.parametrize(
    ("operation", "method"),
    [("prediction_sent", "AsyncWorkspace"), ("vector_upserted", "AsyncWorkspace")],
)
def test_sync_operation_logs_an_async_receiver_and_says_to_use_the_async_method(
    caplog: pytest.LogCaptureFixture, operation: str, method: str, kind: str
) -> None:
    ws = workspace()
    act = perform(operation, ws)
    receiver = ASYNC_RECEIVERS[kind]

    with (
        no_unawaited_coroutine(),
        caplog.at_level(logging.ERROR, logger="flowkit.signals"),
        connected(getattr(signals, operation), receiver),
    ):
        outcome = act()

    assert outcome is not None
    [record] = [r for r in caplog.records if r.name == "flowkit.signals"]
    name = "AsyncCallable" if kind == "async __call__" else getattr(receiver, "__name__", "")
    assert name in record.getMessage()
    assert method in caplog.text
    assert "async method" in caplog.text


@pytest.mark.parametrize("kind", ASYNC_RECEIVERS)
def test_strict_sync_operation_raises_on_an_async_receiver(kind: str) -> None:
    ws = workspace(strict=True)
    act = perform("prediction_sent", ws)

    with (
        no_unawaited_coroutine(),
        connected(signals.prediction_sent, ASYNC_RECEIVERS[kind]),
        pytest.raises(FlowkitError, match=r"async method \(flowkit.AsyncWorkspace"),
    ):
        act()


def test_an_async_receiver_does_not_stop_the_sync_receivers() -> None:
    ws = workspace()
    flow = saved_flow(ws)
    recorder = Recorder()

    with (
        no_unawaited_coroutine(),
        connected(signals.prediction_sent, async_receiver),
        signals.prediction_sent.connected_to(recorder),
    ):
        ws.predict(flow, QUESTION)

    assert len(recorder.calls) == 1


# ---- strict mode runs every receiver before it re-raises -------------------------------------


class OtherBoom(Exception):
    """What a second raising receiver raises."""


def other_raising_receiver(sender: object, **kwargs: Any) -> None:
    raise OtherBoom("second receiver failed on purpose")


def test_strict_send_runs_every_receiver_then_reraises_the_first_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    before, between, after = Recorder(), Recorder(), Recorder()
    signal = signals.tool_created

    with ExitStack() as stack:
        stack.enter_context(caplog.at_level(logging.ERROR, logger="flowkit.signals"))
        for receiver in (before, raising_receiver, between, other_raising_receiver, after):
            stack.enter_context(connected(signal, receiver))
        with pytest.raises((Boom, OtherBoom)) as raised:
            signals.send(signal, "sender", strict=True, workspace=None)

    # blinker's receiver order is a set's: whichever failed first is raised, the other logged
    assert [len(r.calls) for r in (before, between, after)] == [1, 1, 1]
    [logged] = [r for r in caplog.records if r.name == "flowkit.signals"]
    assert logged.exc_info is not None
    assert {type(raised.value), type(logged.exc_info[1])} == {Boom, OtherBoom}


def test_strict_send_async_runs_every_receiver_then_reraises_the_first_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = Recorder()
    awaited: list[object] = []

    async def async_recorder(sender: object, **kwargs: Any) -> None:
        awaited.append(sender)

    signal = signals.prediction_sent
    with (
        caplog.at_level(logging.ERROR, logger="flowkit.signals"),
        connected(signal, raising_receiver),
        connected(signal, async_recorder),
        connected(signal, other_raising_receiver),
        connected(signal, recorder),
        pytest.raises((Boom, OtherBoom)) as raised,
    ):
        asyncio.run(signals.send_async(signal, "sender", strict=True, workspace=None))

    assert awaited == ["sender"]
    assert len(recorder.calls) == 1
    [logged] = [r for r in caplog.records if r.name == "flowkit.signals"]
    assert logged.exc_info is not None
    assert {type(raised.value), type(logged.exc_info[1])} == {Boom, OtherBoom}


def test_strict_workspace_still_records_the_telemetry_event_when_a_user_receiver_fails(
    flowkit_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = MemorySink()
    client = Telemetry(sink=sink, settings=TelemetrySettings(home=flowkit_home), synchronous=True)
    ws = workspace(strict=True)
    flow = retrieval_demo_flow(TEXT)
    signal = signals.chatflow_created

    with ExitStack() as stack:
        stack.enter_context(connected(signal, raising_receiver))
        client.connect()
        stack.callback(client.shutdown)
        # blinker calls receivers in a set's order (by object id), not the order they were
        # connected in. The case to show is the failing receiver called first: put it first.
        real = signals._receivers

        def failing_first(sig: Any, sender: Any) -> list[Any]:
            found = real(sig, sender)
            return sorted(found, key=lambda receiver: receiver is not raising_receiver)

        monkeypatch.setattr(signals, "_receivers", failing_first)
        order = failing_first(signal, flow)
        assert order[0] is raising_receiver
        assert len(order) == 2

        with pytest.raises(Boom):
            ws.create_chatflow(flow)

    assert [event.event for event in sink.events] == ["chatflow_created"]
    assert sink.events[0].to_wire()["properties"]["chatlowId"] == flow.id


@pytest.mark.parametrize("table", [True, False], ids=["receiver table", "receivers_for"])
def test_receivers_are_blinkers_own_whichever_way_they_are_read(
    table: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """flowkit reads blinker's receiver table for speed, and falls back to
    ``Signal.receivers_for`` on a blinker without it (1.7): both give blinker's answer."""
    if not table:
        monkeypatch.setattr(signals, "_make_id", None)
    signal = NamedSignal("probe")
    one, other = Chatflow(name="one"), Chatflow(name="other")

    def anyone(sender: Any, **kwargs: Any) -> None: ...
    def only_one(sender: Any, **kwargs: Any) -> None: ...
    def only_other(sender: Any, **kwargs: Any) -> None: ...
    def dropped(sender: Any, **kwargs: Any) -> None: ...

    signal.connect(anyone)
    signal.connect(only_one, sender=one, weak=False)
    signal.connect(only_other, sender=other)
    signal.connect(dropped)
    del dropped
    gc.collect()

    for sender in (one, other, "an id", None):
        found = signals._receivers(signal, sender)
        assert sorted(map(id, found)) == sorted(map(id, signal.receivers_for(sender)))
    assert set(signals._receivers(signal, one)) == {anyone, only_one}
    assert set(signals._receivers(signal, "an id")) == {anyone}
