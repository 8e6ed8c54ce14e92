"""What happens at interpreter exit, in real subprocesses.

A normal exit flushes what is queued (no ``flush()`` call needed); what cannot be delivered
in time goes to ``<FLOWKIT_HOME>/outbox.jsonl`` and the next process sends it first, so
neither a normal exit nor an outage loses an event.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import clean_environ

try:
    from fake_posthog import FakePostHog  # tests/ is on sys.path (no tests/__init__.py)
except ImportError:  # pragma: no cover - tests/ became a package
    from tests.fake_posthog import FakePostHog

BURST_SCRIPT = """
import sys
from flowkit import signals
from flowkit.model import ChatType
from flowkit.runtime import retrieval_demo_flow
from flowkit.telemetry import Telemetry, TelemetrySettings

count, prefix, exit_timeout = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
telemetry = Telemetry(settings=TelemetrySettings.from_env(), exit_timeout=exit_timeout)
telemetry.connect()
flow = retrieval_demo_flow("Paris is the capital of France.")
for i in range(count):
    signals.send(
        signals.prediction_sent, flow, workspace=None, chat_id=f"{prefix}-{i}",
        chat_type=ChatType.EXTERNAL, question="q", result=None,
    )
# no flush, no shutdown: the interpreter exits with events still queued
"""

INSTALL_SCRIPT = """
import sys
import flowkit.telemetry
from flowkit import signals
from flowkit.model import ChatType
from flowkit.runtime import retrieval_demo_flow

count, prefix, exit_timeout = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
flowkit.telemetry.install(exit_timeout=exit_timeout, max_backoff=0.2)
flow = retrieval_demo_flow("Paris is the capital of France.")
for i in range(count):
    signals.send(
        signals.prediction_sent, flow, workspace=None, chat_id=f"{prefix}-{i}",
        chat_type=ChatType.EXTERNAL, question="q", result=None,
    )
"""


def run_script(
    tmp_path: Path, script: str, args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "emit.py"
    path.write_text(script, encoding="utf-8")
    base = clean_environ()
    workdir = tmp_path / "cwd"  # holds no .env
    workdir.mkdir(exist_ok=True)
    result = subprocess.run(
        [sys.executable, str(path), *args],
        env={**base, **env},
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stdout == ""
    return result


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_exit_without_flush_delivers_every_queued_event(tmp_path: Path, home: Path) -> None:
    events_file = tmp_path / "events.jsonl"

    run_script(
        tmp_path,
        BURST_SCRIPT,
        ["20000", "chat", "30"],
        {"FLOWKIT_HOME": str(home), "FLOWKIT_TELEMETRY_FILE": str(events_file)},
    )

    events = read_jsonl(events_file)
    assert len(events) == 20_000
    assert len({e["uuid"] for e in events}) == 20_000
    assert {e["properties"]["chatId"] for e in events} == {f"chat-{i}" for i in range(20_000)}
    assert {e["event"] for e in events} == {"prediction_sent"}
    assert not (home / "outbox.jsonl").exists()


def test_outage_at_exit_keeps_every_event_in_the_outbox(tmp_path: Path, home: Path) -> None:
    env = {
        "FLOWKIT_HOME": str(home),
        "POSTHOG_PUBLIC_API_KEY": "x",
        "POSTHOG_HOST": f"http://127.0.0.1:{closed_port()}",
    }

    started = time.monotonic()
    result = run_script(tmp_path, INSTALL_SCRIPT, ["300", "old", "0.5"], env)
    elapsed = time.monotonic() - started

    saved = read_jsonl(home / "outbox.jsonl")
    assert sorted(e["properties"]["chatId"] for e in saved) == sorted(
        f"old-{i}" for i in range(300)
    )
    assert len({e["uuid"] for e in saved}) == 300
    assert all(list(e) == ["event", "distinctId", "properties", "timestamp", "uuid"] for e in saved)
    assert "outbox" in result.stderr  # one warning says where they are kept
    assert elapsed < 20


def test_next_process_sends_the_outbox_first_and_exactly_once(tmp_path: Path, home: Path) -> None:
    down = {
        "FLOWKIT_HOME": str(home),
        "POSTHOG_PUBLIC_API_KEY": "x",
        "POSTHOG_HOST": f"http://127.0.0.1:{closed_port()}",
    }
    run_script(tmp_path, INSTALL_SCRIPT, ["300", "old", "0.5"], down)
    saved = [e["uuid"] for e in read_jsonl(home / "outbox.jsonl")]

    with FakePostHog(api_key="x") as server:
        up = {**down, "POSTHOG_HOST": server.url}
        run_script(tmp_path, INSTALL_SCRIPT, ["5", "new", "10"], up)

        received = server.uuids()
        chat_ids = [e["properties"]["chatId"] for e in server.events]

    assert received[:300] == saved
    assert sorted(chat_ids[300:]) == [f"new-{i}" for i in range(5)]
    assert len(received) == len(set(received)) == 305
    assert sorted(p.name for p in home.iterdir()) == ["settings.json"]


def test_exit_with_a_hung_destination_is_bounded_and_loses_nothing(
    tmp_path: Path, home: Path
) -> None:
    with FakePostHog(api_key="x") as server:
        server.script(["stall:60"])
        env = {
            "FLOWKIT_HOME": str(home),
            "POSTHOG_PUBLIC_API_KEY": "x",
            "POSTHOG_HOST": server.url,
        }

        started = time.monotonic()
        run_script(tmp_path, INSTALL_SCRIPT, ["50", "stuck", "0.5"], env)
        elapsed = time.monotonic() - started

    assert elapsed < 15
    saved = read_jsonl(home / "outbox.jsonl")
    assert sorted(e["properties"]["chatId"] for e in saved) == sorted(
        f"stuck-{i}" for i in range(50)
    )


SEVERAL_CLIENTS_SCRIPT = """
import atexit, sys, time
from pathlib import Path
ended = {}
# Registered before telemetry's own exit hook, so it runs after it (atexit is LIFO).
atexit.register(lambda: Path(sys.argv[3]).write_text(str(time.monotonic() - ended["at"])))
from flowkit import signals
from flowkit.model import ChatType
from flowkit.runtime import retrieval_demo_flow
from flowkit.telemetry import PostHogSink, Telemetry, TelemetrySettings

