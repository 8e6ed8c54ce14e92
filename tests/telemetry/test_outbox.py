"""The outbox: nothing sent twice, nothing stuck, bad lines skipped, capped, streamed.

Claims are file locks (``flock``), so the tests use real processes: one killed with SIGKILL
while it replays, one holding a claim while another, whose pid checks cannot see it,
starts.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from flowkit.runtime import retrieval_demo_flow
from flowkit.telemetry import Telemetry, TelemetryEvent, TelemetrySettings
from flowkit.telemetry.envelope import encode_events
from flowkit.telemetry.outbox import Outbox
from telemetry.helpers import recorded_events, send_predictions

SLOW_REPLAY = """
import sys, time
from flowkit.telemetry import JsonlSink, Telemetry, TelemetrySettings

class SlowFile(JsonlSink):
    def send(self, batch):
        super().send(batch)
        time.sleep(float(sys.argv[2]))

telemetry = Telemetry(sink=SlowFile(sys.argv[1]), settings=TelemetrySettings.from_env(),
                      batch_size=100).connect()
print("started", flush=True)
telemetry.flush(120)
print("done", flush=True)
"""


class CountingSink:
    """Counts what it is sent and keeps only the uuids (no events held in memory)."""

    def __init__(self) -> None:
        self.uuids: list[str] = []

    def send(self, batch: Sequence[TelemetryEvent]) -> None:
        self.uuids.extend(event.uuid for event in batch)

    def close(self) -> None:
        pass


def wire_lines(count: int, home: Path, prefix: str = "old") -> list[str]:
    """``count`` real wire events, encoded as the outbox holds them."""
    return encode_events(recorded_events(count, home, prefix))


def fill_outbox(home: Path, count: int, prefix: str = "old") -> list[str]:
    """Write ``count`` events to the home's outbox; return their uuids."""
    lines = wire_lines(count, home, prefix)
    Outbox(home / "outbox.jsonl").append(lines)
    return [json.loads(line)["uuid"] for line in lines]


def client(home: Path, sink: object, **options: object) -> Telemetry:
    return Telemetry(sink=sink, settings=TelemetrySettings(home=home), **options).connect()  # type: ignore[arg-type]


def start_slow_replay(home: Path, out: Path, delay: float) -> subprocess.Popen[str]:
    env = {**os.environ, "FLOWKIT_HOME": str(home)}
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_REPLAY, str(out), str(delay)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "started"
    return process


def delivered_lines(path: Path) -> list[str]:
    """The uuids of the complete lines in ``path``.

    The replaying process may be mid-write (or killed mid-write): a last line without its
    newline is not delivered yet, so it is left out rather than parsed.
    """
    if not path.exists():
        return []
    complete, _, _torn = path.read_text().rpartition("\n")
    return [json.loads(line)["uuid"] for line in complete.splitlines()]


def wait_for(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.02)
    assert predicate(), "timed out"  # type: ignore[operator]


def test_sigkill_during_replay_resends_at_most_the_batch_in_flight(
    flowkit_home: Path, tmp_path: Path
) -> None:
    uuids = fill_outbox(flowkit_home, 3001)
    out = tmp_path / "first.jsonl"
    first = start_slow_replay(flowkit_home, out, delay=0.03)
    wait_for(lambda: len(delivered_lines(out)) >= 1000)
    first.send_signal(signal.SIGKILL)
    first.wait(10)

    sink = CountingSink()
    second = client(flowkit_home, sink)
    assert second.flush(30.0) is True
    second.shutdown()

    sent = Counter(delivered_lines(out) + sink.uuids)
    assert set(sent) == set(uuids)  # nothing lost
    duplicated = sum(n - 1 for n in sent.values())
    assert duplicated <= 100  # at most the one batch in flight at the SIGKILL
    assert not list(flowkit_home.glob("outbox.jsonl*"))


