"""A bad event never costs a good one: 413 splits the batch, 3xx is retried, bodies stay
under the cap. Against the fake PostHog server, a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowkit.runtime import retrieval_demo_flow
from flowkit.telemetry import PostHogSink, Telemetry, TelemetrySettings
from telemetry.helpers import send_predictions

try:
    from fake_posthog import FakePostHog  # tests/ is on sys.path (no tests/__init__.py)
except ImportError:  # pragma: no cover - tests/ became a package
    from tests.fake_posthog import FakePostHog

API_KEY = "phc_test"


@pytest.fixture
def server() -> Iterator[FakePostHog]:
    with FakePostHog() as fake:
        yield fake


def predictions(count: int) -> None:
    send_predictions(retrieval_demo_flow("Paris is in France."), count)


def client(home: Path, sink: PostHogSink, **options: object) -> Telemetry:
    return Telemetry(
        sink=sink,
        settings=TelemetrySettings(home=home),
        max_backoff=0.05,
        **options,  # type: ignore[arg-type]
    ).connect()


def test_413_splits_the_batch_in_halves_and_delivers_every_event(
    server: FakePostHog, flowkit_home: Path
) -> None:
    server.script(["413", "ok", "413", "ok", "ok"])
    telemetry = client(flowkit_home, PostHogSink(API_KEY, server.url), batch_size=8)

    predictions(8)
    assert telemetry.flush(10.0) is True
    telemetry.shutdown()

    assert sorted(e["properties"]["chatId"] for e in server.events) == sorted(
        f"chat-{i}" for i in range(8)
    )
    assert server.unique_uuid_count == 8
    assert telemetry.stats.failed == 0


def test_one_event_too_large_alone_is_dropped_and_counted_and_the_rest_delivered(
    server: FakePostHog, flowkit_home: Path
) -> None:
    # 4 events: 413 for all 4, 413 for [0, 1], ok for [0], 413 for [1] alone, ok for [2, 3].
    server.script(["413", "413", "ok", "413", "ok"])
    telemetry = client(flowkit_home, PostHogSink(API_KEY, server.url), batch_size=4)

    predictions(4)
    assert telemetry.flush(10.0) is False  # one of this process's events was given up on
    telemetry.shutdown()

    assert sorted(e["properties"]["chatId"] for e in server.events) == [
        "chat-0",
        "chat-2",
        "chat-3",
    ]
    assert telemetry.stats.failed == 1
    assert telemetry.stats.delivered == 3


@pytest.mark.parametrize("status", ["301", "302", "307", "308"])
def test_a_redirect_is_retried_not_a_silent_loss(
    server: FakePostHog, flowkit_home: Path, status: str
) -> None:
    server.script([status, status])
    telemetry = client(flowkit_home, PostHogSink(API_KEY, server.url))

    predictions(3)
    assert telemetry.flush(10.0) is True
    telemetry.shutdown()

    assert server.unique_uuid_count == 3
    assert telemetry.stats.failed == 0


def test_bodies_stay_under_the_cap_by_sending_fewer_events_per_request(
    server: FakePostHog, flowkit_home: Path
) -> None:
    cap = 8_000
    telemetry = client(flowkit_home, PostHogSink(API_KEY, server.url, max_body_bytes=cap))

    predictions(60)
    assert telemetry.flush(10.0) is True
    telemetry.shutdown()

    assert server.unique_uuid_count == 60
    bodies = [gzip.decompress(b.raw) if b.gzipped else b.raw for b in server.bodies]
    assert len(bodies) > 1
    assert max(len(body) for body in bodies) <= cap
    assert all(json.loads(body)["batch"] for body in bodies)


def test_the_default_body_cap_is_posthogs_documented_5_mb() -> None:
    assert PostHogSink(API_KEY).max_body_bytes == 5_000_000
