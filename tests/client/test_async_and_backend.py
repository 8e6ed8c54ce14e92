"""The async twin, and the Flowise backends, against the scripted server."""

from __future__ import annotations

import asyncio
import json

import pytest

from flowkit import Chatflow, Tool
from flowkit.backends.base import AsyncBackend, Backend, PredictRequest
from flowkit.backends.events import StreamEvent
from flowkit.backends.flowise import AsyncFlowiseBackend, FlowiseBackend
from flowkit.client import AsyncFlowiseClient, FlowiseClient
from flowkit.errors import AuthenticationError, FlowiseAPIError, NotFoundError

from .fake_flowise import Answer, FakeFlowise, split, sse

ID = "00000000-0000-0000-0000-000000000005"
STREAM = {"Content-Type": "text/event-stream"}
UNAUTHORIZED = "Error: predictionsServices.buildChatflow - Unauthorized"


def test_the_async_client_retries_and_streams_like_the_sync_one(fake: FakeFlowise) -> None:
    busy = Answer(503, b"{}", {"Content-Type": "application/json"})
    fake.add("GET", "/api/v1/tools", busy, Answer(200, b"[]", {"Content-Type": "application/json"}))
    body = sse(("start", "a"), ("token", "a"), ("token", "b"), ("end", "[DONE]"))
    fake.add("POST", f"/api/v1/prediction/{ID}", Answer(200, b"", STREAM, split(body, 5)))

    async def main() -> tuple[list[Tool], list[StreamEvent]]:
        async with AsyncFlowiseClient(fake.url, backoff=0.01) as client:
            tools = await client.list_tools()
            events = [event async for event in client.stream(ID, "q")]
            return tools, events

    tools, events = asyncio.run(main())

    assert tools == []
    assert len(fake.seen("GET", "/api/v1/tools")) == 2
    assert "".join(e.data for e in events if e.event == "token") == "ab"


def test_the_async_client_maps_errors_like_the_sync_one(fake: FakeFlowise) -> None:
    fake.json("GET", f"/api/v1/chatflows/{ID}", {"message": "not found"}, 404)

    async def main() -> None:
        async with AsyncFlowiseClient(fake.url) as client:
            await client.get_chatflow(ID)

    with pytest.raises(NotFoundError):
        asyncio.run(main())


def test_the_backends_implement_the_protocols(fake: FakeFlowise) -> None:
    backend = FlowiseBackend.connect(fake.url, api_key="k")
    async_backend = AsyncFlowiseBackend.connect(fake.url, api_key="k")

    assert isinstance(backend, Backend)
    assert isinstance(async_backend, AsyncBackend)
    backend.close()
    asyncio.run(async_backend.aclose())


def test_create_returns_a_new_object_with_the_servers_id(fake: FakeFlowise) -> None:
    flow = Chatflow(name="f")
    record = {"id": ID, "name": "f", "flowData": json.dumps(flow.to_flowise()), "type": "CHATFLOW"}
    fake.json("POST", "/api/v1/chatflows", record)

    with FlowiseClient(fake.url) as client:
        created = FlowiseBackend(client).create(flow)

    assert created is not flow
    assert created.id == ID != flow.id


def test_delete_returns_the_entity_as_it_was(fake: FakeFlowise) -> None:
    tool = {"id": ID, "name": "t", "description": "", "createdDate": "2026-12-05T08:04:50.000Z"}
    fake.json("GET", f"/api/v1/tools/{ID}", tool)
    fake.json("DELETE", f"/api/v1/tools/{ID}", {"raw": [], "affected": 1})

    with FlowiseClient(fake.url) as client:
        deleted = FlowiseBackend(client).delete(Tool, ID)

    assert deleted.name == "t"
    assert len(fake.seen("DELETE", f"/api/v1/tools/{ID}")) == 1


@pytest.mark.parametrize(
    ("message", "error"),
    [(UNAUTHORIZED, AuthenticationError), ("Error: boom", FlowiseAPIError)],
)
def test_a_stream_error_event_raises_what_the_unstreamed_call_would(
    fake: FakeFlowise, message: str, error: type[Exception]
) -> None:
    body = sse(("start", ""), ("error", message), ("end", "[DONE]"))
    fake.add("POST", f"/api/v1/prediction/{ID}", Answer(200, body, STREAM))
    request = PredictRequest(flow=Chatflow(id=ID), question="q", chat_id="c")

    with FlowiseClient(fake.url) as client:
        stream = FlowiseBackend(client).stream(request)
        assert next(stream).event == "start"
        with pytest.raises(error):
            next(stream)


def test_the_async_backend_stream_raises_on_an_error_event(fake: FakeFlowise) -> None:
    body = sse(("error", UNAUTHORIZED), ("end", "[DONE]"))
    fake.add("POST", f"/api/v1/prediction/{ID}", Answer(200, body, STREAM))
    request = PredictRequest(flow=Chatflow(id=ID), question="q", chat_id="c")

    async def main() -> None:
        backend = AsyncFlowiseBackend.connect(fake.url)
        try:
            async for _ in backend.stream(request):
                pass
        finally:
            await backend.aclose()

    with pytest.raises(AuthenticationError):
        asyncio.run(main())
