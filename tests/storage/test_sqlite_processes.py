"""Several real processes share one workspace file; one killed with SIGKILL loses nothing
that was committed and leaves no half-saved flow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from flowkit.model import Chatflow, Tool
from flowkit.storage.sqlite import SQLiteStore

from .helpers import small_flow

WORKER = Path(__file__).with_name("sqlite_worker.py")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_four_processes_of_500_mixed_operations_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    workers = {f"w{k}": _spawn("mixed", str(path), f"w{k}", "500") for k in range(4)}
    results = {}
    for name, process in workers.items():
        out, err = process.communicate(timeout=120)
        assert "locked" not in err
        assert process.returncode == 0, err
        results[name] = json.loads(out)
    with SQLiteStore(path) as store:
        flows = {flow.id: flow for flow in store.list(Chatflow)}
        expected = {fid: n for r in results.values() for fid, n in r["alive"].items()}
        assert set(flows) == set(expected)
        for flow_id, saves in expected.items():
            assert len(flows[flow_id].nodes) == 2 + saves
            assert [r.number for r in store.revisions(flow_id)] == list(range(1, saves + 1))
        assert store.count(Tool) == sum(r["tools"] for r in results.values())
        for name, result in results.items():
            assert len(store.chat_messages(name)) == result["messages"]
            assert store.load_state(name) == result["state"]


def _committed(lines: list[str]) -> tuple[set[int], set[int]]:
    created = {int(line.split()[1]) for line in lines if line.startswith("created ")}
    updated = {int(line.split()[1]) for line in lines if line.startswith("updated ")}
    return created, updated


def _read_until(process: subprocess.Popen[str], count: int, lines: list[str]) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while len(lines) < count and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.strip())


def test_a_process_killed_mid_write_leaves_every_committed_call(tmp_path: Path) -> None:
    path = tmp_path / "killed.db"
    lines: list[str] = []
    start = 0
    for _ in range(3):  # kill it three times, each at a different moment of its writes
        process = _spawn("crash", str(path), str(start))
        round_lines: list[str] = []
        _read_until(process, 40 + 17 * start % 23, round_lines)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
        assert process.stdout is not None
        round_lines += [line.strip() for line in process.stdout.read().splitlines()]
        lines += round_lines
        created, _ = _committed(round_lines)
        start = max(created) + 1
    created, updated = _committed(lines)
    with SQLiteStore(path) as store:
        flows = {flow.id: flow for flow in store.list(Chatflow)}
        for n in created:
            assert f"flow-{n}" in flows
        for flow_id, flow in flows.items():
            n = int(flow_id.split("-")[1])
            saves = len(store.revisions(flow_id))
            assert len(flow.nodes) == 2 + saves  # whole: its nodes match its last revision
            assert saves == 2 or n not in updated
            assert len(flow.edges) == 2


def test_threads_sharing_one_store_and_one_file_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "threads.db"
    shared = SQLiteStore(path)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        own = SQLiteStore(path) if k % 2 else shared
        try:
            for n in range(50):
                flow = small_flow(f"t{k}-{n}")
                own.save(flow)
                own.replace(flow)
                own.list(Chatflow)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            if own is not shared:
                own.close()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(shared.list(Chatflow)) == 300
    shared.close()
