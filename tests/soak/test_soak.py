"""Soak under faults: 8 threads predicting with telemetry to a PostHog that misbehaves.

The scenarios live in ``benchmarks/soak.py`` (``make soak`` runs this file longer, and the
script runs them on its own); these tests run them and assert. The duration of each is
``$FLOWKIT_SOAK_SECONDS`` (4 seconds by default, in ``make test``). Each soak prints one
summary line (counts, raw duplicates, peak RSS) even without ``-s``.

The single-fault cases (a 503 burst, a lost answer, ``Retry-After``, exit with the server
down or hung) are in ``tests/telemetry``; these mix every fault at once, for longer.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECONDS = float(os.environ.get("FLOWKIT_SOAK_SECONDS") or 4)


def _load_soak() -> ModuleType:
    """Import ``benchmarks/soak.py`` by its path (``benchmarks`` is not a package)."""
    name = "flowkit_benchmarks_soak"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "soak.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


soak = _load_soak()


def report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    """Print ``line`` to the terminal, past pytest's capture."""
    with capsys.disabled():
        print(f"\n{line}")


@pytest.mark.slow
def test_soak_under_faults_loses_nothing_and_keeps_memory_bounded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = soak.run_chaos_soak(SECONDS, tmp_path / "home")
    report(capsys, result.summary())

    # every prediction succeeded, with the right answer, and nothing raised into the caller
    assert result.tally.errors == []
    assert result.tally.wrong == []
    assert result.tally.succeeded == result.tally.attempted > 0
    # the faults really happened
    assert result.faults > 0
    assert result.failed_sends > 0
    # the server holds every event the client made, each once after dedupe by uuid
    assert result.flushed
    assert result.generated == result.tally.attempted + soak.SETUP_EVENTS
    assert len(result.client_uuids) == result.generated
    assert result.server_uuids == result.client_uuids
    assert result.acked_uuids == result.client_uuids
    assert result.stats["enqueued"] == result.stats["delivered"] == result.generated
    assert result.stats["dropped"] == 0
    assert result.stats["failed"] == 0
    # warnings and retries may be logged; no telemetry code failed with a traceback
    assert result.log_tracebacks == []
    # memory stayed bounded
    assert result.rss_growth_mb < soak.RSS_GROWTH_LIMIT_MB


@pytest.mark.slow
def test_server_killed_for_good_then_exit_keeps_every_event_for_the_next_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = soak.run_kill_soak(SECONDS, tmp_path)
    report(capsys, result.summary())
    first, second = result.first, result.second

    # the client kept predicting after the kill, then exited normally, soon
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr, first.stderr
    assert first.exit_seconds < soak.EXIT_BOUND_SECONDS
    assert first.report["errors"] == []
    assert first.report["succeeded"] == first.report["attempted"] > 0
    assert first.report["last_prediction_at"] > result.killed_at
    # each event it made was acknowledged by the dead server or is in the outbox
    assert result.outbox_existed
    assert result.outbox
    assert result.generated == first.report["attempted"] + soak.SETUP_EVENTS
    assert first.report["stats"]["dropped"] == 0
    assert first.report["stats"]["failed"] == 0
    assert len(result.covered()) == result.generated
    assert result.missing_chat_ids() == set()
    # the next process sent the outbox first, every event of it, and removed it
    assert second.returncode == 0, second.stderr
    assert "Traceback" not in second.stderr, second.stderr
    assert set(result.first_received()) == result.outbox_uuids
    assert result.outbox_uuids <= set(result.received)
    assert result.home_after == ["settings.json"]


EXIT_AFTER_A_DELIVERY = """
import sys
from flowkit import signals
from flowkit.model import ChatType
from flowkit.runtime import retrieval_demo_flow
from flowkit.telemetry import PostHogSink, Telemetry, TelemetrySettings

telemetry = Telemetry(
    PostHogSink("phc_soak", sys.argv[1], timeout=0.5),
    TelemetrySettings.from_env(),
    exit_timeout=10.0,
).connect()
flow = retrieval_demo_flow("Paris is the capital of France.")

def predicted(chat_id):
    signals.send(
        signals.prediction_sent, flow, workspace=None, chat_id=chat_id,
        chat_type=ChatType.EXTERNAL, question="q", result=None,
    )

predicted("before")
assert telemetry.flush(10.0)  # the sink's connection pool is in use from now on
predicted("at-exit")  # queued when the interpreter exits
"""


def test_exit_flush_delivers_through_a_posthog_sink_that_already_delivered(
    tmp_path: Path, flowkit_home: Path
) -> None:
    """The soak found this: urllib3 empties a connection pool from an exit hook that ran
    before telemetry's exit flush, so every event queued at exit waited the whole
    ``exit_timeout`` and went to the outbox instead of being delivered."""
    fake = soak.load_fake_posthog()
    script = tmp_path / "emit.py"
    script.write_text(EXIT_AFTER_A_DELIVERY, encoding="utf-8")
    with fake.FakePostHog() as server:
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, str(script), server.url],
            env=soak.client_env(flowkit_home, server.url),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        elapsed = time.monotonic() - started
        chat_ids = [e["properties"]["chatId"] for e in server.events]

    assert result.returncode == 0, result.stderr
    assert chat_ids == ["before", "at-exit"]
    assert not (flowkit_home / "outbox.jsonl").exists()
    assert elapsed < 10
