"""Fixtures for the metrics tests: no installation left behind. (The root conftest's
``flowkit_home`` already clears every variable flowkit reads, the metrics ones included.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import flowkit.metrics
from flowkit import signals


@pytest.fixture(autouse=True)
def clean_metrics(flowkit_home: object) -> Iterator[None]:
    """Uninstall whatever the test installed, then fail the test if any receiver is still
    connected to any flowkit signal."""
    before = {s.name: set(s.receivers) for s in signals.ALL_SIGNALS}
    yield
    flowkit.metrics.uninstall()
    after = {s.name: set(s.receivers) for s in signals.ALL_SIGNALS}
    assert after == before, "a receiver was left connected"
