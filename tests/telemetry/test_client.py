"""The :class:`Telemetry` client: subscription, install, the background thread, flush,
overflow, failures, retries, stats, and the outbox between two clients."""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import flowkit.telemetry.client as client_module
from flowkit import signals
from flowkit.errors import DeliveryError
from flowkit.model import Assistant, Chatflow, ChatType
from flowkit.runtime import retrieval_demo_flow
from flowkit.telemetry import (
    MemorySink,
    Sink,
    Telemetry,
    TelemetryEvent,
    TelemetrySettings,
    TelemetryStats,
    install,
    installed,
)
from flowkit.workspace import Workspace
from telemetry.helpers import send_prediction

Make = Callable[..., Telemetry]
"""Builds a client for the test (shut down afterwards)."""
THREAD_NAME = "flowkit-telemetry"
LOGGER = "flowkit.telemetry"


# ---- helpers ----------------------------------------------------------------------------


class BlockingSink(MemorySink):
    """Holds every batch until :attr:`release` is set; :attr:`entered` says one arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def send(self, batch: Sequence[TelemetryEvent]) -> None:
        self.entered.set()
        if not self.release.wait(10):
            raise AssertionError("BlockingSink was never released")
        super().send(batch)


class FlakySink(MemorySink):
    """Raises ``errors`` in turn, then delivers; records when each try happened."""

    def __init__(self, *errors: Exception) -> None:
        super().__init__()
        self.errors = list(errors)
        self.tries: list[float] = []

    def send(self, batch: Sequence[TelemetryEvent]) -> None:
        self.tries.append(time.monotonic())
        if self.errors:
            raise self.errors.pop(0)
        super().send(batch)


class DownSink:
    """Never delivers: a destination that is down for as long as the test lasts."""

    def __init__(self) -> None:
        self.tries = 0

    def send(self, batch: Sequence[TelemetryEvent]) -> None:
        self.tries += 1
        raise DeliveryError("destination down", retryable=True)

    def close(self) -> None:
        pass


class SlowSink(MemorySink):
    """Delivers, taking ``delay`` seconds per batch."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def send(self, batch: Sequence[TelemetryEvent]) -> None:
        time.sleep(self.delay)
        super().send(batch)


def telemetry_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == THREAD_NAME and t.is_alive()}


def chat_ids(events: Sequence[TelemetryEvent]) -> list[str]:
    return [str(e.properties["chatId"]) for e in events]


@pytest.fixture
def flow() -> Chatflow:
    return retrieval_demo_flow("Paris is the capital of France.")


@pytest.fixture
def settings(flowkit_home: Path) -> TelemetrySettings:
    return TelemetrySettings(home=flowkit_home)


@pytest.fixture
def make(settings: TelemetrySettings) -> Iterator[Make]:
    """Build clients with the test's settings; each is shut down (and disconnected) after."""
    made: list[Telemetry] = []

    def build(sink: Sink | None = None, **options: Any) -> Telemetry:
        client = Telemetry(sink, settings, **options)
        made.append(client)
        return client

    yield build
    for client in made:
        client.shutdown(timeout=1.0)