host, clients = sys.argv[1], int(sys.argv[2])
flow = retrieval_demo_flow("Paris is the capital of France.")
made = []
for n in range(clients):
    telemetry = Telemetry(sink=PostHogSink("phc_x", host, timeout=30),
                          settings=TelemetrySettings.from_env()).connect()
    made.append(telemetry)
signals.send(signals.prediction_sent, flow, workspace=None, chat_id="hung",
             chat_type=ChatType.EXTERNAL, question="q", result=None, duration=0.0)
ended["at"] = time.monotonic()
# exit: each client waits for a server that never answers
"""


def test_exit_with_several_clients_and_a_hung_server_takes_one_budget_not_the_sum(
    tmp_path: Path, home: Path
) -> None:
    with FakePostHog() as server:
        server.script(["stall:30"] * 20)
        exit_time = tmp_path / "exit_seconds.txt"
        run_script(
            tmp_path,
            SEVERAL_CLIENTS_SCRIPT,
            [server.url, "5", str(exit_time)],
            {"FLOWKIT_HOME": str(home), "FLOWKIT_TELEMETRY_EXIT_SECONDS": "1.5"},
        )
        server.heal()

    elapsed = float(exit_time.read_text())
    assert 1.4 < elapsed < 1.5 * 3, f"exit took {elapsed:.1f}s"  # in series: 7.5 s or more
    kept = read_jsonl(home / "outbox.jsonl")
    assert len(kept) == 5  # each client's event, kept for the next process
    assert len({e["uuid"] for e in kept}) == 5


ONE_HOME_SCRIPT = """
import sys, time
from flowkit import signals
from flowkit.model import ChatType
from flowkit.runtime import retrieval_demo_flow
from flowkit.telemetry import Telemetry, TelemetrySettings

start_at = float(sys.argv[1])
telemetry = Telemetry(settings=TelemetrySettings.from_env()).connect()
flow = retrieval_demo_flow("Paris is the capital of France.")
time.sleep(max(0.0, start_at - time.time()))  # all three start together
signals.send(signals.prediction_sent, flow, workspace=None, chat_id=sys.argv[2],
             chat_type=ChatType.EXTERNAL, question="q", result=None, duration=0.0)
telemetry.flush(10)
"""


def test_three_processes_on_one_new_home_send_under_one_distinct_id(
    tmp_path: Path, home: Path
) -> None:
    events_file = tmp_path / "events.jsonl"
    script = tmp_path / "one_home.py"
    script.write_text(ONE_HOME_SCRIPT, encoding="utf-8")
    base = clean_environ()
    env = {**base, "FLOWKIT_HOME": str(home), "FLOWKIT_TELEMETRY_FILE": str(events_file)}
    start_at = time.time() + 2.0
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), str(start_at), f"p{n}"], env=env, cwd=tmp_path
        )
        for n in range(3)
    ]
    for process in processes:
        assert process.wait(60) == 0

    events = read_jsonl(events_file)
    stored = json.loads((home / "settings.json").read_text())["instanceId"]
    assert sorted(e["properties"]["chatId"] for e in events) == ["p0", "p1", "p2"]
    assert {e["distinctId"] for e in events} == {stored}
