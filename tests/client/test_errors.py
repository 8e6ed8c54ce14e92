"""Flowise's answers mapped to flowkit's errors, against a scripted server on 127.0.0.1."""

from __future__ import annotations

import socket

import pytest

from flowkit.client import FlowiseClient
from flowkit.errors import (
    AuthenticationError,
    FlowiseAPIError,
    FlowkitError,
    NotFoundError,
    UnavailableError,
)

from .fake_flowise import Answer, FakeFlowise

ID = "00000000-0000-0000-0000-000000000001"


def _error(message: str) -> dict[str, object]:
    return {"statusCode": 500, "success": False, "message": message, "stack": {}}


def test_404_is_not_found_naming_kind_and_id(fake: FakeFlowise, client: FlowiseClient) -> None:
    fake.json("GET", f"/api/v1/chatflows/{ID}", _error(f"Chatflow {ID} not found"), 404)

    with pytest.raises(NotFoundError) as caught:
        client.get_chatflow(ID)

    assert (caught.value.kind, caught.value.entity_id) == ("chatflow", ID)
    assert ID in str(caught.value)
    assert fake.url in str(caught.value)


def test_a_500_saying_not_found_is_not_found(fake: FakeFlowise, client: FlowiseClient) -> None:
    fake.json(
        "GET",
        f"/api/v1/tools/{ID}",
        _error(f"Error: toolsService.getToolById - Tool {ID} not found"),
        500,
    )

    with pytest.raises(NotFoundError):
        client.get_tool(ID)


def test_chat_messages_of_an_unknown_flow_are_not_found(
    fake: FakeFlowise, client: FlowiseClient
) -> None:
    message = "Error: chatMessagesService.getAllChatMessages - Unauthorized access"
    fake.json("GET", f"/api/v1/chatmessage/{ID}", _error(message), 500)

    with pytest.raises(NotFoundError):
        client.chat_messages(ID)


def test_deleting_an_unknown_tool_is_not_found(fake: FakeFlowise, client: FlowiseClient) -> None:
    fake.json("DELETE", f"/api/v1/tools/{ID}", {"raw": [], "affected": 0})

    with pytest.raises(NotFoundError):
        client.delete_tool(ID)


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_says_how_to_pass_one(
    fake: FakeFlowise, client: FlowiseClient, status: int
) -> None:
    fake.json("GET", "/api/v1/tools", {"error": "Unauthorized Access"}, status)

    with pytest.raises(AuthenticationError) as caught:
        client.list_tools()

    text = str(caught.value)
    assert fake.url in text
    assert "FLOWISE_API_KEY" in text
    assert "api_key=" in text
    assert caught.value.status == status
    assert caught.value.server_message == "Unauthorized Access"


def test_a_protected_flows_500_unauthorized_is_an_authentication_error(
    fake: FakeFlowise, client: FlowiseClient
) -> None:
    message = "Error: predictionsServices.buildChatflow - Unauthorized"
    fake.json("POST", f"/api/v1/prediction/{ID}", _error(message), 500)

    with pytest.raises(AuthenticationError) as caught:
        client.predict(ID, "hi")

    assert caught.value.status == 500


def test_other_errors_carry_status_and_flowise_message(
    fake: FakeFlowise, client: FlowiseClient
) -> None:
    fake.json("POST", "/api/v1/chatflows", _error("nodes is not iterable"), 500)

    from flowkit import Chatflow

    with pytest.raises(FlowiseAPIError) as caught:
        client.create_chatflow(Chatflow(name="x"))

    assert type(caught.value) is FlowiseAPIError
    assert caught.value.status == 500
    assert caught.value.server_message == "nodes is not iterable"
    assert "nodes is not iterable" in str(caught.value)


def test_html_for_an_unknown_route_is_an_error_not_a_result(
    fake: FakeFlowise, client: FlowiseClient
) -> None:
    page = b"<!DOCTYPE html><html><body>Flowise</body></html>"
    fake.add("GET", "/api/v1/variables", Answer(200, page, {"Content-Type": "text/html"}))

    with pytest.raises(FlowiseAPIError, match="route does not exist"):
        client.list_variables()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_refused_connection_is_unavailable_naming_the_url() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with FlowiseClient(url, retries=0) as client, pytest.raises(UnavailableError) as caught:
        client.ping()

    assert caught.value.url == url
    assert url in str(caught.value)
    assert isinstance(caught.value, ConnectionError)


def test_an_unknown_host_is_unavailable() -> None:
    with (
        FlowiseClient("http://flowkit-no-such-host.invalid", retries=0) as client,
        pytest.raises(UnavailableError),
    ):
        client.ping()


def test_a_slow_answer_is_unavailable(fake: FakeFlowise) -> None:
    fake.add("GET", "/api/v1/version", Answer(200, b"", {}, chunks=[(1.0, b"{}")]))

    with (
        FlowiseClient(fake.url, timeout=0.2, retries=0) as client,
        pytest.raises(UnavailableError, match=r"no answer within 0\.2 s"),
    ):
        client.version()


def test_url_and_key_come_from_the_environment(
    fake: FakeFlowise, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWISE_URL", fake.url + "/api/v1/")
    monkeypatch.setenv("FLOWISE_API_KEY", "from-env")
    fake.json("GET", "/api/v1/tools", [])

    with FlowiseClient() as client:
        assert client.list_tools() == []

    assert fake.seen("GET", "/api/v1/tools")[0].headers["Authorization"] == "Bearer from-env"


def test_no_url_anywhere_says_how_to_give_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWISE_URL", raising=False)

    with pytest.raises(FlowkitError, match="FLOWISE_URL"):
        FlowiseClient()


def test_no_key_sends_no_authorization(fake: FakeFlowise, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWISE_API_KEY", raising=False)
    fake.json("GET", "/api/v1/version", {"version": "3.1.4"})

    with FlowiseClient(fake.url) as client:
        assert client.version() == "3.1.4"

    assert "Authorization" not in fake.seen("GET", "/api/v1/version")[0].headers


def test_a_refused_malformed_id_is_not_found(fake: FakeFlowise, client: FlowiseClient) -> None:
    fake.json("GET", "/api/v1/chatflows/nope", {"message": "Invalid Chatflow ID"}, 400)

    with pytest.raises(NotFoundError):
        client.get_chatflow("nope")
