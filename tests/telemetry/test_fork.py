"""Fork safety, with a real ``os.fork()`` and ``multiprocessing`` (fork start method).

The parent's queued events are sent once, by the parent; a child starts empty, with its own
thread on first use, and loses nothing, whether it ends with ``os._exit`` after ``flush()``
or as a multiprocessing worker (which never runs atexit hooks).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

PRELUDE = """
import json, multiprocessing, os, sys
from flowkit import signals
from flowkit.model import ChatType
from flowkit.runtime import retrieval_demo_flow
from flowkit.telemetry import JsonlSink, Telemetry, TelemetrySettings

out = sys.argv[1]
# A long flush interval: the parent's 20 events are still queued when it forks.
telemetry = Telemetry(sink=JsonlSink(out), settings=TelemetrySettings.from_env(),
                      flush_interval=30.0).connect()
flow = retrieval_demo_flow("Paris is in France.")

def send(chat_id):
    signals.send(signals.prediction_sent, flow, workspace=None, chat_id=chat_id,
                 chat_type=ChatType.EXTERNAL, question="q", result=None, duration=0.0)

for i in range(20):
    send(f"parent-{i}")
"""

OS_FORK = (
    PRELUDE
    + """
pid = os.fork()
if pid == 0:
    send("child-0")
    ok = telemetry.flush(10.0)
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
assert telemetry.flush(10.0)
print(json.dumps({"child": os.waitstatus_to_exitcode(status)}))
"""
)

MULTIPROCESSING = (
    PRELUDE
    + """
def work(n):
    for i in range(n):
        send(f"worker-{os.getpid()}-{i}")
    # no flush: the worker exits through multiprocessing's os._exit

if __name__ == "__main__":
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=work, args=(5,)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    assert telemetry.flush(10.0)
    print(json.dumps({"child": max(w.exitcode for w in workers)}))
"""
)


def run(script: str, out: Path, home: Path) -> list[dict[str, object]]:
    env = {**os.environ, "FLOWKIT_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-c", script, str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["child"] == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


def chat_ids(events: list[dict[str, object]]) -> Counter[str]:
    return Counter(e["properties"]["chatId"] for e in events)  # type: ignore[index]


def test_os_fork_sends_the_parents_queue_once_and_the_childs_own_event(tmp_path: Path) -> None:
    events = run(OS_FORK, tmp_path / "sent.jsonl", tmp_path / "home")

    counts = chat_ids(events)
    assert counts == Counter({f"parent-{i}": 1 for i in range(20)} | {"child-0": 1})
    assert len({e["uuid"] for e in events}) == len(events)


def test_multiprocessing_workers_deliver_at_their_exit_and_never_resend_the_parents(
    tmp_path: Path,
) -> None:
    events = run(MULTIPROCESSING, tmp_path / "sent.jsonl", tmp_path / "home")

    counts = chat_ids(events)
    assert sum(counts.values()) == 20 + 15
    assert set(counts.values()) == {1}
    assert sum(1 for chat in counts if chat.startswith("worker-")) == 15
    assert len({e["uuid"] for e in events}) == len(events)
    assert len({e["distinctId"] for e in events}) == 1