def test_a_live_claim_is_never_taken_even_when_pid_checks_cannot_see_its_holder(
    flowkit_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uuids = fill_outbox(flowkit_home, 600)
    out = tmp_path / "holder.jsonl"
    holder = start_slow_replay(flowkit_home, out, delay=0.2)
    wait_for(lambda: len(delivered_lines(out)) >= 100)

    def no_such_process(pid: int, sig: int) -> None:  # another pid namespace: every pid looks dead
        raise ProcessLookupError(pid)

    monkeypatch.setattr(os, "kill", no_such_process)
    sink = CountingSink()
    second = client(flowkit_home, sink)
    second.flush(2.0)  # the holder's claim is live: nothing to take
    second.shutdown()
    monkeypatch.undo()
    holder.wait(60)

    assert holder.returncode == 0
    assert sink.uuids == []
    assert Counter(delivered_lines(out)) == Counter(uuids)


def test_a_claim_nobody_holds_is_sent_whatever_pid_its_name_carries(flowkit_home: Path) -> None:
    uuids = fill_outbox(flowkit_home, 5)
    outbox = flowkit_home / "outbox.jsonl"
    os.rename(outbox, outbox.with_name(f"outbox.jsonl.{os.getppid()}.sending"))  # a live pid

    sink = CountingSink()
    telemetry = client(flowkit_home, sink)
    assert telemetry.flush(10.0) is True
    telemetry.shutdown()

    assert sink.uuids == uuids
    assert not list(flowkit_home.glob("outbox.jsonl*"))


def test_flush_in_a_short_lived_process_drains_the_whole_outbox(
    flowkit_home: Path, tmp_path: Path
) -> None:
    uuids = fill_outbox(flowkit_home, 3001)
    out = tmp_path / "sent.jsonl"
    process = start_slow_replay(flowkit_home, out, delay=0.0)
    process.wait(60)

    assert Counter(delivered_lines(out)) == Counter(uuids)
    assert not list(flowkit_home.glob("outbox.jsonl*"))


def test_lines_that_fit_no_payload_are_skipped_counted_and_logged_once(
    flowkit_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = wire_lines(4, flowkit_home)
    nan = good[0].replace('"chatId":"old-0"', '"chatId":NaN')
    wrong = json.dumps({**json.loads(good[1]), "properties": {"version": "1", "extra": 1}})
    torn = good[2][: len(good[2]) // 2]
    (flowkit_home / "outbox.jsonl").write_text(
        "\n".join([good[0], nan, wrong, "not json", good[3], torn]) + "\n"
    )

    sink = CountingSink()
    with caplog.at_level(logging.WARNING, "flowkit.telemetry"):
        telemetry = client(flowkit_home, sink)
        assert telemetry.flush(10.0) is True
        stats = telemetry.stats
        telemetry.shutdown()

    assert sink.uuids == [json.loads(good[0])["uuid"], json.loads(good[3])["uuid"]]
    assert stats.skipped == 4
    assert len([r for r in caplog.records if "unreadable lines" in r.getMessage()]) == 1


def test_outbox_over_its_cap_drops_the_oldest_and_counts_them(
    flowkit_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWKIT_TELEMETRY_OUTBOX_MAX_MB", "0.05")  # 50 kB

    class Down:
        def send(self, batch: Sequence[TelemetryEvent]) -> None:
            raise ConnectionError("down")

        def close(self) -> None:
            pass

    telemetry = client(flowkit_home, Down(), max_backoff=0.01)
    flow = retrieval_demo_flow("Paris is in France.")
    send_predictions(flow, 500)
    telemetry.shutdown(timeout=0.2)

    outbox = flowkit_home / "outbox.jsonl"
    kept = [json.loads(line)["properties"]["chatId"] for line in outbox.read_text().splitlines()]
    assert outbox.stat().st_size <= 50_000
    assert telemetry.stats.outbox_dropped == 500 - len(kept) > 0
    assert kept == [f"chat-{i}" for i in range(500 - len(kept), 500)]  # the newest, in order


class TallySink:
    """Counts the events it is sent, keeping nothing."""

    def __init__(self) -> None:
        self.count = 0

    def send(self, batch: Sequence[TelemetryEvent]) -> None:
        self.count += len(batch)

    def close(self) -> None:
        pass


def replay_peak(home: Path, template: str, count: int) -> tuple[int, int]:
    """(size of an outbox of ``count`` events, peak traced memory while replaying it)."""
    uuid = json.loads(template)["uuid"]
    with open(home / "outbox.jsonl", "w") as file:
        for i in range(count):
            file.write(template.replace(uuid, f"{i:08d}-0000-4000-8000-000000000000") + "\n")
    size = (home / "outbox.jsonl").stat().st_size
    sink = TallySink()
    tracemalloc.start()
    try:
        telemetry = Telemetry(sink=sink, settings=TelemetrySettings(home=home)).connect()
        assert telemetry.flush(60.0) is True
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    telemetry.shutdown()
    assert sink.count == count
    return size, peak


def test_replay_streams_the_outbox_instead_of_reading_it_whole(flowkit_home: Path) -> None:
    template = wire_lines(1, flowkit_home)[0]

    small_size, small_peak = replay_peak(flowkit_home, template, 1_500)
    large_size, large_peak = replay_peak(flowkit_home, template, 7_500)  # about 5.5 MB

    assert large_size > 4 * small_size
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)  # a batch, not the file
    assert large_peak < large_size  # reading it whole would take more than its size
