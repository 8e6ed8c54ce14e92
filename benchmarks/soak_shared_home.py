"""Soak: 4 processes sharing one FLOWKIT_HOME, SIGKILLs and server restarts.

Run: ``.venv/bin/python benchmarks/soak_shared_home.py [--seconds N]`` (``N`` defaults to
``$FLOWKIT_SOAK_SECONDS``, else 10). ``tests/soak/test_shared_home.py`` runs it and asserts.

Method: a PostHog-like batch receiver on 127.0.0.1 runs in this process and keeps every
event it was sent, across its restarts. Four worker processes share one telemetry home and
send ``prediction_sent`` events to it through :class:`~flowkit.telemetry.PostHogSink`; each
writes the chat ids it made to its own log, 50 at a time (ids made after the last write of a
SIGKILLed worker are unknown, and count nowhere). Every ``N/6`` seconds one worker is
SIGKILLed and replaced by a new one; every ``N/4`` seconds the receiver stops for 0.7 s
(connections refused) and comes back on the same port. At the end the workers exit
normally (their exit flush puts what is left in the shared outbox), and one last process
drains the outbox. Reported, by uuid and chat id:

* lost: made and logged but never received, split into those of SIGKILLed workers (what was
  in their memory: allowed) and those of workers that exited normally (must be 0);
* duplicated: events received more than once, by uuid (the guarantee: 0, except a batch in
  flight at a SIGKILL, at most one per kill);
* what is left under the home besides ``settings.json`` (must be nothing).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

WORKER = """
import os, sys, time
from pathlib import Path
from flowkit import signals
from flowkit.model import ChatType
from flowkit.runtime import retrieval_demo_flow
from flowkit.telemetry import Telemetry

name, log, stop = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
telemetry = Telemetry(batch_size=100, flush_interval=0.2, max_backoff=0.5).connect()
flow = retrieval_demo_flow("Paris is the capital of France.")
made, i = [], 0
with open(log, "a", buffering=1) as out:
    while not stop.exists():
        chat_id = f"{name}-{i}"
        signals.send(signals.prediction_sent, flow, workspace=None, chat_id=chat_id,
                     chat_type=ChatType.EXTERNAL, question="q", result=None, duration=0.0)
        made.append(chat_id)
        i += 1
        if len(made) >= 50:
            out.write("\\n".join(made) + "\\n")
            made.clear()
            time.sleep(0.01)
    out.write("".join(m + "\\n" for m in made))
# a normal exit: the exit flush sends or keeps the rest in the shared outbox
"""

DRAIN = """
from flowkit.telemetry import Telemetry
telemetry = Telemetry().connect()
ok = telemetry.flush(60)
telemetry.shutdown(5)
raise SystemExit(0 if ok else 3)
"""


class _Receiver(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, events: list[tuple[str, str]], lock: threading.Lock) -> None:
        self.events, self.lock = events, lock
        super().__init__(("127.0.0.1", port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        batch = json.loads(body)["batch"]
        with self.server.lock:
            self.server.events.extend((e["uuid"], e["properties"]["chatId"]) for e in batch)
        answer = b'{"status": 1}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


class Receiver:
    """A batch endpoint that keeps what it received across restarts on one port."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self._server: _Receiver | None = None
        self.port = 0
        self.restarts = 0

    def start(self) -> None:
        self._server = _Receiver(self.port, self.events, self.lock)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def restart(self, pause: float) -> None:
        self.stop()
        time.sleep(pause)
        self.start()
        self.restarts += 1


