"""A prediction's ``history`` and ``uploads`` through the workspace: components of flowkit's
own engine see them (``context.history``, ``context.uploads``), on both twins, predict and
stream; a Flowise backend sends them in the request body; wrong types are refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from flowkit import (
    ArgumentTypeError,
    AsyncWorkspace,
    Chatflow,
    ChatMessage,
    Upload,
    Workspace,
    signals,
)
from flowkit.backends.events import TOKEN
from flowkit.backends.flowise import FlowiseBackend
from flowkit.backends.local import AsyncLocalBackend, LocalBackend
from flowkit.client import FlowiseClient
from flowkit.model.messages import Role
from flowkit.runtime import ComponentRegistry, builtin_registry
from tests.client.fake_flowise import FakeFlowise

PAST = [
    ChatMessage(chatflow_id="x", chat_id="c", role=Role.USER, content="my name is Ada"),
    ChatMessage(chatflow_id="x", chat_id="c", role=Role.API, content="Hello Ada"),
]
FILES = [Upload(name="a.txt", data=b"alpha", mime="text/plain"), Upload(name="b.png", data=b"\x89")]


def _registry() -> ComponentRegistry:
    registry = builtin_registry()

    def tell(inputs: dict[str, Any], context: Any) -> str:
        files = ", ".join(f"{u.name}:{u.data.decode(errors='replace')}" for u in context.uploads)
        said = " | ".join(m.content for m in context.history)
        return f"files [{files}] history [{said}]"

    registry.register("tellChain", tell, category="Chains")
    return registry


def _flow() -> Chatflow:
    flow = Chatflow(name="tells")
    flow.add_node("tellChain", category="Chains")
    return flow


@pytest.fixture
def workspace() -> Iterator[Workspace]:
    with Workspace(LocalBackend(components=_registry())) as ws:
        yield ws


def test_components_see_the_uploads_and_the_history_given(workspace: Workspace) -> None:
    flow = workspace.create_chatflow(_flow())

    answer = workspace.predict(flow, "who am I?", history=PAST, uploads=FILES)
    events = workspace.stream(flow, "again", uploads=FILES[:1])
    streamed = "".join(e.data for e in events if e.event == TOKEN)

    assert answer.text == "files [a.txt:alpha, b.png:\ufffd] history [my name is Ada | Hello Ada]"
    assert streamed == "files [a.txt:alpha] history []"


def test_history_replaces_the_stored_conversation_for_that_question(workspace: Workspace) -> None:
    flow = workspace.create_chatflow(_flow())
    workspace.predict(flow, "first", chat_id="c1")

    given = workspace.predict(flow, "second", chat_id="c1", history=PAST[:1])
    stored = workspace.predict(flow, "third", chat_id="c1")

    assert given.text.endswith("history [my name is Ada]")
    assert "history [first | files [] history []" in stored.text  # the stored one again


def test_the_async_twin_gives_them_too() -> None:
    async def scenario() -> str:
        async with AsyncWorkspace(AsyncLocalBackend(components=_registry())) as ws:
            flow = await ws.create_chatflow(_flow())
            return (await ws.predict(flow, "q", history=PAST, uploads=FILES[:1])).text

    assert asyncio.run(scenario()) == "files [a.txt:alpha] history [my name is Ada | Hello Ada]"


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ({"uploads": FILES[0]}, "uploads must be a list of Upload objects"),
        ({"uploads": [b"alpha"]}, "uploads must hold flowkit.Upload objects"),
        ({"history": "my name is Ada"}, "history must be a list of ChatMessage objects, got str"),
        ({"history": [{"role": "userMessage"}]}, "history must hold flowkit.ChatMessage objects"),
    ],
)
def test_wrong_types_are_refused_before_anything_runs(
    workspace: Workspace, arguments: dict[str, Any], says: str
) -> None:
    flow = workspace.create_chatflow(_flow())
    failed: list[str] = []
    receiver = signals.operation_failed.connect(
        lambda sender, **kw: failed.append(kw["operation"]), weak=False
    )
    try:
        with pytest.raises(ArgumentTypeError, match=says):
            workspace.predict(flow, "q", **arguments)
    finally:
        signals.operation_failed.disconnect(receiver)

    assert failed == ["predict"]
    assert workspace.chat_messages(flow) == []


def test_a_flowise_backend_sends_them_in_the_body() -> None:
    fake = FakeFlowise()
    try:
        record = _flow().model_copy(update={"id": "f1"}).model_dump(mode="json")
        fake.json("GET", "/api/v1/chatflows/f1", record)
        fake.json("POST", "/api/v1/prediction/f1", {"text": "ok", "chatId": "c"})
        with Workspace(FlowiseBackend(FlowiseClient(fake.url, api_key="k"))) as ws:
            ws.predict("f1", "q", chat_id="c", history=PAST, uploads=FILES[:1])
        [seen] = fake.seen("POST", "/api/v1/prediction/f1")
    finally:
        fake.close()

    body = json.loads(seen.body)
    assert body["history"] == [
        {"role": "userMessage", "content": "my name is Ada"},
        {"role": "apiMessage", "content": "Hello Ada"},
    ]
    assert body["uploads"] == [
        {
            "data": "data:text/plain;base64,YWxwaGE=",
            "type": "file",
            "name": "a.txt",
            "mime": "text/plain",
        }
    ]
