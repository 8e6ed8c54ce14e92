"""A Workspace on a file: what it keeps survives closing and a new process; revisions, chat
memory and the vector store's state, on the file and (where it applies) in memory."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowkit import Workspace, signals
from flowkit.backends.local import LocalBackend
from flowkit.errors import ArgumentTypeError, FlowkitError, NotFoundError
from flowkit.model import Assistant, Chatflow, Tool
from flowkit.runtime import RunContext, builtin_registry, retrieval_demo_flow
from flowkit.storage.sqlite import SQLiteStore

from .helpers import small_flow

TEXT = (
    "Flowkit keeps chatflows in a SQLite file.\n\n"
    "Revisions are numbered from one for every save.\n\n"
    "The vector store's content survives a restart."
)
QUESTION = "what survives a restart?"


def test_what_a_file_workspace_keeps_survives_closing(tmp_path: Path) -> None:
    path = tmp_path / "flows.db"
    flow, tool, assistant = small_flow(), Tool(name="calc"), Assistant(details={"name": "a"})
    with Workspace.open(path) as ws:
        ws.create_chatflow(flow)
        ws.create_tool(tool)
        ws.create_assistant(assistant)
    with Workspace.open(path) as ws:
        assert [f.id for f in ws.chatflows] == [flow.id]
        assert ws.get_chatflow(flow.id).to_flowise() == flow.to_flowise()
        assert ws.get_tool(tool.id) == tool
        assert ws.get_assistant(assistant.id) == assistant


def test_a_file_workspace_sends_the_same_signals(tmp_path: Path) -> None:
    seen: list[str] = []

    def created(sender: Chatflow, **kwargs: Any) -> None:
        seen.append(sender.id)

    signals.chatflow_created.connect(created)
    try:
        with Workspace.open(tmp_path / "w.db") as ws:
            flow = ws.create_chatflow(small_flow())
    finally:
        signals.chatflow_created.disconnect(created)
    assert seen == [flow.id]


# ---- revisions ---------------------------------------------------------------------------


def test_revisions_get_and_restore_through_the_workspace(tmp_path: Path) -> None:
    updated: list[int] = []

    def on_update(sender: Chatflow, **kwargs: Any) -> None:
        updated.append(len(sender.nodes))

    with Workspace.open(tmp_path / "w.db") as ws:
        flow = ws.create_chatflow(small_flow())
        flow.add_node("calculator")
        ws.update_chatflow(flow)
        signals.chatflow_updated.connect(on_update)
        try:
            restored = ws.restore_chatflow(flow.id, revision=1)
        finally:
            signals.chatflow_updated.disconnect(on_update)
        numbers = [r.number for r in ws.revisions(flow.id)]
        first = ws.get_chatflow(flow.id, revision=1)
        current = ws.get_chatflow(flow.id)
    assert numbers == [1, 2, 3]
    assert len(first.nodes) == 3
    assert len(current.nodes) == 3
    assert len(restored.nodes) == 3
    assert updated == [3]


def test_a_backend_without_revisions_says_so(tmp_path: Path) -> None:
    ws = Workspace()
    flow = ws.create_chatflow(small_flow())
    with pytest.raises(FlowkitError, match="keeps no revisions"):
        ws.revisions(flow.id)
    with pytest.raises(FlowkitError, match="keeps no revisions"):
        ws.get_chatflow(flow.id, revision=1)
    with pytest.raises(FlowkitError, match="keeps no revisions"):
        ws.restore_chatflow(flow.id, revision=1)


def test_restoring_an_unknown_revision_is_not_found(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "w.db") as ws:
        flow = ws.create_chatflow(small_flow())
        with pytest.raises(NotFoundError, match="has no revision 4"):
            ws.restore_chatflow(flow.id, revision=4)


# ---- chat memory -------------------------------------------------------------------------


class RecordingModel:
    """A chat model that keeps every prompt it receives and answers with a fixed text."""

    def __init__(self, prompts: list[str]) -> None:
        self.prompts = prompts

    def invoke(self, prompt: str, context: list[Any] | None = None) -> str:
        self.prompts.append(prompt)
        return f"answer {len(self.prompts)}"


def _memory_flow() -> Chatflow:
    return _memory_flow_with("recordingModel")


@pytest.fixture(params=["memory", "file"])
def chat_workspace(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Workspace, list[str]]]:
    prompts: list[str] = []
    registry = builtin_registry()
    registry.register("recordingModel", lambda inputs, ctx: RecordingModel(prompts))
    store = SQLiteStore(tmp_path / "chat.db") if request.param == "file" else None
    ws = Workspace(LocalBackend(store=store, components=registry))
    yield ws, prompts
    ws.close()


def test_the_second_question_sees_the_first_question_and_answer(
    chat_workspace: tuple[Workspace, list[str]],
) -> None:
    ws, prompts = chat_workspace
    flow = ws.create_chatflow(_memory_flow())
    first = ws.predict(flow, "my name is Ada", chat_id="chat-1")
    ws.predict(flow, "what is my name?", chat_id="chat-1")
    ws.predict(flow, "who am I?", chat_id="chat-2")
    assert "Human:" not in prompts[0]
    assert prompts[1].endswith(
        f"Human: my name is Ada\nAI: {first.text}\nQuestion: what is my name?"
    )
    assert "Ada" not in prompts[2]  # another conversation remembers nothing
    messages = ws.chat_messages(flow, "chat-1")
    assert [(m.role.value, m.content) for m in messages] == [
        ("userMessage", "my name is Ada"),
        ("apiMessage", "answer 1"),
        ("userMessage", "what is my name?"),
        ("apiMessage", "answer 2"),
    ]


def test_chat_memory_survives_reopening_the_file(tmp_path: Path) -> None:
    prompts: list[str] = []
    registry = builtin_registry()
    registry.register("recordingModel", lambda inputs, ctx: RecordingModel(prompts))
    path = tmp_path / "chat.db"
    with Workspace(LocalBackend(store=SQLiteStore(path), components=registry)) as ws:
        flow = ws.create_chatflow(_memory_flow())
        ws.predict(flow, "remember 42", chat_id="c")
    with Workspace(LocalBackend(store=SQLiteStore(path), components=registry)) as ws:
        ws.predict(flow.id, "what number?", chat_id="c")
    assert "Human: remember 42\nAI: answer 1\n" in prompts[1]


# ---- vector store state ------------------------------------------------------------------

_PREDICT_IN_A_NEW_PROCESS = """
import json, sys
from flowkit import Workspace
with Workspace.open(sys.argv[1]) as ws:
    result = ws.predict(sys.argv[2], sys.argv[3])
    docs = [d.model_dump() for d in result.source_documents]
    print(json.dumps({"text": result.text, "docs": docs}))
