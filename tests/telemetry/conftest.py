"""Fixtures shared by the telemetry tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flowkit.telemetry import MemorySink, Telemetry, TelemetrySettings


@pytest.fixture
def sink() -> MemorySink:
    """An in-memory sink (test_sinks.py overrides it with a PostHog sink)."""
    return MemorySink()


@pytest.fixture
def telemetry(sink: MemorySink, flowkit_home: Path) -> Iterator[Telemetry]:
    """A connected client delivering synchronously to ``sink``, shut down afterwards."""
    client = Telemetry(sink=sink, settings=TelemetrySettings(home=flowkit_home), synchronous=True)
    client.connect()
    yield client
    client.shutdown()
