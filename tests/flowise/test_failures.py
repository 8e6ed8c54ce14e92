"""A wrong key, an unknown id, a protected flow and a server that is down, on a real Flowise:
each gives the error that says what to do."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest

from flowkit import Chatflow, Tool, Workspace
from flowkit.backends.events import StreamEvent
from flowkit.client import FlowiseClient
from flowkit.errors import AuthenticationError, NotFoundError, UnavailableError

from .conftest import RAG_FLOW, Server

UNKNOWN = str(uuid.uuid4())


def test_a_wrong_key_is_an_authentication_error(server: Server) -> None:
    with (
        Workspace.connect(server.url, api_key="not-a-key") as workspace,
        pytest.raises(AuthenticationError) as caught,
    ):
        workspace.list_chatflows()

    assert server.url in str(caught.value)
    assert "FLOWISE_API_KEY" in str(caught.value)


@pytest.mark.parametrize(
    "call",
    [
        lambda ws: ws.get_chatflow(UNKNOWN),
        lambda ws: ws.get_chatflow("not-a-uuid"),
        lambda ws: ws.get_tool(UNKNOWN),
        lambda ws: ws.get_assistant(UNKNOWN),
        lambda ws: ws.delete_chatflow(UNKNOWN),
        lambda ws: ws.delete_tool(UNKNOWN),
        lambda ws: ws.delete_assistant(UNKNOWN),
        lambda ws: ws.update_tool(Tool(id=UNKNOWN, name="ghost")),
        lambda ws: ws.update_chatflow(Chatflow.from_flowise(RAG_FLOW, id=UNKNOWN)),
        lambda ws: ws.predict(UNKNOWN, "hi"),
        lambda ws: ws.chat_messages(UNKNOWN),
    ],
    ids=[
        "get_chatflow",
        "get_chatflow_malformed_id",
        "get_tool",
        "get_assistant",
        "delete_chatflow",
        "delete_tool",
        "delete_assistant",
        "update_tool",
        "update_chatflow",
        "predict",
        "chat_messages",
    ],
)
def test_an_unknown_id_is_not_found_on_every_call(workspace: Workspace, call: object) -> None:
    with pytest.raises(NotFoundError):
        call(workspace)  # type: ignore[operator]


def test_an_unknown_id_is_not_found_for_upsert_and_history_in_the_client(
    client: FlowiseClient,
) -> None:
    with pytest.raises(NotFoundError):
        client.upsert_vector(UNKNOWN)
    with pytest.raises(NotFoundError):
        client.delete_chat_messages(UNKNOWN)


def test_a_protected_flow_refuses_a_prediction_without_its_key(
    server: Server, client: FlowiseClient, rag_flow: Chatflow
) -> None:
    key_id = _api_key_id(client)
    flow = client.create_chatflow(rag_flow, {"apikeyid": key_id})
    try:
        with FlowiseClient(server.url, api_key="wrong") as stranger:
            with pytest.raises(AuthenticationError) as caught:
                stranger.predict(flow.id, "hi")
            with pytest.raises(AuthenticationError):
                list(_backend_stream(stranger, flow))
    finally:
        client.delete_chatflow(flow.id)

    assert caught.value.status == 500


def _api_key_id(client: FlowiseClient) -> str:
    from flowkit.client.core import Call

    keys = client.send(Call("GET", "/apikey", lambda payload: payload))
    assert isinstance(keys, list)
    return str(keys[0]["id"])


def _backend_stream(client: FlowiseClient, flow: Chatflow) -> Iterator[StreamEvent]:
    from flowkit.backends.base import PredictRequest
    from flowkit.backends.flowise import FlowiseBackend

    request = PredictRequest(flow=flow, question="hi", chat_id="c")
    return FlowiseBackend(client).stream(request)


def test_a_server_that_is_down_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with (
        Workspace.connect(url, api_key="k", retries=1, backoff=0.01) as workspace,
        pytest.raises(UnavailableError) as caught,
    ):
        workspace.list_tools()

    assert url in str(caught.value)