@dataclass
class SharedHomeResult:
    """What the soak measured."""

    seconds: float
    kills: int
    restarts: int
    made: int
    received: int
    unique: int
    lost_killed: int
    lost_other: int
    duplicated: int
    left_in_home: list[str]
    drain_exit: int

    @property
    def ok(self) -> bool:
        """Nothing lost but a killed process's memory, at most a batch per kill resent,
        nothing left behind."""
        return (
            self.lost_other == 0
            and self.duplicated <= 100 * self.kills
            and not self.left_in_home
            and self.drain_exit == 0
        )

    def line(self) -> str:
        return (
            f"soak shared home {self.seconds:.0f}s, 4 processes, {self.kills} SIGKILLs, "
            f"{self.restarts} server restarts: {self.made} made (logged), {self.received} "
            f"received ({self.unique} unique); lost {self.lost_killed} of SIGKILLed processes "
            f"+ {self.lost_other} others; duplicated {self.duplicated} by uuid; home after: "
            f"{self.left_in_home or 'settings.json only'}"
        )


def run_shared_home_soak(seconds: float, workdir: Path, *, seed: int = 10) -> SharedHomeResult:
    """Run the soak for ``seconds`` in ``workdir`` and return what it measured."""
    rng = random.Random(seed)
    home, logs, stop = workdir / "home", workdir / "logs", workdir / "stop"
    logs.mkdir(parents=True, exist_ok=True)
    receiver = Receiver()
    receiver.start()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FLOWKIT_", "POSTHOG_"))},
        "FLOWKIT_HOME": str(home),
        "POSTHOG_PUBLIC_API_KEY": "phc_soak",
        "POSTHOG_HOST": f"http://127.0.0.1:{receiver.port}",
        "DISABLE_FLOWISE_TELEMETRY": "",
        "DO_NOT_TRACK": "",
    }
    killed: set[str] = set()
    generation = 0

    def spawn(slot: int) -> tuple[str, subprocess.Popen[bytes]]:
        nonlocal generation
        generation += 1
        name = f"w{slot}g{generation}"
        log = logs / f"{name}.log"
        proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, name, str(log), str(stop)], env=env, cwd=workdir
        )
        return name, proc

    workers = [spawn(slot) for slot in range(4)]
    started = time.monotonic()
    next_kill = started + seconds / 6
    next_restart = started + seconds / 4
    while time.monotonic() - started < seconds:
        now = time.monotonic()
        if now >= next_kill:
            slot = rng.randrange(4)
            name, proc = workers[slot]
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            killed.add(name)
            workers[slot] = spawn(slot)
            next_kill = now + seconds / 6
        if now >= next_restart:
            receiver.restart(0.7)
            next_restart = time.monotonic() + seconds / 4
        time.sleep(0.05)
    stop.touch()
    for _, proc in workers:
        proc.wait(60)
    drain = subprocess.run([sys.executable, "-c", DRAIN], env=env, cwd=workdir, timeout=120)
    receiver.stop()

    made: set[str] = set()
    owner: dict[str, str] = {}
    for log in logs.glob("*.log"):
        name = log.stem
        for chat_id in log.read_text().split():
            made.add(chat_id)
            owner[chat_id] = name
    received_ids = {chat_id for _, chat_id in receiver.events}
    by_uuid = Counter(uuid for uuid, _ in receiver.events)
    lost = made - received_ids
    lost_killed = sum(1 for chat_id in lost if owner[chat_id] in killed)
    left = sorted(p.name for p in home.iterdir() if p.name != "settings.json")
    return SharedHomeResult(
        seconds=seconds,
        kills=len(killed),
        restarts=receiver.restarts,
        made=len(made),
        received=len(receiver.events),
        unique=len(by_uuid),
        lost_killed=lost_killed,
        lost_other=len(lost) - lost_killed,
        duplicated=sum(n - 1 for n in by_uuid.values()),
        left_in_home=left,
        drain_exit=drain.returncode,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the soak once, print what it measured, exit 0 when every check passed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    default = float(os.environ.get("FLOWKIT_SOAK_SECONDS") or 10)
    parser.add_argument("--seconds", type=float, default=default)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="flowkit-soak-home-") as workdir:
        result = run_shared_home_soak(args.seconds, Path(workdir))
    print(result.line())
    print("PASS" if result.ok else "FAIL")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
