"""Fixtures for the metrics tests: a clean metrics environment, and no installation left
behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import flowkit.metrics
from flowkit import signals

METRICS_VARIABLES = (
    "ENABLE_METRICS",
    "METRICS_PROVIDER",
    "METRICS_SERVICE_NAME",
    "FLOWKIT_METRICS_PORT",
    "FLOWKIT_METRICS_HOST",
    "FLOWKIT_TRACES",
    "PROMETHEUS_MULTIPROC_DIR",
)


@pytest.fixture(autouse=True)
def clean_metrics(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Clear the metrics variables; uninstall whatever the test installed, then fail the
    test if any receiver is still connected to any flowkit signal."""
    for name in METRICS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    before = {s.name: set(s.receivers) for s in signals.ALL_SIGNALS}
    yield
    flowkit.metrics.uninstall()
    after = {s.name: set(s.receivers) for s in signals.ALL_SIGNALS}
    assert after == before, "a receiver was left connected"
