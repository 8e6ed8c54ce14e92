"""Outcome signals: every operation ends with its success signal (with ``duration``) or with
``operation_failed``, sent before the error reaches the caller unchanged; a failed
operation changes nothing; the local engine sends ``node_finished`` for every node run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest

from flowkit import (
    AlreadyExistsError,
    ArgumentTypeError,
    AsyncWorkspace,
    ComponentError,
    FlowValidationError,
    NotFoundError,
    Workspace,
    signals,
)
from flowkit.backends import LocalBackend
from flowkit.model import Assistant, Chatflow, ChatType, FlowType, Tool
from flowkit.runtime import ComponentRegistry, RunContext, builtin_registry, retrieval_demo_flow
from flowkit.runtime.builtins import fake_chat_model, memory_vector_store
from flowkit.runtime.offline import VectorIndex

TEXT = "The ferry leaves at noon.\n\nTickets are sold on board."
QUESTION = "When does the ferry leave?"
SECRET = "s3cr3t-do-not-leak"

pytestmark = pytest.mark.usefixtures("no_receiver_left_behind")

Heard = list[tuple[str, object, dict[str, Any]]]


@contextmanager
def listening() -> Iterator[Heard]:
    """Record every flowkit signal (success, failure, node_finished) as (name, sender, kwargs)."""
    heard: Heard = []
    with ExitStack() as stack:
        for signal in signals.ALL_SIGNALS:

            def record(sender: object, _name: str = signal.name, **kwargs: Any) -> None:
                heard.append((_name, sender, kwargs))

            stack.enter_context(signal.connected_to(record))
        yield heard


def outcomes(heard: Heard) -> Heard:
    """The heard signals but node_finished."""
    return [h for h in heard if h[0] != "node_finished"]


def registry_with(
    name: str, func: Callable[[dict[str, Any], RunContext], Any]
) -> ComponentRegistry:
    registry = builtin_registry().copy()
    registry.register(name, func)
    return registry


def failing_model(inputs: dict[str, Any], context: RunContext) -> Any:
    raise ValueError(f"the model broke while reading {SECRET}")


def saved_workspace(registry: ComponentRegistry | None = None) -> tuple[Workspace, Chatflow]:
    ws = Workspace(components=registry or builtin_registry())
    flow = ws.create_chatflow(retrieval_demo_flow(TEXT, name="ferry", chunk_size=40))
    ws.upsert_vector(flow)
    return ws, flow


# ---- success signals carry the duration ------------------------------------------------------


def test_every_success_signal_carries_a_duration_in_seconds() -> None:
    ws = Workspace(components=builtin_registry())
    flow = retrieval_demo_flow(TEXT, name="ferry")
    tool, assistant = Tool(name="calc"), Assistant(details={"name": "helper"})

    with listening() as heard:
        ws.create_chatflow(flow)
        ws.upsert_vector(flow)
        ws.predict(flow, QUESTION)
        ws.update_chatflow(flow)
        ws.delete_chatflow(flow.id)
        ws.create_tool(tool)
        ws.update_tool(tool)
        ws.delete_tool(tool)
        ws.create_assistant(assistant)
        ws.update_assistant(assistant)
        ws.delete_assistant(assistant.id)

    names = [name for name, _, _ in outcomes(heard)]
    assert names == [
        "chatflow_created",
        "vector_upserted",
        "prediction_sent",
        "chatflow_updated",
        "chatflow_deleted",
        "tool_created",
        "tool_updated",
        "tool_deleted",
        "assistant_created",
        "assistant_updated",
        "assistant_deleted",
    ]
    durations = [kwargs["duration"] for _, _, kwargs in outcomes(heard)]
    assert all(type(d) is float and 0 <= d < 5 for d in durations)


def test_duration_covers_the_backend_work() -> None:
    def slow_model(inputs: dict[str, Any], context: RunContext) -> Any:
        time.sleep(0.05)
        return fake_chat_model(inputs, context)

    ws, flow = saved_workspace(registry_with("fakeChatModel", slow_model))

    with listening() as heard:
        ws.predict(flow, QUESTION)

    [(_, _, kwargs)] = [h for h in heard if h[0] == "prediction_sent"]
    assert kwargs["duration"] >= 0.05


# ---- operation_failed: one per failed operation ----------------------------------------------

FAILURES: dict[str, Callable[[Workspace, Chatflow], tuple[object, type[Exception]]]] = {}


def failure(operation: str) -> Callable[..., Any]:
    def register(make: Callable[[Workspace, Chatflow], Any]) -> Any:
        FAILURES[operation] = make
        return make

    return register


@failure("create_chatflow")
def _create_taken(ws: Workspace, flow: Chatflow) -> tuple[object, type[Exception]]:
    return flow, AlreadyExistsError


@failure("update_chatflow")
def _update_unsaved(ws: Workspace, flow: Chatflow) -> tuple[object, type[Exception]]:
    return retrieval_demo_flow(TEXT), NotFoundError


@failure("delete_chatflow")
def _delete_unknown(ws: Workspace, flow: Chatflow) -> tuple[object, type[Exception]]:
    return "no-such-flow", NotFoundError


@failure("create_tool")
def _create_not_a_tool(ws: Workspace, flow: Chatflow) -> tuple[object, type[Exception]]:
    return {"name": "calc"}, ArgumentTypeError


@failure("update_tool")
def _update_unsaved_tool(ws: Workspace, flow: Chatflow) -> tuple[object, type[Exception]]:
    return Tool(name="calc"), NotFoundError


@failure("delete_tool")
def _delete_unknown_tool(ws: Workspace, flow: Chatflow) -> tuple[object, type[Exception]]:
    return "no-such-tool", NotFoundError


@failure("create_assistant")
def _create_not_an_assistant(ws: Workspace, flow: Chatflow) -> tuple[object, type[Exception]]:
    return Tool(name="calc"), ArgumentTypeError


@failure("update_assistant")
def _update_unsaved_assistant(ws: Workspace, flow: Chatflow) -> tuple[object, type[Exception]]:
    return Assistant(details={}), NotFoundError


@failure("delete_assistant")
def _delete_unknown_assistant(ws: Workspace, flow: Chatflow) -> tuple[object, type[Exception]]:
    return "no-such-assistant", NotFoundError


@failure("upsert_vector")
def _upsert_unknown(ws: Workspace, flow: Chatflow) -> tuple[object, type[Exception]]:
    return "no-such-flow", NotFoundError


@failure("predict")
def _predict_unknown(ws: Workspace, flow: Chatflow) -> tuple[object, type[Exception]]:
    return "no-such-flow", NotFoundError


def test_every_operation_has_a_failure_case_here() -> None:
    assert set(FAILURES) == set(signals.OPERATIONS)


def call(ws: Workspace, operation: str, argument: object) -> object:
    method = getattr(ws, operation)
    if operation in ("predict",):
        return method(argument, QUESTION)
    return method(argument)


@pytest.mark.parametrize("operation", signals.OPERATIONS)
def test_a_failed_operation_sends_only_operation_failed_with_the_documented_arguments(
    operation: str,
) -> None:
    ws, flow = saved_workspace()
    argument, error = FAILURES[operation](ws, flow)

    with listening() as heard, pytest.raises(error) as raised:
        call(ws, operation, argument)

    [(name, sender, kwargs)] = outcomes(heard)
    assert name == "operation_failed"
    assert sender is argument
    assert kwargs.keys() == {
        "workspace",
        "operation",
        "error_type",
        "duration",
        "chat_type",
        "flow_type",
    }
    assert kwargs["workspace"] is ws
    assert kwargs["operation"] == operation
    assert kwargs["error_type"] == type(raised.value).__name__ == error.__name__
    assert type(kwargs["duration"]) is float
    assert kwargs["duration"] >= 0
    expected_chat_type = {"upsert_vector": ChatType.INTERNAL, "predict": ChatType.EXTERNAL}
    assert kwargs["chat_type"] is expected_chat_type.get(operation)
    assert kwargs["flow_type"] is (FlowType.CHATFLOW if isinstance(argument, Chatflow) else None)


def test_the_failure_signal_is_sent_before_the_error_reaches_the_caller() -> None:
    ws, _ = saved_workspace()
    order: list[str] = []

    def on_failure(sender: object, **kwargs: Any) -> None:
        order.append("signal")

    with signals.operation_failed.connected_to(on_failure):
        try:
            ws.predict("no-such-flow", QUESTION)
        except NotFoundError:
            order.append("raised")

    assert order == ["signal", "raised"]


def test_a_failing_component_gives_the_flow_as_sender_and_the_caller_the_same_error() -> None:
    ws, flow = saved_workspace(registry_with("fakeChatModel", failing_model))

    with listening() as heard, pytest.raises(ComponentError) as raised:
        ws.predict(flow, QUESTION, chat_type="INTERNAL")

    [(name, sender, kwargs)] = outcomes(heard)
    assert (name, sender) == ("operation_failed", flow)
    assert kwargs["error_type"] == "ComponentError"
    assert kwargs["chat_type"] is ChatType.INTERNAL
    assert kwargs["flow_type"] is FlowType.CHATFLOW
    assert isinstance(raised.value.__cause__, ValueError)


def test_the_failure_signal_never_carries_the_error_message() -> None:
    ws, flow = saved_workspace(registry_with("fakeChatModel", failing_model))

    with listening() as heard, pytest.raises(ComponentError, match=SECRET):
        ws.predict(flow, QUESTION)

    [(_, _, kwargs)] = [h for h in heard if h[0] == "operation_failed"]
    assert SECRET not in repr({k: v for k, v in kwargs.items() if k != "workspace"})


def test_a_raising_failure_receiver_never_replaces_the_error_even_when_strict() -> None:
    ws = Workspace(strict_signals=True)

    def broken(sender: object, **kwargs: Any) -> None:
        raise RuntimeError("receiver broke")

    with signals.operation_failed.connected_to(broken), pytest.raises(NotFoundError):
        ws.delete_tool("no-such-tool")


# ---- a failed operation changes nothing ---------------------------------------------------------


def test_a_failed_upsert_leaves_the_vector_store_as_it_was() -> None:
    def adds_then_fails(inputs: dict[str, Any], context: RunContext) -> Any:
        output = memory_vector_store(inputs, context)  # the documents are added...
        if context.mode == "upsert":
            raise RuntimeError("...then the store fails to confirm")
        return output

    registry = builtin_registry().copy()
    backend = LocalBackend(components=registry)
    ws = Workspace(backend)
    flow = ws.create_chatflow(retrieval_demo_flow(TEXT, name="ferry", chunk_size=40))
    first = ws.upsert_vector(flow)
    before = ws.predict(flow, QUESTION).source_documents

    registry.register("memoryVectorStore", adds_then_fails)
    with pytest.raises(ComponentError):
        ws.upsert_vector(flow)
    registry.register("memoryVectorStore", memory_vector_store)

    assert first.num_added == 2
    assert len(VectorIndex(backend.store.load_state(flow.id)["memoryVectorStore_0"])) == 2
    assert ws.predict(flow, QUESTION).source_documents == before


def test_a_failed_prediction_stores_no_message() -> None:
    ws, flow = saved_workspace(registry_with("fakeChatModel", failing_model))

    with pytest.raises(ComponentError):
        ws.predict(flow, QUESTION, chat_id="c1")

    assert ws.chat_messages(flow) == []


def test_a_failed_update_keeps_the_saved_version() -> None:
    ws, flow = saved_workspace()
    changed = ws.get_chatflow(flow.id)
    changed.name = "renamed"
    changed.connect(changed.node("retrievalQAChain_0"), changed.node("plainText_0"), "document")

    with pytest.raises(FlowValidationError, match="cycle"):
        ws.update_chatflow(changed)

    assert ws.get_chatflow(flow.id).name == "ferry"


# ---- node_finished ---------------------------------------------------------------------------


def test_node_finished_is_sent_for_every_node_before_the_operation_signal() -> None:
    ws, flow = saved_workspace()

    with listening() as heard:
        ws.predict(flow, QUESTION)

    names = [name for name, _, _ in heard]
    assert names[-1] == "prediction_sent"
    finished = [(sender, kwargs) for name, sender, kwargs in heard if name == "node_finished"]
    ran = [kwargs["node_id"] for _, kwargs in finished]
    assert ran == flow.run_order(ran[-1])
    assert ran[-1] == "retrievalQAChain_0"
    for sender, kwargs in finished:
        assert sender == flow
        assert kwargs.keys() == {"node_id", "component", "mode", "status", "error_type", "duration"}
        assert kwargs["component"] == flow.node(kwargs["node_id"]).name
        assert (kwargs["mode"], kwargs["status"], kwargs["error_type"]) == (
            "predict",
            "success",
            None,
        )
        assert type(kwargs["duration"]) is float
    assert kwargs["duration"] >= 0


def test_node_finished_reports_the_failing_node_and_no_later_one() -> None:
    ws, flow = saved_workspace(registry_with("fakeChatModel", failing_model))

    with listening() as heard, pytest.raises(ComponentError):
        ws.predict(flow, QUESTION)

    finished = [kwargs for name, _, kwargs in heard if name == "node_finished"]
    assert (finished[-1]["node_id"], finished[-1]["status"]) == ("fakeChatModel_0", "failure")
    assert finished[-1]["error_type"] == "ValueError"
    assert all(k["status"] == "success" for k in finished[:-1])
    assert "retrievalQAChain_0" not in [k["node_id"] for k in finished]


# ---- the async twin --------------------------------------------------------------------------


def test_async_workspace_sends_the_same_outcomes_and_awaits_async_receivers() -> None:
    aws = AsyncWorkspace(components=builtin_registry())
    flow = retrieval_demo_flow(TEXT, name="ferry")
    awaited: list[str] = []

    async def on_failed(sender: object, *, operation: str, **kwargs: Any) -> None:
        await asyncio.sleep(0)
        awaited.append(operation)

    async def scenario() -> None:
        await aws.create_chatflow(flow)
        await aws.upsert_vector(flow)
        await aws.predict(flow, QUESTION)
        with pytest.raises(NotFoundError):
            await aws.delete_tool("no-such-tool")
        await aws.delete_chatflow(flow)

    with listening() as heard, signals.operation_failed.connected_to(on_failed):
        asyncio.run(scenario())

    assert [name for name, _, _ in outcomes(heard)] == [
        "chatflow_created",
        "vector_upserted",
        "prediction_sent",
        "operation_failed",
        "chatflow_deleted",
    ]
    assert awaited == ["delete_tool"]
    assert all(type(k["duration"]) is float for _, _, k in heard)


def test_a_failure_by_id_knows_the_flow_type_once_the_flow_was_found() -> None:
    ws, flow = saved_workspace(registry_with("fakeChatModel", failing_model))

    with listening() as heard, pytest.raises(ComponentError):
        ws.predict(flow.id, QUESTION)
    with pytest.raises(ComponentError):
        list(ws.stream(flow.id, QUESTION))

    failures = [(s, k) for name, s, k in heard if name == "operation_failed"]
    assert [(sender, kwargs["flow_type"]) for sender, kwargs in failures] == [
        (flow.id, FlowType.CHATFLOW)
    ]