"""


def test_upserted_documents_answer_in_a_new_process(tmp_path: Path) -> None:
    path = tmp_path / "rag.db"
    with Workspace.open(path) as ws:
        flow = ws.create_chatflow(retrieval_demo_flow(TEXT, chunk_size=60))
        upserted = ws.upsert_vector(flow)
        here = ws.predict(flow, QUESTION)
    assert upserted.num_added == 3
    done = subprocess.run(
        [sys.executable, "-c", _PREDICT_IN_A_NEW_PROCESS, str(path), flow.id, QUESTION],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    there = json.loads(done.stdout)
    assert there["text"] == here.text
    assert "survives a restart" in there["text"]
    assert there["docs"] == [d.model_dump() for d in here.source_documents]


def test_upserting_the_same_documents_again_skips_them_even_after_reopening(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rag.db"
    with Workspace.open(path) as ws:
        flow = ws.create_chatflow(retrieval_demo_flow(TEXT, chunk_size=60))
        first = ws.upsert_vector(flow)
        second = ws.upsert_vector(flow)
    with Workspace.open(path) as ws:
        third = ws.upsert_vector(flow.id)
        history = ws.backend.store.upsert_history(flow.id)  # type: ignore[attr-defined]
    assert (first.num_added, first.num_skipped) == (3, 0)
    assert (second.num_added, second.num_skipped, second.num_deleted) == (0, 3, 0)
    assert (third.num_added, third.num_skipped) == (0, 3)
    assert [(h.stop_node_id, h.num_added, h.num_skipped) for h in history] == [
        ("memoryVectorStore_0", 3, 0),
        ("memoryVectorStore_0", 0, 3),
        ("memoryVectorStore_0", 0, 3),
    ]


def test_a_component_sees_the_history_in_its_context(tmp_path: Path) -> None:
    seen: list[int] = []
    registry = builtin_registry()

    def counting_chain(inputs: dict[str, Any], context: RunContext) -> str:
        seen.append(len(context.history))
        return "ok"

    registry.register("countingChain", counting_chain)
    flow = Chatflow(name="count")
    flow.add_node("countingChain", category="Chains")
    with Workspace(LocalBackend(store=SQLiteStore(tmp_path / "w.db"), components=registry)) as ws:
        ws.create_chatflow(flow)
        for _ in range(3):
            ws.predict(flow, "q", chat_id="c")
    assert seen == [0, 2, 4]


# ---- the async twin ----------------------------------------------------------------------


def test_async_workspace_file_keeps_revisions_and_memory(tmp_path: Path) -> None:
    import asyncio

    from flowkit import AsyncWorkspace

    async def scenario() -> tuple[list[int], int, str]:
        ws = AsyncWorkspace.open(tmp_path / "async.db")
        try:
            flow = await ws.create_chatflow(small_flow())
            flow.add_node("calculator")
            await ws.update_chatflow(flow)
            restored = await ws.restore_chatflow(flow.id, revision=1)
            numbers = [r.number for r in await ws.revisions(flow.id)]
            chat = await ws.create_chatflow(_memory_flow_with("fakeChatModel"))
            await ws.predict(chat, "first", chat_id="a")
            second = await ws.predict(chat, "second", chat_id="a")
            first_nodes = len((await ws.get_chatflow(flow.id, revision=2)).nodes)
        finally:
            await ws.aclose()
        assert len(restored.nodes) == 3
        return numbers, first_nodes, second.text

    numbers, nodes_in_2, answer = asyncio.run(scenario())
    assert numbers == [1, 2, 3]
    assert nodes_in_2 == 4
    assert answer == 'Echo: "second"'


def _memory_flow_with(model_name: str) -> Chatflow:
    flow = Chatflow(name="chat")
    memory = flow.add_node("bufferMemory", category="Memory")
    model = flow.add_node(model_name, category="Chat Models")
    chain = flow.add_node("conversationChain", category="Chains")
    flow.connect(memory, chain, "memory")
    flow.connect(model, chain, "model")
    return flow


def test_a_change_made_through_another_connection_is_seen_by_the_next_prediction(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.db"
    with Workspace.open(path) as first, Workspace.open(path) as second:
        flow = first.create_chatflow(retrieval_demo_flow(TEXT, chunk_size=60))
        first.upsert_vector(flow)
        before = first.predict(flow, QUESTION, overrides={"topK": 10})
        changed = second.get_chatflow(flow.id)
        changed.node("plainText_0").inputs["text"] = "Kites need wind.\n\nA restart loses nothing."
        second.update_chatflow(changed)
        second.upsert_vector(changed)
        after = first.predict(flow.id, QUESTION, overrides={"topK": 10})
    assert len(before.source_documents) == 3
    assert len(after.source_documents) == 4  # and the chunk the second connection added


def test_a_session_id_alone_names_the_conversation_as_in_flowise(
    chat_workspace: tuple[Workspace, list[str]],
) -> None:
    ws, prompts = chat_workspace
    flow = ws.create_chatflow(_memory_flow())
    first = ws.predict(flow, "my name is Ada", overrides={"sessionId": "user-7"})
    second = ws.predict(flow, "what is my name?", overrides={"sessionId": "user-7"})
    own = ws.predict(flow, "who am I?", chat_id="chat-9", overrides={"sessionId": "user-7"})

    assert (first.chat_id, second.chat_id, own.chat_id) == ("user-7", "user-7", "chat-9")
    assert prompts[1].endswith(
        f"Human: my name is Ada\nAI: {first.text}\nQuestion: what is my name?"
    )
    # A chat_id given names the conversation (Flowise's chatId), but the memory follows the
    # session the call names (Flowise's getMemorySessionId for an API call).
    assert "Human: my name is Ada" in prompts[2]
    assert len(ws.chat_messages(flow, "user-7")) == 4
    assert [m.session for m in ws.chat_messages(flow, "chat-9")] == ["user-7", "user-7"]


def _memory_flow_with_session(session: str) -> Chatflow:
    flow = _memory_flow()
    flow.node("bufferMemory_0").inputs["sessionId"] = session
    return flow


def test_the_memory_nodes_session_is_shared_unless_the_call_names_one(
    chat_workspace: tuple[Workspace, list[str]],
) -> None:
    ws, prompts = chat_workspace
    flow = ws.create_chatflow(_memory_flow_with_session("team"))
    ws.predict(flow, "my name is Ada", chat_type="INTERNAL", chat_id="a")
    ws.predict(flow, "who am I?", chat_type="INTERNAL", chat_id="b")  # another chat, same memory
    ws.predict(flow, "and now?", chat_id="c")  # an API call naming its chat: its own memory

    assert "Human: my name is Ada" in prompts[1]
    assert "Ada" not in prompts[2]
    assert [m.session for m in ws.chat_messages(flow)] == ["team"] * 4 + ["c"] * 2


def test_an_internal_call_ignores_the_session_in_its_overrides(
    chat_workspace: tuple[Workspace, list[str]],
) -> None:
    ws, prompts = chat_workspace
    flow = ws.create_chatflow(_memory_flow())
    ws.predict(
        flow, "my name is Ada", chat_type="INTERNAL", chat_id="a", overrides={"sessionId": "s"}
    )
    ws.predict(flow, "who am I?", chat_type="INTERNAL", chat_id="b", overrides={"sessionId": "s"})

    assert "Ada" not in prompts[1]  # Flowise's UI chats keep their own memory


@pytest.mark.parametrize("session", ["", 7, ["user-7"]])
def test_a_session_id_that_is_not_a_non_empty_str_is_refused(
    chat_workspace: tuple[Workspace, list[str]], session: object
) -> None:
    ws, prompts = chat_workspace
    flow = ws.create_chatflow(_memory_flow())

    with pytest.raises(
        ArgumentTypeError, match=r"overrides\['sessionId'\] must be a non-empty str"
    ):
        ws.predict(flow, "hello", overrides={"sessionId": session})

    assert prompts == []
    assert ws.chat_messages(flow) == []
