"""Fixtures of the client's tests: a scripted Flowise on 127.0.0.1 and clients of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flowkit.client import FlowiseClient

from .fake_flowise import FakeFlowise, served


@pytest.fixture
def fake() -> Iterator[FakeFlowise]:
    """A scripted Flowise server, stopped after the test."""
    yield from served()


@pytest.fixture
def client(fake: FakeFlowise) -> Iterator[FlowiseClient]:
    """A client of :func:`fake` with short timeouts and quick retries."""
    with FlowiseClient(fake.url, api_key="k-123", timeout=5, backoff=0.01) as client:
        yield client
