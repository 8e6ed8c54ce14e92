"""The sinks against real files and a real (fake) PostHog server on 127.0.0.1."""

from __future__ import annotations

import gzip
import json
import logging
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowkit.errors import DeliveryError, FlowkitError
from flowkit.telemetry.envelope import TelemetryEvent
from flowkit.telemetry.sinks import JsonlSink, LoggingSink, MemorySink, PostHogSink, Sink

try:
    from fake_posthog import FakePostHog  # tests/ is on sys.path (no tests/__init__.py)
except ImportError:  # pragma: no cover - tests/ became a package
    from tests.fake_posthog import FakePostHog

FAKE_SERVER_SCRIPT = Path(__file__).resolve().parents[1] / "fake_posthog.py"
API_KEY = "phc_s3cret_key_never_logged_42"
GRAPH = {
    "nodes": ["textFile_0", "faiss_0", "conversationalRetrievalQAChain_0"],
    "edges": [
        {"source": "textFile_0", "target": "faiss_0"},
        {"source": "faiss_0", "target": "conversationalRetrievalQAChain_0"},
    ],
}


def make_event(chatflow_id: str = "cf-1", **extra: Any) -> TelemetryEvent:
    return TelemetryEvent(
        event="prediction_sent",
        distinct_id="instance-7",
        properties={
            "version": "0.1.0",
            "chatlowId": chatflow_id,
            "chatId": str(uuid4()),
            "type": "EXTERNAL",
            "flowGraph": GRAPH,
            **extra,
        },
        timestamp=datetime.now(UTC),
        uuid=str(uuid4()),
    )


def make_batch(n: int = 3) -> list[TelemetryEvent]:
    return [make_event(f"cf-{i}") for i in range(n)]


@pytest.fixture
def server() -> Iterator[FakePostHog]:
    with FakePostHog() as fake:
        yield fake


@pytest.fixture
def sink(server: FakePostHog) -> Iterator[PostHogSink]:
    posthog = PostHogSink(API_KEY, server.url, timeout=2.0)
    yield posthog
    posthog.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- MemorySink, JsonlSink, LoggingSink ------------------------------------------------


def test_every_sink_satisfies_the_sink_protocol(tmp_path: Path) -> None:
    sinks = [MemorySink(), JsonlSink(tmp_path / "e.jsonl"), LoggingSink(), PostHogSink("k")]
    assert all(isinstance(s, Sink) for s in sinks)


def test_memory_sink_keeps_delivery_order() -> None:
    first, second = make_batch(3), make_batch(2)
    sink = MemorySink()

    sink.send(first)
    sink.send(second)

    assert sink.events == first + second


def test_memory_sink_clear_forgets_events() -> None:
    sink = MemorySink()
    sink.send(make_batch(2))

    sink.clear()

    assert sink.events == []


