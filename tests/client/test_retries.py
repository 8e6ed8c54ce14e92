"""Which calls are sent again, when, and how long the client waits in between."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from flowkit.client import FlowiseClient
from flowkit.errors import FlowiseAPIError, UnavailableError

from .fake_flowise import Answer, FakeFlowise

ID = "00000000-0000-0000-0000-000000000002"
BUSY = Answer(503, b'{"message":"busy"}', {"Content-Type": "application/json"})
OK = Answer(200, b"[]", {"Content-Type": "application/json"})


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_a_get_is_retried_after_a_passing_failure(
    fake: FakeFlowise, client: FlowiseClient, status: int
) -> None:
    failed = Answer(status, b'{"message":"later"}', {"Content-Type": "application/json"})
    fake.add("GET", "/api/v1/tools", failed, failed, OK)

    assert client.list_tools() == []

    assert len(fake.seen("GET", "/api/v1/tools")) == 3


def test_put_and_delete_are_retried(fake: FakeFlowise, client: FlowiseClient) -> None:
    fake.add("DELETE", f"/api/v1/tools/{ID}", BUSY, Answer(200, b'{"affected":1}'))

    client.delete_tool(ID)

    assert len(fake.seen("DELETE", f"/api/v1/tools/{ID}")) == 2


def test_retry_after_is_honoured(fake: FakeFlowise, client: FlowiseClient) -> None:
    slow_down = Answer(429, b"{}", {"Content-Type": "application/json", "Retry-After": "0.6"})
    fake.add("GET", "/api/v1/tools", slow_down, OK)

    started = time.monotonic()
    client.list_tools()

    assert time.monotonic() - started >= 0.55


def test_retries_give_up_with_the_last_error(fake: FakeFlowise) -> None:
    fake.add("GET", "/api/v1/tools", BUSY)

    with (
        FlowiseClient(fake.url, retries=2, backoff=0.01) as client,
        pytest.raises(FlowiseAPIError) as caught,
    ):
        client.list_tools()

    assert caught.value.status == 503
    assert len(fake.seen("GET", "/api/v1/tools")) == 3  # the first attempt and 2 retries


def test_a_500_is_not_retried(fake: FakeFlowise, client: FlowiseClient) -> None:
    fake.add("GET", "/api/v1/tools", Answer(500, b'{"message":"boom"}'), OK)

    with pytest.raises(FlowiseAPIError):
        client.list_tools()

    assert len(fake.seen("GET", "/api/v1/tools")) == 1


def test_a_prediction_is_never_retried(fake: FakeFlowise, client: FlowiseClient) -> None:
    fake.add("POST", f"/api/v1/prediction/{ID}", BUSY, OK)

    with pytest.raises(FlowiseAPIError):
        client.predict(ID, "hi")

    assert len(fake.seen("POST", f"/api/v1/prediction/{ID}")) == 1


def test_an_upsert_is_never_retried(fake: FakeFlowise, client: FlowiseClient) -> None:
    fake.add("POST", f"/api/v1/vector/upsert/{ID}", BUSY, OK)

    with pytest.raises(FlowiseAPIError):
        client.upsert_vector(ID)

    assert len(fake.seen("POST", f"/api/v1/vector/upsert/{ID}")) == 1


class _Counting(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        return super().handle_request(request)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_refused_get_is_retried_then_unavailable() -> None:
    transport = _Counting()
    url = f"http://127.0.0.1:{_closed_port()}"
    with (
        FlowiseClient(url, retries=2, backoff=0.01, transport=transport) as client,
        pytest.raises(UnavailableError),
    ):
        client.list_tools()

    assert transport.sent == 3


def test_a_refused_prediction_is_not_retried() -> None:
    transport = _Counting()
    url = f"http://127.0.0.1:{_closed_port()}"
    with (
        FlowiseClient(url, retries=2, backoff=0.01, transport=transport) as client,
        pytest.raises(UnavailableError),
    ):
        client.predict(ID, "hi")

    assert transport.sent == 1


def test_a_long_retry_after_is_capped_by_max_wait(fake: FakeFlowise) -> None:
    slow_down = Answer(503, b"{}", {"Content-Type": "application/json", "Retry-After": "100"})
    fake.add("GET", "/api/v1/tools", slow_down, OK)

    with FlowiseClient(fake.url, max_wait=0.2) as client:
        started = time.monotonic()
        assert client.list_tools() == []

    assert time.monotonic() - started < 10  # the server asked for 100 s