@pytest.fixture
def reset_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, real_telemetry: None
) -> Iterator[None]:
    """A process with nothing installed yet, in a working directory with no ``.env``, where
    the pytest plugin lets ``install()`` deliver for real."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(client_module, "_installed", None)
    yield
    made = client_module._installed
    if made is not None:
        made.shutdown(timeout=1.0)


# ---- subscription -------------------------------------------------------------------------


def test_connect_subscribes_and_disconnect_unsubscribes(make: Make, flow: Chatflow) -> None:
    sink = MemorySink()
    client = make(sink, synchronous=True)

    send_prediction(flow, "before")
    client.connect()
    send_prediction(flow, "during")
    client.disconnect()
    send_prediction(flow, "after")

    assert chat_ids(sink.events) == ["during"]
    assert not client.connected


def test_with_block_connects_then_disconnects(make: Make, flow: Chatflow) -> None:
    sink = MemorySink()
    client = make(sink, synchronous=True)

    with client as entered:
        assert entered is client
        assert client.connected
        send_prediction(flow, "inside")
    send_prediction(flow, "outside")

    assert chat_ids(sink.events) == ["inside"]
    assert not client.connected


def test_connect_twice_subscribes_once(make: Make, flow: Chatflow) -> None:
    sink = MemorySink()
    client = make(sink, synchronous=True)

    client.connect()
    client.connect()
    send_prediction(flow)

    assert len(sink.events) == 1


def test_connect_holds_receivers_strongly(make: Make, flow: Chatflow) -> None:
    sink = MemorySink()
    make(sink, synchronous=True).connect()
    gc.collect()

    send_prediction(flow)

    assert len(sink.events) == 1


def test_two_clients_each_get_every_event(make: Make, flow: Chatflow) -> None:
    first, second = MemorySink(), MemorySink()
    make(first, synchronous=True).connect()
    make(second, synchronous=True).connect()

    send_prediction(flow)

    assert len(first.events) == len(second.events) == 1
    assert first.events[0].uuid != second.events[0].uuid


# ---- install ------------------------------------------------------------------------------


@pytest.mark.usefixtures("reset_install")
def test_install_returns_the_same_connected_client_every_time() -> None:
    first = install()
    second = install(max_queue_size=1)

    assert first is second
    assert installed() is first
    assert first.enabled
    assert first.connected


@pytest.mark.usefixtures("reset_install")
def test_install_records_to_the_home_jsonl_file(flowkit_home: Path, flow: Chatflow) -> None:
    client = install()

    Workspace(strict_signals=True).create_chatflow(flow)
    assert client.flush(5.0)

    lines = (flowkit_home / "telemetry.jsonl").read_text().splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["chatflow_created"]


@pytest.mark.usefixtures("reset_install")
def test_install_when_opted_out_is_a_disabled_no_op(
    monkeypatch: pytest.MonkeyPatch, flowkit_home: Path, flow: Chatflow
) -> None:
    monkeypatch.setenv("DISABLE_FLOWISE_TELEMETRY", "true")
    threads = telemetry_threads()

    client = install()
    Workspace(strict_signals=True).create_chatflow(flow)

    assert client is install()
    assert not client.enabled
    assert not client.connected
    assert client.stats == TelemetryStats()
    assert telemetry_threads() <= threads
    assert list(flowkit_home.iterdir()) == []


def test_installed_is_none_before_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "_installed", None)

    assert installed() is None


# ---- the background thread ----------------------------------------------------------------


def test_no_thread_until_the_first_event(make: Make, flow: Chatflow) -> None:
    before = telemetry_threads()
    client = make(MemorySink())
    client.connect()

    assert telemetry_threads() == before

    send_prediction(flow)

    assert len(telemetry_threads() - before) == 1
    assert client.flush(5.0)


def test_synchronous_client_never_starts_a_thread(make: Make, flow: Chatflow) -> None:
    before = telemetry_threads()
    sink = MemorySink()
    make(sink, synchronous=True).connect()

    for i in range(10):
        send_prediction(flow, f"chat-{i}")

    assert telemetry_threads() == before
    assert len(sink.events) == 10


def test_flush_returns_true_once_everything_is_delivered(make: Make, flow: Chatflow) -> None:
    sink = SlowSink(0.01)
    client = make(sink, batch_size=7).connect()
    for i in range(100):
        send_prediction(flow, f"chat-{i}")

    assert client.flush(5.0) is True

    assert chat_ids(sink.events) == [f"chat-{i}" for i in range(100)]
    assert client.stats == TelemetryStats(
        enqueued=100, delivered=100, dropped=0, failed=0, queued=0
    )


def test_flush_times_out_with_false_while_the_sink_is_stuck(make: Make, flow: Chatflow) -> None:
    sink = BlockingSink()
    client = make(sink).connect()
    send_prediction(flow)

    started = time.monotonic()
    assert client.flush(0.2) is False
    assert time.monotonic() - started < 5.0  # the sink never returns: unbounded if wrong

    sink.release.set()
    assert client.flush(5.0) is True


def test_events_are_sent_after_the_flush_interval_without_flush(make: Make, flow: Chatflow) -> None:
    sink = MemorySink()
    make(sink, flush_interval=0.05).connect()

    send_prediction(flow)

    deadline = time.monotonic() + 5.0
    while not sink.events and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(sink.events) == 1


def test_caller_is_never_blocked_by_a_stuck_sink(make: Make, flow: Chatflow) -> None:
    sink = BlockingSink()
    client = make(sink, batch_size=1).connect()
    send_prediction(flow, "first")
    assert sink.entered.wait(5.0)

    started = time.monotonic()
    for i in range(1000):
        send_prediction(flow, f"chat-{i}")
    elapsed = time.monotonic() - started

    sink.release.set()
    assert elapsed < 10.0  # blocked callers would wait for the release, i.e. forever
    assert client.flush(10.0)


# ---- overflow -----------------------------------------------------------------------------


def test_overflow_is_dropped_and_counted_exactly_with_one_warning(
    make: Make, flow: Chatflow, caplog: pytest.LogCaptureFixture
) -> None:
    sink = BlockingSink()
    client = make(sink, max_queue_size=10, batch_size=1).connect()
    send_prediction(flow, "chat-0")
    assert sink.entered.wait(5.0)  # chat-0 is in the sink: the queue is empty and stuck

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for i in range(1, 50):
            send_prediction(flow, f"chat-{i}")

    assert client.stats.dropped == 39  # 49 more events, room for 10
    assert client.stats.enqueued == 11
    warnings = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "full" in warnings[0].getMessage()

    sink.release.set()
    assert client.flush(5.0) is True
    stats = client.stats
    assert stats.delivered == 11
    assert stats.delivered + stats.dropped == 50
    assert chat_ids(sink.events) == [f"chat-{i}" for i in range(11)]


def test_default_queue_holds_a_100000_event_burst_without_dropping(
    make: Make, flow: Chatflow
) -> None:
    sink = BlockingSink()
    client = make(sink).connect()

    for i in range(100_000):
        send_prediction(flow, f"chat-{i}")

    assert client.stats.dropped == 0
    assert client.stats.enqueued == 100_000
    sink.release.set()
    assert client.flush(20.0)
    assert client.stats.delivered == 100_000


# ---- failures -----------------------------------------------------------------------------


def test_sink_refusing_for_good_counts_failed_and_never_raises(
    make: Make, flow: Chatflow, caplog: pytest.LogCaptureFixture
) -> None:
    sink = FlakySink(DeliveryError("rejected", retryable=False))
    client = make(sink, batch_size=3).connect()

    for i in range(3):
        send_prediction(flow, f"chat-{i}")  # one batch: refused
    assert client.flush(5.0) is False
    send_prediction(flow, "chat-3")  # the next batch goes through
    assert client.flush(5.0) is True

    assert client.stats == TelemetryStats(enqueued=4, delivered=1, dropped=0, failed=3, queued=0)
    assert len(sink.tries) == 2
    assert chat_ids(sink.events) == ["chat-3"]
    assert any("refused for good" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(RuntimeError("sink bug"), id="runtime-error"),
        pytest.param(ConnectionError("reset"), id="connection-error"),
        pytest.param(OSError("disk full"), id="os-error"),
    ],
)
def test_sink_raising_its_own_exception_is_retried_until_it_delivers(
    make: Make, flow: Chatflow, error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    sink = FlakySink(error, error)
    client = make(sink, batch_size=1, max_backoff=0.05).connect()

    send_prediction(flow, "chat-0")

    assert client.flush(5.0) is True
    assert len(sink.tries) == 3
    assert chat_ids(sink.events) == ["chat-0"]
    assert client.stats.failed == 0
    assert any("retrying" in r.getMessage() for r in caplog.records)


def test_connect_sends_an_earlier_outbox_without_waiting_for_an_event(
    make: Make, settings: TelemetrySettings
) -> None:
    down = DownSink()
    first = make(down, max_backoff=0.05, exit_timeout=0.2).connect()
    send_prediction(retrieval_demo_flow("x"), "left-behind")
    first.shutdown(timeout=0.2)
    assert settings.outbox_path.exists()

    sink = MemorySink()
    second = make(sink).connect()  # no event of its own

    assert second.flush(5.0) is True
    deadline = time.monotonic() + 5
    while not sink.events and time.monotonic() < deadline:
        time.sleep(0.01)
    assert chat_ids(sink.events) == ["left-behind"]
    assert not settings.outbox_path.exists()


def test_synchronous_sink_failure_never_raises(make: Make, flow: Chatflow) -> None:
    sink = FlakySink(DeliveryError("down", retryable=True))
    client = make(sink, synchronous=True).connect()

    send_prediction(flow, "lost")
    send_prediction(flow, "kept")

    assert client.stats.failed == 1
    assert client.stats.delivered == 1


def test_receiver_error_is_logged_not_raised(make: Make, caplog: pytest.LogCaptureFixture) -> None:
    sink = MemorySink()
    client = make(sink, synchronous=True).connect()

    with caplog.at_level(logging.ERROR, logger=LOGGER):
        # blinker's own send propagates receiver exceptions: nothing must come out
        signals.prediction_sent.send(
            "not a chatflow", chat_id="c", chat_type=ChatType.EXTERNAL, question="q"
        )
        signals.vector_upserted.send(object(), chat_type=ChatType.INTERNAL)
        signals.chatflow_created.send(None)
        signals.tool_created.send(42)
        signals.assistant_created.send(object())

    assert sink.events == []
    assert client.stats.enqueued == 0
    logged = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.ERROR]
    assert len(logged) == 5
    assert "prediction_sent" in logged[0].getMessage()


def test_unknown_stop_node_is_logged_not_raised(
    make: Make, flow: Chatflow, caplog: pytest.LogCaptureFixture
) -> None:
    sink = MemorySink()
    make(sink, synchronous=True).connect()

    signals.vector_upserted.send(flow, stop_node_id="ghost_3", chat_type=ChatType.INTERNAL)

    assert sink.events == []
    assert any("vector_upserted" in r.getMessage() for r in caplog.records)


def test_invalid_event_fails_alone_not_its_whole_batch(
    make: Make, flow: Chatflow, caplog: pytest.LogCaptureFixture
) -> None:
    sink = MemorySink()
    client = make(sink, batch_size=500).connect()

    send_prediction(flow, "chat-0")
    signals.send(  # another program's sender, with a chat id that is not a string
        signals.prediction_sent, flow, chat_id=12345, chat_type=ChatType.EXTERNAL
    )
    signals.send(signals.prediction_sent, flow, chat_id="chat-2", chat_type="SIDEWAYS")
    send_prediction(flow, "chat-3")

    assert client.flush(5.0) is False  # two of them could not be delivered
    assert chat_ids(sink.events) == ["chat-0", "chat-3"]
    assert client.stats == TelemetryStats(enqueued=4, delivered=2, dropped=0, failed=2, queued=0)
    [warning] = [r.getMessage() for r in caplog.records if "invalid" in r.getMessage()]
    assert "2 invalid telemetry events" in warning
    assert "prediction_sent" in warning
    assert "12345" not in warning  # fields are named, their values never logged


def test_nothing_is_printed_to_stdout(
    make: Make, flow: Chatflow, capsys: pytest.CaptureFixture[str]
) -> None:
    working = make(MemorySink()).connect()
    failing = make(FlakySink(DeliveryError("no", retryable=False))).connect()
    stuck = BlockingSink()
    full = make(stuck, max_queue_size=1).connect()

    workspace = Workspace()
    workspace.create_chatflow(flow)
    workspace.upsert_vector(flow)
    workspace.predict(flow, "Paris?")
    for i in range(5):
        send_prediction(flow, f"chat-{i}")
    signals.prediction_sent.send("not a chatflow", chat_id="c", chat_type="EXTERNAL")
    working.flush(2.0)
    failing.flush(2.0)
    stuck.release.set()
    full.shutdown(1.0)

    assert capsys.readouterr().out == ""


# ---- retries ------------------------------------------------------------------------------


def test_retryable_error_is_retried_until_delivered(make: Make, flow: Chatflow) -> None:
    sink = FlakySink(DeliveryError("503", retryable=True), DeliveryError("503", retryable=True))
    client = make(sink, max_backoff=0.05).connect()

    send_prediction(flow)

    assert client.flush(5.0) is True
    assert len(sink.tries) == 3
    assert len(sink.events) == 1
    assert client.stats == TelemetryStats(enqueued=1, delivered=1, dropped=0, failed=0, queued=0)


def test_retry_after_is_honoured(make: Make, flow: Chatflow) -> None:
    sink = FlakySink(
        DeliveryError("429", retryable=True, retry_after=0.3),
        DeliveryError("429", retryable=True, retry_after=0.3),
    )
    client = make(sink, max_backoff=0.01).connect()

    send_prediction(flow)

    assert client.flush(5.0) is True
    assert len(sink.tries) == 3
    gaps = [later - earlier for earlier, later in zip(sink.tries, sink.tries[1:], strict=False)]
    assert all(gap >= 0.28 for gap in gaps), gaps
    assert len(sink.events) == 1


def test_backoff_without_retry_after_stays_under_max_backoff(make: Make, flow: Chatflow) -> None:
    sink = FlakySink(*(DeliveryError("down", retryable=True) for _ in range(8)))
    client = make(sink, max_backoff=0.05).connect()

    send_prediction(flow)

    assert client.flush(5.0) is True
    gaps = [later - earlier for earlier, later in zip(sink.tries, sink.tries[1:], strict=False)]
    assert len(gaps) == 8
    assert max(gaps) < 0.5, gaps


# ---- stats --------------------------------------------------------------------------------


def test_stats_is_a_frozen_dataclass_of_ints(make: Make, flow: Chatflow) -> None:
    client = make(MemorySink(), synchronous=True).connect()
    send_prediction(flow)

    stats = client.stats

    assert [f.name for f in dataclasses.fields(stats)] == [
        "enqueued",
        "delivered",
        "dropped",
        "failed",
        "queued",
        "outboxed",
        "outbox_dropped",
        "skipped",
    ]
    assert all(type(getattr(stats, f.name)) is int for f in dataclasses.fields(stats))
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.delivered = 0  # type: ignore[misc]
    assert stats == TelemetryStats(enqueued=1, delivered=1, dropped=0, failed=0, queued=0)


def test_stats_count_what_is_still_queued(make: Make, flow: Chatflow) -> None:
    sink = BlockingSink()
    client = make(sink, batch_size=2).connect()

    for i in range(5):
        send_prediction(flow, f"chat-{i}")
    assert sink.entered.wait(5.0)

    assert client.stats.enqueued == 5
    assert client.stats.queued == 5
    assert client.stats.delivered == 0
    sink.release.set()
    assert client.flush(5.0)
    assert client.stats.queued == 0


def test_disabled_client_has_zero_stats_and_flushes_true(flowkit_home: Path) -> None:
    client = Telemetry(
        sink=MemorySink(), settings=TelemetrySettings(home=flowkit_home, enabled=False)
    )

    assert client.stats == TelemetryStats(0, 0, 0, 0, 0)
    assert client.flush(0.1) is True
    client.shutdown()


# ---- shutdown and the outbox --------------------------------------------------------------


def left_for_the_next_process(home: Path) -> list[dict[str, Any]]:
    """Every event the next process would send: the outbox, and each released claim from
    the position its sender had reached."""
    kept = []
    for path in sorted(home.glob("outbox.jsonl*")):
        if path.name.endswith((".pos", ".tmp")):
            continue
        position = path.with_name(path.name + ".pos")
        start = int(position.read_text()) if position.exists() else 0
        kept += [json.loads(line) for line in path.read_bytes()[start:].splitlines()]
    return kept


def fire(flow: Chatflow, prefix: str, count: int) -> None:
    for i in range(count):
        send_prediction(flow, f"{prefix}-{i}")


def test_shutdown_keeps_what_could_not_be_delivered_in_the_outbox(
    make: Make, flow: Chatflow, flowkit_home: Path
) -> None:
    client = make(DownSink(), batch_size=10, max_backoff=0.05).connect()
    fire(flow, "old", 25)

    client.shutdown(timeout=0.3)

    lines = (flowkit_home / "outbox.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert sorted(e["properties"]["chatId"] for e in events) == sorted(
        f"old-{i}" for i in range(25)
    )
    assert len({e["uuid"] for e in events}) == 25
    assert all(
        list(e) == ["event", "distinctId", "properties", "timestamp", "uuid"] for e in events
    )


def test_shutdown_is_bounded_by_its_timeout(make: Make, flow: Chatflow) -> None:
    client = make(DownSink(), max_backoff=0.05).connect()
    fire(flow, "old", 5)

    started = time.monotonic()
    client.shutdown(timeout=0.3)

    assert time.monotonic() - started < 5.0  # the sink is down for good: unbounded if wrong


def test_next_client_sends_the_outbox_first_and_once(
    make: Make, flow: Chatflow, flowkit_home: Path
) -> None:
    down = make(DownSink(), batch_size=10, max_backoff=0.05).connect()
    fire(flow, "old", 25)
    down.shutdown(timeout=0.3)
    saved = [json.loads(line) for line in (flowkit_home / "outbox.jsonl").read_text().splitlines()]

    sink = MemorySink()
    up = make(sink, batch_size=10).connect()
    fire(flow, "new", 3)
    assert up.flush(5.0) is True

    assert [e.uuid for e in sink.events[:25]] == [e["uuid"] for e in saved]
    assert [e.to_wire() for e in sink.events[:25]] == saved
    assert chat_ids(sink.events[25:]) == ["new-0", "new-1", "new-2"]
    assert len({e.uuid for e in sink.events}) == 28
    assert sorted(p.name for p in flowkit_home.iterdir()) == ["settings.json"]


def test_flush_waits_for_new_events_not_just_the_outbox(
    make: Make, flow: Chatflow, flowkit_home: Path
) -> None:
    down = make(DownSink(), batch_size=10, max_backoff=0.05).connect()
    fire(flow, "old", 100)
    down.shutdown(timeout=0.3)

    sink = SlowSink(0.02)
    up = make(sink, batch_size=10).connect()
    send_prediction(flow, "new")

    assert up.flush(5.0) is True
    assert "new" in chat_ids(sink.events)
    assert len(sink.events) == 101
    assert up.stats.enqueued == 1
    assert up.stats.queued == 0


def test_outbox_interrupted_by_shutdown_is_kept_without_duplicates(
    make: Make, flow: Chatflow, flowkit_home: Path
) -> None:
    down = make(DownSink(), batch_size=10, max_backoff=0.05).connect()
    fire(flow, "old", 100)
    down.shutdown(timeout=0.3)

    sink = SlowSink(0.05)
    up = make(sink, batch_size=10).connect()
    send_prediction(flow, "new")  # starts the thread, which sends the outbox first
    time.sleep(0.12)
    up.shutdown(timeout=0.0)

    kept = left_for_the_next_process(flowkit_home)
    delivered = {e.uuid for e in sink.events}
    assert delivered.isdisjoint(e["uuid"] for e in kept)
    assert len(delivered) + len(kept) == 101
    assert "new" in [e["properties"]["chatId"] for e in kept] + chat_ids(sink.events)


def test_events_after_shutdown_are_not_delivered(make: Make, flow: Chatflow) -> None:
    sink = MemorySink()
    client = make(sink).connect()
    send_prediction(flow, "before")
    client.shutdown(timeout=5.0)

    send_prediction(flow, "after")

    assert chat_ids(sink.events) == ["before"]
    assert not client.connected


def test_assistant_event_goes_through_the_thread(make: Make) -> None:
    sink = MemorySink()
    client = make(sink).connect()

    assistant = Workspace().create_assistant(Assistant())

    assert client.flush(5.0)
    assert sink.events[0].properties == {"version": client.version, "assistantId": assistant.id}
