"""Update, delete, get and list on both workspaces; chat messages; streaming; building a
workspace with ``open``/``connect``; and closing it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from flowkit import (
    AlreadyExistsError,
    ArgumentTypeError,
    Assistant,
    AsyncWorkspace,
    Chatflow,
    ChatMessage,
    NotFoundError,
    Tool,
    Workspace,
    signals,
)
from flowkit.backends import AsyncLocalBackend, LocalBackend, StreamEvent
from flowkit.model.messages import Role
from flowkit.runtime import builtin_registry, retrieval_demo_flow
from flowkit.storage import MemoryStore

TEXT = "The museum opens at ten.\n\nEntry is free on Sundays."
QUESTION = "When does the museum open?"

pytestmark = pytest.mark.usefixtures("no_receiver_left_behind")

Heard = list[tuple[str, object, dict[str, Any]]]


@contextmanager
def listening() -> Iterator[Heard]:
    heard: Heard = []
    with ExitStack() as stack:
        for signal in signals.ALL_SIGNALS:
            if signal is signals.node_finished:
                continue

            def record(sender: object, _name: str = signal.name, **kwargs: Any) -> None:
                heard.append((_name, sender, kwargs))

            stack.enter_context(signal.connected_to(record))
        yield heard


def demo_flow() -> Chatflow:
    return retrieval_demo_flow(TEXT, name="museum", chunk_size=40)


def ready(ws: Workspace) -> Chatflow:
    flow = ws.create_chatflow(demo_flow())
    ws.upsert_vector(flow)
    return flow


# ---- update --------------------------------------------------------------------------------------


def test_update_chatflow_saves_the_change_and_sends_chatflow_updated() -> None:
    ws = Workspace()
    flow = ws.create_chatflow(demo_flow())
    changed = ws.get_chatflow(flow.id)
    changed.name = "museum hours"

    with listening() as heard:
        saved = ws.update_chatflow(changed)

    assert saved is changed
    assert ws.get_chatflow(flow.id).name == "museum hours"
    [(name, sender, kwargs)] = heard
    assert (name, sender) == ("chatflow_updated", changed)
    assert kwargs.keys() == {"workspace", "duration"}


@pytest.mark.parametrize(
    ("kind", "make", "change"),
    [
        ("tool", lambda: Tool(name="calc"), {"description": "adds numbers"}),
        ("assistant", lambda: Assistant(details={"name": "a"}), {"details": {"name": "b"}}),
    ],
    ids=["tool", "assistant"],
)
def test_update_tool_and_assistant_save_the_change(
    kind: str, make: Any, change: dict[str, Any]
) -> None:
    ws = Workspace()
    entity = getattr(ws, f"create_{kind}")(make())
    changed = entity.model_copy(update=change)

    with listening() as heard:
        getattr(ws, f"update_{kind}")(changed)

    stored = getattr(ws, f"get_{kind}")(entity.id)
    assert all(getattr(stored, k) == v for k, v in change.items())
    assert [(n, s) for n, s, _ in heard] == [(f"{kind}_updated", changed)]


def test_updating_an_unsaved_entity_is_not_found_and_saves_nothing() -> None:
    ws = Workspace()

    with pytest.raises(NotFoundError, match="create_tool") as raised:
        ws.update_tool(Tool(name="calc"))

    assert raised.value.kind == "tool"
    assert ws.tools == []


def test_the_revision_goes_up_when_a_node_is_renamed() -> None:
    flow = demo_flow()
    before = flow.revision

    flow.node("fakeChatModel_0").label = "Answering model"

    assert flow.revision > before


# ---- delete -------------------------------------------------------------------------------------


def test_delete_chatflow_by_id_or_object_returns_it_and_sends_chatflow_deleted() -> None:
    ws = Workspace()
    first = ws.create_chatflow(demo_flow())
    second = ws.create_chatflow(demo_flow())

    with listening() as heard:
        gone_by_id = ws.delete_chatflow(first.id)
        gone_by_object = ws.delete_chatflow(second)

    assert gone_by_id == first
    assert gone_by_object == second
    assert ws.chatflows == []
    assert [(n, s.id) for n, s, _ in heard] == [  # type: ignore[attr-defined]
        ("chatflow_deleted", first.id),
        ("chatflow_deleted", second.id),
    ]


def test_deleting_a_chatflow_forgets_its_messages_and_vectors() -> None:
    ws = Workspace()
    flow = ready(ws)
    ws.predict(flow, QUESTION)

    ws.delete_chatflow(flow)
    ws.create_chatflow(flow)

    assert ws.chat_messages(flow) == []
    assert ws.predict(flow, QUESTION).source_documents == []


def test_deleting_twice_is_not_found_the_second_time() -> None:
    ws = Workspace()
    assistant = ws.create_assistant(Assistant(details={"name": "a"}))
    ws.delete_assistant(assistant)

    with pytest.raises(NotFoundError, match=assistant.id):
        ws.delete_assistant(assistant)


@pytest.mark.parametrize("value", [3, None, b"id", ""])
def test_delete_with_neither_entity_nor_id_is_an_argument_type_error(value: object) -> None:
    with pytest.raises(ArgumentTypeError, match="delete_chatflow takes a Chatflow or its id"):
        Workspace().delete_chatflow(value)  # type: ignore[arg-type]


def test_errors_are_also_the_builtin_exceptions_a_caller_reaches_for() -> None:
    ws = Workspace()
    tool = ws.create_tool(Tool(name="calc"))

    with pytest.raises(LookupError):
        ws.get_tool("missing")
    with pytest.raises(TypeError):
        ws.create_tool("calc")  # type: ignore[arg-type]
    with pytest.raises(AlreadyExistsError, match="update_tool"):
        ws.create_tool(tool)


# ---- copies in and out --------------------------------------------------------------------------


def test_changing_an_entity_after_create_changes_nothing_saved() -> None:
    ws = Workspace()
    flow = ws.create_chatflow(demo_flow())

    flow.name = "changed locally"
    got = ws.get_chatflow(flow.id)
    got.name = "changed again"

    assert ws.get_chatflow(flow.id).name == "museum"
    assert [f.name for f in ws.list_chatflows()] == ["museum"]


# ---- chat messages ------------------------------------------------------------------------------


def test_each_prediction_keeps_its_question_and_answer() -> None:
    ws = Workspace()
    flow = ready(ws)

    first = ws.predict(flow, QUESTION, chat_id="visit-1")
    ws.predict(flow, "Is entry free?", chat_id="visit-2")

    messages = ws.chat_messages(flow, "visit-1")
    assert [(m.role, m.content) for m in messages] == [
        (Role.USER, QUESTION),
        (Role.API, first.text),
    ]
    assert all(isinstance(m, ChatMessage) and m.chatflow_id == flow.id for m in messages)
    assert len(ws.chat_messages(flow.id)) == 4


def test_delete_chat_messages_of_one_conversation_or_all() -> None:
    ws = Workspace()
    flow = ready(ws)
    for chat in ("a", "b", "b"):
        ws.predict(flow, QUESTION, chat_id=chat)

    assert ws.delete_chat_messages(flow, "b") == 4
    assert [m.chat_id for m in ws.chat_messages(flow)] == ["a", "a"]
    assert ws.delete_chat_messages(flow.id) == 2
    assert ws.chat_messages(flow) == []


# ---- streaming ----------------------------------------------------------------------------------


def test_stream_yields_start_tokens_sources_metadata_end_and_then_signals() -> None:
    ws = Workspace()
    flow = ready(ws)

    with listening() as heard:
        events = list(ws.stream(flow, QUESTION, chat_id="s1"))

    assert all(isinstance(e, StreamEvent) for e in events)
    names = [e.event for e in events]
    assert names[0] == "start"
    assert names[-3:] == ["sourceDocuments", "metadata", "end"]
    text = "".join(e.data for e in events if e.event == "token")
    assert text == ws.chat_messages(flow, "s1")[-1].content
    assert events[-2].data["chatId"] == "s1"
    [(name, sender, kwargs)] = heard
    assert (name, sender) == ("prediction_sent", flow)
    assert kwargs["result"].text == text
    assert kwargs["result"].source_documents


def test_a_stream_that_fails_sends_operation_failed_and_raises() -> None:
    ws = Workspace()

    with listening() as heard, pytest.raises(NotFoundError):
        list(ws.stream("missing", QUESTION))

    [(name, sender, kwargs)] = heard
    assert (name, sender, kwargs["operation"]) == ("operation_failed", "missing", "predict")


def test_a_stream_left_before_its_end_sends_nothing() -> None:
    ws = Workspace()
    flow = ready(ws)

    with listening() as heard:
        stream = ws.stream(flow, QUESTION)
        next(stream)
        stream.close()  # type: ignore[attr-defined]

    assert heard == []


def test_async_stream_gives_the_same_events() -> None:
    registry = builtin_registry()
    store = MemoryStore()
    ws = Workspace(LocalBackend(store, registry))
    flow = ready(ws)
    aws = AsyncWorkspace(AsyncLocalBackend(store, registry))

    async def collect() -> list[StreamEvent]:
        return [e async for e in aws.stream(flow, QUESTION, chat_id="same")]

    def comparable(events: list[StreamEvent]) -> list[tuple[str, Any]]:
        # every answer is a new message: its messageId differs, the rest is the same
        return [
            (e.event, {**e.data, "messageId": "-"} if e.event == "metadata" else e.data)
            for e in events
        ]

    sync_events = list(ws.stream(flow, QUESTION, chat_id="same"))
    async_events = asyncio.run(collect())

    assert comparable(async_events) == comparable(sync_events)
    assert async_events[-2].data["messageId"] != sync_events[-2].data["messageId"]


# ---- the async twin -----------------------------------------------------------------------------


def test_async_workspace_has_every_method_of_the_sync_one() -> None:
    public = {n for n in dir(Workspace) if not n.startswith("_")}
    missing = public - {n for n in dir(AsyncWorkspace) if not n.startswith("_")}

    assert missing == {"chatflows", "tools", "assistants", "close"}  # properties; aclose


def test_async_crud_round_trip() -> None:
    aws = AsyncWorkspace()

    async def scenario() -> tuple[list[str], list[str]]:
        tool = await aws.create_tool(Tool(name="calc"))
        await aws.update_tool(tool.model_copy(update={"description": "adds"}))
        described = (await aws.get_tool(tool.id)).description
        await aws.delete_tool(tool.id)
        return [described], [t.id for t in await aws.list_tools()]

    with listening() as heard:
        described, left = asyncio.run(scenario())

    assert described == ["adds"]
    assert left == []
    assert [n for n, _, _ in heard] == ["tool_created", "tool_updated", "tool_deleted"]


# ---- building and closing a workspace ----------------------------------------------------------


def test_a_backend_and_components_together_are_refused() -> None:
    with pytest.raises(ArgumentTypeError, match="LocalBackend"):
        Workspace(LocalBackend(), components=builtin_registry())


def test_open_keeps_the_workspace_in_a_file_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "flows.db"
    with Workspace.open(path) as ws:
        flow = ready(ws)
        answer = ws.predict(flow, QUESTION, chat_id="c")

    with Workspace.open(path) as again:
        assert [f.id for f in again.chatflows] == [flow.id]
        assert again.predict(flow.id, QUESTION).text == answer.text
        assert len(again.chat_messages(flow, "c")) == 2


def test_async_open_and_context_manager(tmp_path: Path) -> None:
    async def scenario() -> list[str]:
        async with AsyncWorkspace.open(tmp_path / "a.db") as aws:
            flow = await aws.create_chatflow(demo_flow())
            await aws.upsert_vector(flow)
            return [(await aws.predict(flow, QUESTION)).text]

    assert asyncio.run(scenario())[0]
    with Workspace.open(tmp_path / "a.db") as ws:
        assert len(ws.chatflows) == 1


def test_connect_builds_a_flowise_workspace_that_reports_an_unreachable_server() -> None:
    ws = Workspace.connect("http://127.0.0.1:9", api_key="k", retries=0)

    with listening() as heard, pytest.raises(ConnectionError):
        ws.predict("some-flow", QUESTION)
    ws.close()

    assert type(ws.backend).__name__ == "FlowiseBackend"
    [(name, sender, kwargs)] = heard
    assert (name, sender, kwargs["error_type"]) == (
        "operation_failed",
        "some-flow",
        "UnavailableError",
    )


def test_importing_flowkit_imports_neither_httpx_nor_the_sqlite_store() -> None:
    code = (
        "import sys, flowkit\n"
        "flowkit.Workspace(); flowkit.AsyncWorkspace()\n"
        "lazy = {'httpx', 'flowkit.backends.flowise', 'flowkit.storage.sqlite'}\n"
        "loaded = lazy & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