def test_jsonl_sink_appends_one_wire_line_per_event(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    first, second = make_batch(2), make_batch(3)
    sink = JsonlSink(path)

    sink.send(first)
    sink.send(second)

    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [e.to_wire() for e in first + second]


def test_jsonl_sink_creates_parent_folders_on_first_send_only(tmp_path: Path) -> None:
    path = tmp_path / "home" / "telemetry" / "events.jsonl"

    sink = JsonlSink(path)
    assert not path.parent.exists()
    sink.send(make_batch(1))

    assert len(path.read_text(encoding="utf-8").splitlines()) == 1


def test_jsonl_sink_unwritable_path_raises_retryable_delivery_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where a folder should be")
    sink = JsonlSink(blocker / "events.jsonl")

    with pytest.raises(DeliveryError) as caught:
        sink.send(make_batch(1))

    assert caught.value.retryable
    assert "not_a_folder" in str(caught.value)


def test_jsonl_sink_concurrent_batches_never_tear_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    sink = JsonlSink(path)
    big = {"nodes": [f"node_{i}" for i in range(400)], "edges": []}
    batches = [[make_event(flowGraph=big) for _ in range(10)] for _ in range(40)]

    threads = [threading.Thread(target=sink.send, args=(b,)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    received = [json.loads(line)["uuid"] for line in path.read_text("utf-8").splitlines()]
    assert sorted(received) == sorted(e.uuid for b in batches for e in b)


@settings(max_examples=40, deadline=None)
@given(text=st.text())
def test_jsonl_sink_writes_any_text_as_valid_json(text: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.jsonl"
        event = make_event(chatId=text)

        JsonlSink(path).send([event])

        assert json.loads(path.read_bytes().decode("utf-8")) == event.to_wire()


def test_logging_sink_logs_each_event_wire_json(caplog: pytest.LogCaptureFixture) -> None:
    batch = make_batch(2)
    caplog.set_level(logging.INFO, logger="flowkit.telemetry.events")

    LoggingSink().send(batch)

    records = [r for r in caplog.records if r.name == "flowkit.telemetry.events"]
    assert [json.loads(r.getMessage()) for r in records] == [e.to_wire() for e in batch]
    assert {r.levelno for r in records} == {logging.INFO}


def test_logging_sink_uses_the_given_logger_and_level(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("myapp.telemetry")
    caplog.set_level(logging.DEBUG, logger="myapp.telemetry")

    LoggingSink(logger, logging.DEBUG).send(make_batch(1))

    assert [(r.name, r.levelno) for r in caplog.records] == [("myapp.telemetry", logging.DEBUG)]


# -- PostHogSink: what goes over the wire ------------------------------------------------


def test_posthog_sink_posts_the_documented_batch_body(
    server: FakePostHog, sink: PostHogSink
) -> None:
    batch = make_batch(3)

    sink.send(batch)

    [request] = server.bodies
    assert request.path == "/batch/"
    assert list(request.payload) == ["api_key", "batch"]
    assert request.payload["api_key"] == API_KEY
    entries = request.payload["batch"]
    assert [list(entry) for entry in entries] == [
        ["event", "distinct_id", "properties", "timestamp", "uuid"]
    ] * 3
    assert entries == [e.to_posthog() for e in batch]
    assert [entry["properties"] for entry in entries] == [dict(e.properties) for e in batch]
    assert server.uuids() == [e.uuid for e in batch]


def test_posthog_sink_gzips_the_body_and_names_itself(
    server: FakePostHog, sink: PostHogSink
) -> None:
    sink.send(make_batch(2))

    [request] = server.bodies
    assert request.gzipped
    assert request.headers["Content-Encoding"] == "gzip"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("flowkit/")
    assert request.raw[:2] == b"\x1f\x8b"
    assert json.loads(gzip.decompress(request.raw)) == request.payload


def test_posthog_sink_reuses_one_connection_across_batches(
    server: FakePostHog, sink: PostHogSink
) -> None:
    for _ in range(5):
        sink.send(make_batch(2))

    assert server.requests == 5
    assert server.connection_count == 1


def test_posthog_sink_concurrent_sends_stay_within_pool_maxsize(server: FakePostHog) -> None:
    sink = PostHogSink(API_KEY, server.url, timeout=2.0, pool_maxsize=2)
    errors: list[BaseException] = []

    def send_many() -> None:
        try:
            for _ in range(5):
                sink.send(make_batch(2))
        except BaseException as exc:  # collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=send_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    sink.close()

    assert errors == []
    assert server.unique_uuid_count == 40
    assert server.connection_count <= 2


def test_posthog_sink_close_then_send_opens_a_new_pool(
    server: FakePostHog, sink: PostHogSink
) -> None:
    sink.send(make_batch(1))
    sink.close()
    sink.send(make_batch(1))

    assert server.raw_event_count == 2
    assert server.connection_count == 2


def test_posthog_sink_empty_batch_sends_nothing(server: FakePostHog, sink: PostHogSink) -> None:
    sink.send([])

    assert server.requests == 0


def test_posthog_sink_sends_lone_surrogates_as_valid_json(
    server: FakePostHog, sink: PostHogSink
) -> None:
    event = make_event(chatId="name-\udcff-from-a-bad-filename")

    sink.send([event])

    assert server.events[0]["properties"]["chatId"] == "name-\udcff-from-a-bad-filename"


def test_posthog_sink_delivers_any_property_text() -> None:
    with FakePostHog() as server:
        sink = PostHogSink(API_KEY, server.url, timeout=2.0)

        @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(text=st.text())
        def check(text: str) -> None:
            event = make_event(chatId=text)
            sink.send([event])
            assert server.events[-1] == event.to_posthog()

        check()
        sink.close()


# -- PostHogSink: failures become DeliveryError ------------------------------------------


def test_posthog_sink_503_is_retryable_and_records_nothing(
    server: FakePostHog, sink: PostHogSink
) -> None:
    server.script(["503"])

    with pytest.raises(DeliveryError) as caught:
        sink.send(make_batch(2))

    assert caught.value.retryable
    assert caught.value.retry_after is None
    assert "503" in str(caught.value)
    assert server.raw_event_count == 0


def test_posthog_sink_429_carries_retry_after_seconds(
    server: FakePostHog, sink: PostHogSink
) -> None:
    server.script(["429:3"])

    with pytest.raises(DeliveryError) as caught:
        sink.send(make_batch(1))

    assert caught.value.retryable
    assert caught.value.retry_after == 3.0


def test_posthog_sink_retry_after_as_http_date(server: FakePostHog, sink: PostHogSink) -> None:
    server.script([f"503:{format_datetime(datetime.now(UTC) + timedelta(seconds=30), True)}"])

    with pytest.raises(DeliveryError) as caught:
        sink.send(make_batch(1))

    assert caught.value.retry_after is not None
    assert 25 <= caught.value.retry_after <= 31


@pytest.mark.parametrize("status", ["408", "500", "502", "504", "301", "302", "307"])
def test_posthog_sink_server_trouble_is_retryable(
    server: FakePostHog, sink: PostHogSink, status: str
) -> None:
    server.script([status])

    with pytest.raises(DeliveryError) as caught:
        sink.send(make_batch(1))

    assert caught.value.retryable


@pytest.mark.parametrize("status", ["400", "401", "403", "413"])
def test_posthog_sink_rejected_batch_is_not_retryable(
    server: FakePostHog, sink: PostHogSink, status: str
) -> None:
    server.script([status])

    with pytest.raises(DeliveryError) as caught:
        sink.send(make_batch(1))

    assert not caught.value.retryable
    assert status in str(caught.value)


def test_posthog_sink_wrong_api_key_is_not_retryable() -> None:
    with FakePostHog(api_key="phc_the_right_one") as server:
        sink = PostHogSink(API_KEY, server.url, timeout=2.0)

        with pytest.raises(DeliveryError) as caught:
            sink.send(make_batch(1))

    assert not caught.value.retryable
    assert "api key" in str(caught.value)


def test_posthog_sink_recovers_after_a_transient_fault(
    server: FakePostHog, sink: PostHogSink
) -> None:
    batch = make_batch(2)
    server.script(["503"])

    with pytest.raises(DeliveryError):
        sink.send(batch)
    sink.send(batch)

    assert server.uuids() == [e.uuid for e in batch]


def test_posthog_sink_connection_refused_is_retryable() -> None:
    sink = PostHogSink(API_KEY, f"http://127.0.0.1:{closed_port()}", timeout=2.0)

    with pytest.raises(DeliveryError) as caught:
        sink.send(make_batch(1))

    assert caught.value.retryable


def test_posthog_sink_dropped_connection_is_retryable(
    server: FakePostHog, sink: PostHogSink
) -> None:
    server.script(["drop"])

    with pytest.raises(DeliveryError) as caught:
        sink.send(make_batch(1))

    assert caught.value.retryable
    assert server.raw_event_count == 0


def test_posthog_sink_stall_past_timeout_is_retryable(server: FakePostHog) -> None:
    sink = PostHogSink(API_KEY, server.url, timeout=0.2)
    server.script(["stall:6"])
    started = time.monotonic()

    with pytest.raises(DeliveryError) as caught:
        sink.send(make_batch(1))

    assert caught.value.retryable
    assert time.monotonic() - started < 3.0  # the stall is 6 s
    sink.close()


def test_posthog_sink_stopped_server_is_retryable() -> None:
    server = FakePostHog().start()
    sink = PostHogSink(API_KEY, server.url, timeout=2.0)
    sink.send(make_batch(1))

    server.stop()
    with pytest.raises(DeliveryError) as caught:
        sink.send(make_batch(1))

    assert caught.value.retryable
    sink.close()


def test_lost_answer_makes_a_duplicate_that_uuids_dedupe(
    server: FakePostHog, sink: PostHogSink
) -> None:
    batch = make_batch(3)
    server.script(["lost"])

    with pytest.raises(DeliveryError):
        sink.send(batch)
    sink.send(batch)

    assert server.raw_event_count == 6
    assert server.unique_uuid_count == 3


def test_posthog_sink_never_logs_or_shows_the_api_key(
    caplog: pytest.LogCaptureFixture, server: FakePostHog
) -> None:
    caplog.set_level(logging.DEBUG)
    sink = PostHogSink(API_KEY, server.url, timeout=0.3)
    refused = PostHogSink(API_KEY, f"http://127.0.0.1:{closed_port()}", timeout=0.3)
    server.script(["ok", "503", "400", "drop", "stall:1"])
    errors = []

    for target in [sink] * 5 + [refused]:
        try:
            target.send(make_batch(1))
        except DeliveryError as exc:
            errors.append(exc)
    sink.close()

    assert len(errors) == 5
    assert caplog.records  # urllib3's debug records were captured too
    shown = [r.getMessage() for r in caplog.records] + [str(e) for e in errors] + [repr(sink)]
    shown += [str(e.__cause__) for e in errors if e.__cause__ is not None]
    assert not [text for text in shown if API_KEY in text]


def test_posthog_sink_without_urllib3_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "urllib3", None)

    with pytest.raises(FlowkitError, match=r"flowkit\[posthog\]"):
        PostHogSink(API_KEY)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"host": "us.i.posthog.com"},
        {"host": "https://"},
        {"timeout": 0},
        {"gzip_level": 10},
        {"pool_maxsize": 0},
    ],
)
def test_posthog_sink_rejects_bad_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(FlowkitError):
        PostHogSink(API_KEY, **kwargs)


@pytest.mark.parametrize("kind", ["jsonl", "logging", "posthog"])
def test_unserializable_event_is_a_non_retryable_delivery_error(
    kind: str, tmp_path: Path, server: FakePostHog, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="flowkit.telemetry.events")
    sinks: dict[str, Sink] = {
        "jsonl": JsonlSink(tmp_path / "events.jsonl"),
        "logging": LoggingSink(),
        "posthog": PostHogSink(API_KEY, server.url, timeout=2.0),
    }

    with pytest.raises(DeliveryError) as caught:
        sinks[kind].send([make_event(), make_event(extra=object())])

    assert not caught.value.retryable
    assert server.requests == 0
    assert not (tmp_path / "events.jsonl").exists()
    assert not caplog.records


# -- the fake server as a separate process ------------------------------------------------


def test_fake_server_process_mode_counts_events() -> None:
    proc = subprocess.Popen(
        [sys.executable, str(FAKE_SERVER_SCRIPT), "--port", "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdin is not None
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        assert ready, "fake server did not print READY within 10 s"
        line = proc.stdout.readline()
        assert line.startswith("READY http://127.0.0.1:")
        url = line.split()[1]
        batch = make_batch(25)

        sink = PostHogSink(API_KEY, url, timeout=2.0)
        sink.send(batch)
        sink.send(batch[:5])  # a resend: duplicates by uuid
        sink.close()

        deadline = time.monotonic() + 5
        stats: dict[str, int] = {}
        while time.monotonic() < deadline:
            with urllib.request.urlopen(url + "/stats", timeout=2) as response:
                stats = json.loads(response.read())
            if stats["events"] >= 30:
                break
            time.sleep(0.05)
        assert (stats["events"], stats["unique"], stats["requests"]) == (30, 25, 2)

        proc.stdin.close()  # closing stdin stops the server
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
