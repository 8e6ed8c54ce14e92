"""Delivery to PostHog's batch endpoint, against a real HTTP server on 127.0.0.1.

The client is configured as a user would (``POSTHOG_PUBLIC_API_KEY`` and ``POSTHOG_HOST``)
and talks to :class:`FakePostHog`, which answers like PostHog and can fail on purpose.
Every test is bounded in time.
"""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from flowkit.model import Chatflow
from flowkit.runtime import retrieval_demo_flow
from flowkit.telemetry import Telemetry, TelemetrySettings, TelemetryStats, json_schema
from flowkit.workspace import Workspace
from telemetry.helpers import send_predictions

try:
    from fake_posthog import FakePostHog  # tests/ is on sys.path (no tests/__init__.py)
except ImportError:  # pragma: no cover - tests/ became a package
    from tests.fake_posthog import FakePostHog

Make = Callable[..., Telemetry]
"""Builds a client for the test (shut down afterwards)."""
API_KEY = "phc_test_project_key"


@pytest.fixture
def server() -> Iterator[FakePostHog]:
    with FakePostHog(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
def flow() -> Chatflow:
    return retrieval_demo_flow("Paris is the capital of France.")


@pytest.fixture
def make(server: FakePostHog, flowkit_home: Path, tmp_path: Path) -> Iterator[Make]:
    """Build clients from the environment a user would set; each is shut down after."""
    made: list[Telemetry] = []

    def build(**options: object) -> Telemetry:
        settings = TelemetrySettings.from_env(
            environ={
                "FLOWKIT_HOME": str(flowkit_home),
                "POSTHOG_PUBLIC_API_KEY": API_KEY,
                "POSTHOG_HOST": server.url,
            },
            dotenv_path=tmp_path / "absent.env",
        )
        client = Telemetry(settings=settings, **options)  # type: ignore[arg-type]
        made.append(client.connect())
        return client

    yield build
    for client in made:
        client.shutdown(timeout=1.0)


def fire(flow: Chatflow, count: int) -> None:
    send_predictions(flow, count)


def test_batch_body_has_posthog_shape(make: Make, server: FakePostHog, flow: Chatflow) -> None:
    client = make(batch_size=100)
    workspace = Workspace(strict_signals=True)
    workspace.create_chatflow(flow)
    workspace.upsert_vector(flow)
    workspace.predict(flow, "Paris?")

    assert client.flush(5.0)

    [request] = server.bodies
    assert request.path == "/batch/"
    assert request.outcome == "ok"
    assert list(request.payload) == ["api_key", "batch"]
    assert request.payload["api_key"] == API_KEY
    batch = request.payload["batch"]
    assert [e["event"] for e in batch] == ["chatflow_created", "vector_upserted", "prediction_sent"]
    instance_id = json.loads((client.settings.home / "settings.json").read_text())["instanceId"]
    for event in batch:
        assert list(event) == ["event", "distinct_id", "properties", "timestamp", "uuid"]
        assert event["distinct_id"] == instance_id
        assert uuid.UUID(event["uuid"]).version == 4
        Draft202012Validator(json_schema(event["event"])).validate(event["properties"])


def test_body_is_gzipped_json(make: Make, server: FakePostHog, flow: Chatflow) -> None:
    client = make()
    fire(flow, 3)

    assert client.flush(5.0)

    [request] = server.bodies
    assert request.gzipped
    assert request.headers["Content-Encoding"] == "gzip"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(gzip.decompress(request.raw)) == request.payload


def test_batches_hold_at_most_batch_size_events(
    make: Make, server: FakePostHog, flow: Chatflow
) -> None:
    client = make(batch_size=10)
    fire(flow, 35)

    assert client.flush(5.0)

    assert all(len(r.payload["batch"]) <= 10 for r in server.bodies)
    assert server.uuids() == list(dict.fromkeys(server.uuids()))
    assert [e["properties"]["chatId"] for e in server.events] == [f"chat-{i}" for i in range(35)]


def test_503_burst_then_recovery_loses_and_duplicates_nothing(
    make: Make, server: FakePostHog, flow: Chatflow
) -> None:
    server.script(["503"] * 3 + ["ok"])
    client = make(batch_size=50, max_backoff=0.2)

    fire(flow, 50)
    assert client.flush(10.0) is True

    assert [r.outcome for r in server.bodies] == ["503", "503", "503", "ok"]
    assert server.raw_event_count == 50
    assert server.unique_uuid_count == 50
    assert client.stats == TelemetryStats(enqueued=50, delivered=50, dropped=0, failed=0, queued=0)


def test_503_burst_across_many_batches_keeps_every_uuid_once(
    make: Make, server: FakePostHog, flow: Chatflow
) -> None:
    server.script(["503", "502", "ok", "503", "ok", "500", "500", "ok"])
    client = make(batch_size=20, max_backoff=0.1)

    fire(flow, 200)
    assert client.flush(10.0) is True

    assert server.raw_event_count == server.unique_uuid_count == 200
    assert client.stats.delivered == 200
    assert client.stats.failed == 0


def test_lost_answers_are_resent_with_the_same_uuids(
    make: Make, server: FakePostHog, flow: Chatflow
) -> None:
    server.script(["lost", "drop", "ok"])
    client = make(batch_size=100, max_backoff=0.1)

    fire(flow, 30)
    assert client.flush(10.0) is True

    assert server.raw_event_count == 60  # the lost batch arrived twice...
    assert server.unique_uuid_count == 30  # ...with the same uuids, so a backend dedupes it
    assert client.stats.delivered == 30


def test_429_retry_after_is_honoured(make: Make, server: FakePostHog, flow: Chatflow) -> None:
    server.script(["429:1", "ok"])
    client = make(max_backoff=0.05)

    started = time.monotonic()
    fire(flow, 5)
    assert client.flush(10.0) is True
    elapsed = time.monotonic() - started

    assert [r.outcome for r in server.bodies] == ["429", "ok"]
    assert elapsed >= 0.95
    assert elapsed < 5.0
    assert server.unique_uuid_count == server.raw_event_count == 5


def test_rejected_batch_is_not_retried_and_counted_failed(
    make: Make, server: FakePostHog, flow: Chatflow
) -> None:
    server.script(["400"])
    client = make(batch_size=10)

    fire(flow, 10)
    assert client.flush(5.0) is False
    fire(flow, 2)
    assert client.flush(5.0) is True

    assert [r.outcome for r in server.bodies] == ["400", "ok"]
    assert client.stats == TelemetryStats(enqueued=12, delivered=2, dropped=0, failed=10, queued=0)


def test_server_down_then_up_delivers_everything(
    flowkit_home: Path, tmp_path: Path, flow: Chatflow
) -> None:
    server = FakePostHog(api_key=API_KEY).start()
    port = server.port
    server.stop()  # the port is closed: connections are refused
    settings = TelemetrySettings(
        home=flowkit_home, posthog_api_key=API_KEY, posthog_host=f"http://127.0.0.1:{port}"
    )
    client = Telemetry(settings=settings, max_backoff=0.1).connect()
    try:
        fire(flow, 20)
        assert client.flush(0.5) is False

        with FakePostHog(port=port, api_key=API_KEY) as revived:
            assert client.flush(10.0) is True
            assert revived.unique_uuid_count == revived.raw_event_count == 20
    finally:
        client.shutdown(timeout=1.0)
