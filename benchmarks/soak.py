"""Soak under faults: 8 threads predicting on one workspace, telemetry to a flaky PostHog.

Run: ``.venv/bin/python benchmarks/soak.py [--seconds N] [--scenario chaos|kill|all]``
(``N`` defaults to ``$FLOWKIT_SOAK_SECONDS``, else 10). ``tests/soak/test_soak.py`` runs the
same two scenarios and asserts on what they return.

Two scenarios:

* **chaos** (one process): a :class:`~flowkit.Workspace` holding the offline retrieval demo
  flow (created, then upserted once) is asked questions by 8 threads for ``N`` seconds, with
  a :class:`~flowkit.telemetry.Telemetry` connected to a
  :class:`~flowkit.telemetry.PostHogSink` (0.5 s timeout, backoff capped at 0.5 s) pointed at
  a fake PostHog on 127.0.0.1 (``tests/fake_posthog.py``) that answers about half of the
  requests with a fault: 503, 429 with ``Retry-After: 1``, a dropped connection, a stall past
  the client's timeout (recorded, answered too late) or a lost answer (recorded, never
  answered). Then the server heals and the client flushes. Every prediction must have
  succeeded with the right answer and nothing raised into the caller (the workspace
  re-raises receiver errors: ``strict_signals=True``); the server must hold every event the
  client made, each uuid once after dedupe (raw duplicates are reported, not errors);
  ``delivered == enqueued``, nothing dropped or failed; and the peak RSS must have grown by
  less than 200 MB.
* **kill** (three processes): the same 8-thread client runs as a subprocess (``soak.py
  client``) with settings from its environment (``FLOWKIT_HOME`` in a temporary folder, the
  PostHog key and host), sending to the fake PostHog run as another process. Half-way, that
  server is SIGKILLed for good; the client keeps predicting for the other half, then exits
  normally with ``exit_timeout=1``. It must exit 0 within a bound, and every event it made
  must be either acknowledged by the dead server or in ``<FLOWKIT_HOME>/outbox.jsonl``. A
  next process, pointed at a fresh fake PostHog, must send that outbox first: the server
  then holds each of its uuids, and the outbox file is gone.

Peak RSS is the process's high-water mark. In the chaos run it includes the harness's own
bookkeeping, which grows with the events made (the recording sink and the in-process server
each keep every uuid, about 0.3 KB per event); the queue's backlog is reported as "most
queued" (about 0.35 KB per queued prediction).

The script exits 0 when every check passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import http.client
import importlib.util
import json
import logging
import os
import queue
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import IO, Any

from flowkit import Chatflow
from flowkit.runtime import builtin_registry, retrieval_demo_flow
from flowkit.telemetry import PostHogSink, Telemetry, TelemetryEvent, TelemetrySettings
from flowkit.telemetry.sinks import Sink
from flowkit.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
FAKE_SERVER_SCRIPT = REPO / "tests" / "fake_posthog.py"

THREADS = 8
API_KEY = "phc_soak"
SINK_TIMEOUT = 0.5
"""Seconds the PostHog sink waits for a connection or an answer."""
MAX_BACKOFF = 0.5
FLUSH_INTERVAL = 0.1
EXIT_TIMEOUT = 1.0
"""The killed-server client's exit flush: short, so the rest goes to the outbox quickly."""
RSS_GROWTH_LIMIT_MB = 200.0
EXIT_BOUND_SECONDS = 15.0
"""How long the killed-server client may take from being told to stop to having exited."""
WAIT = 60.0
"""Seconds any one wait for a process or a server may take, at most."""

CHAOS = {
    "p_503": 0.15,
    "p_429": 0.10,
    "retry_after": 1,
    "p_drop": 0.10,
    "p_stall": 0.05,
    "stall_seconds": 1.0,  # past the sink's 0.5 s timeout
    "p_lost": 0.10,
}

PARAGRAPHS = [
    "Lighthouses guide ships past dangerous reefs at night with a rotating Fresnel lens that "
    "focuses the lamp into a steady beam flashing its own pattern along the coastline.",
    "Glaciers carve deep valleys as compacted snow slides slowly downhill over centuries, and "
    "moraines of gravel and boulders mark where the ice once stopped before it retreated.",
    "Origami artists fold a single square of paper into cranes, frogs and flowers without "
    "scissors or glue, alternating valley folds and mountain folds along planned creases.",
]
TEXT = "\n\n".join(PARAGRAPHS)
CHUNK_SIZE = 200
"""Longer than any paragraph, shorter than two: each paragraph is a chunk of its own."""
QUESTIONS = [
    "How do lighthouses guide ships at night?",
    "How do glaciers carve valleys and leave moraines?",
    "How do origami artists fold paper cranes?",
]
ANSWERS = [f'According to the context: "{p}"' for p in PARAGRAPHS]
SETUP_EVENTS = 2
"""Events sent before the first prediction: ``chatflow_created`` and ``vector_upserted``."""


def default_seconds() -> float:
    """``$FLOWKIT_SOAK_SECONDS`` when set (``make soak``), else 10."""
    return float(os.environ.get("FLOWKIT_SOAK_SECONDS") or 10)


def load_fake_posthog() -> ModuleType:
    """Import ``tests/fake_posthog.py`` (already imported by the tests, or by its path)."""
    module = sys.modules.get("fake_posthog")
    if module is None:
        spec = importlib.util.spec_from_file_location("fake_posthog", FAKE_SERVER_SCRIPT)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["fake_posthog"] = module  # dataclasses look their module up here
        spec.loader.exec_module(module)
    return module


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MB.

    ``VmHWM`` from ``/proc/self/status`` where there is one: on Linux, ``ru_maxrss`` of a
    process started by fork and exec also counts what its parent held at the fork, which
    would make a small client look as big as the test process that started it. Elsewhere
    ``resource.getrusage(RUSAGE_SELF).ru_maxrss``.
    """
    with (
        contextlib.suppress(OSError, ValueError),
        open("/proc/self/status", encoding="ascii") as status,
    ):
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


# ---- the client side: a recording sink and the predicting threads ----------------------------


class RecordingSink:
    """Pass every batch to ``inner`` and remember the uuids asked for and acknowledged.

    :param inner: the sink that really delivers (a :class:`PostHogSink` here).
    :param details: also keep each acknowledged event's name and ``chatId`` in
        :attr:`acked_events` (more memory per event).
    """

    def __init__(self, inner: Sink, *, details: bool = False) -> None:
        self.inner = inner
        self.details = details
        self.attempted: set[str] = set()
        self.acked: set[str] = set()
        self.acked_events: dict[str, tuple[str, str | None]] = {}  # uuid -> (event, chatId)
        self.sends = 0
        self.failed_sends = 0
        self._lock = threading.Lock()

    def send(self, batch: Sequence[TelemetryEvent]) -> None:
        with self._lock:
            self.sends += 1
            self.attempted.update(e.uuid for e in batch)
        try:
            self.inner.send(batch)
        except Exception:
            with self._lock:
                self.failed_sends += 1
            raise
        with self._lock:
            self.acked.update(e.uuid for e in batch)
            if self.details:
                for e in batch:
                    self.acked_events[e.uuid] = (e.event, _chat_id(e.properties))

    def close(self) -> None:
        self.inner.close()


def _chat_id(properties: Mapping[str, Any]) -> str | None:
    value = properties.get("chatId")
    return value if isinstance(value, str) else None


@dataclass
class Tally:
    """What the predicting threads did."""

    per_thread: list[int] = field(default_factory=list)
    """Predictions each thread attempted (chat ids ``<prefix>-<thread>-<i>``, i < count)."""
    succeeded: int = 0
    wrong: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    last_prediction_at: float = 0.0

    @property
    def attempted(self) -> int:
        return sum(self.per_thread)

    def chat_ids(self, prefix: str) -> set[str]:
        return {f"{prefix}-{t}-{i}" for t, n in enumerate(self.per_thread) for i in range(n)}


def soak_workspace() -> tuple[Workspace, Chatflow]:
    """A workspace re-raising receiver errors, holding the demo flow, created and upserted."""
    ws = Workspace(components=builtin_registry(), strict_signals=True)
    flow = ws.create_chatflow(retrieval_demo_flow(TEXT, name="soak", chunk_size=CHUNK_SIZE))
    ws.upsert_vector(flow)
    return ws, flow


def predict_in_threads(
    ws: Workspace,
    flow: Chatflow,
    *,
    prefix: str,
    until: float | None = None,
    stopped: threading.Event | None = None,
    count: int | None = None,
    threads: int = THREADS,
) -> Tally:
    """Ask questions from ``threads`` threads until ``time.monotonic()`` reaches ``until``,
    ``stopped`` is set, or each asked ``count``; waits for them ``WAIT`` seconds at most
    once that came (a thread still busy then is reported as an error, not waited for)."""

    def stop_came() -> bool:
        return (
            count is not None
            or (until is not None and time.monotonic() >= until)
            or (stopped is not None and stopped.is_set())
        )

    def stop(n: int) -> bool:
        return (count is not None and n >= count) or (count is None and stop_came())

    tally = Tally(per_thread=[0] * threads)
    lock = threading.Lock()
    barrier = threading.Barrier(threads, timeout=WAIT)

    def work(index: int) -> None:
        barrier.wait()
        n = 0
        while not stop(n):
            pick = (index + n) % len(QUESTIONS)
            chat_id = f"{prefix}-{index}-{n}"
            n += 1
            tally.per_thread[index] = n
            try:
                answer = ws.predict(flow, QUESTIONS[pick], chat_id=chat_id)
            except BaseException as exc:  # anything at all, telemetry's included
                with lock:
                    tally.errors.append(f"{chat_id}: {type(exc).__name__}: {exc}")
                continue
            with lock:
                if answer.text == ANSWERS[pick] and answer.chat_id == chat_id:
                    tally.succeeded += 1
                else:
                    tally.wrong.append(f"{chat_id}: {answer.text[:80]!r}")
                tally.last_prediction_at = time.time()

    workers = [
        threading.Thread(target=work, args=(i,), name=f"soak-{i}", daemon=True)
        for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    came: float | None = None
    for worker in workers:
        while worker.is_alive():
            worker.join(0.1)
            if came is None and stop_came():
                came = time.monotonic()
            if came is not None and time.monotonic() - came > WAIT:
                tally.errors.append(f"{worker.name} still busy {WAIT:g}s after the stop")
                break
    return tally


class LogTally(logging.Handler):
    """Count the ``flowkit.telemetry`` log records by level; keep those with a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.levels: Counter[str] = Counter()
        self.tracebacks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.levels[record.levelname] += 1
        if record.exc_info:
            self.tracebacks.append(record.getMessage())


@contextlib.contextmanager
def counting_telemetry_logs() -> Iterator[LogTally]:
    """Count the ``flowkit.telemetry`` records (INFO and up, retries included) meanwhile."""
    logger = logging.getLogger("flowkit.telemetry")
    handler = LogTally()
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


# ---- scenario 1: chaos, then recovery (one process) ----------------------------------------


@dataclass
class ChaosResult:
    """What the chaos soak measured."""

    seconds: float
    tally: Tally
    generated: int
    """Events the client made: one per prediction plus the setup events."""
    stats: dict[str, int]
    flushed: bool
    drain_seconds: float
    client_uuids: set[str]
    acked_uuids: set[str]
    server_uuids: set[str]
    server_raw: int
    requests: int
    faults: int
    sends: int
    failed_sends: int
    max_queued: int
    logs: dict[str, int]
    log_tracebacks: list[str]
    rss_start_mb: float
    rss_peak_mb: float

    @property
    def duplicates(self) -> int:
        """Raw events the server recorded more than once (resent after a fault)."""
        return self.server_raw - len(self.server_uuids)

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_peak_mb - self.rss_start_mb

    def summary(self) -> str:
        return (
            f"soak chaos {self.seconds:g}s x {len(self.tally.per_thread)} threads: "
            f"{self.tally.succeeded}/{self.tally.attempted} predictions ok; "
            f"{self.generated} events made, {len(self.server_uuids)} unique at the server "
            f"({self.server_raw} raw, {self.duplicates} duplicates), "
            f"delivered={self.stats['delivered']} dropped={self.stats['dropped']} "
            f"failed={self.stats['failed']}; {self.requests} requests, {self.faults} faults, "
            f"{self.failed_sends} failed sends, {self.logs.get('INFO', 0)} retries logged; "
            f"most queued {self.max_queued}; drained in {self.drain_seconds:.2f}s after heal; "
            f"peak RSS {self.rss_peak_mb:.0f} MB (start {self.rss_start_mb:.0f} MB, "
            f"growth {self.rss_growth_mb:.0f} MB)"
        )

    def problems(self) -> list[str]:
        found = []
        if self.tally.errors or self.tally.wrong:
            found.append(f"failed predictions: {(self.tally.errors + self.tally.wrong)[:3]}")
        if self.tally.succeeded != self.tally.attempted:
            found.append(f"{self.tally.succeeded} of {self.tally.attempted} predictions ok")
        if not self.flushed:
            found.append("flush() after heal did not report everything delivered")
        if self.server_uuids != self.client_uuids:
            lost = len(self.client_uuids - self.server_uuids)
            extra = len(self.server_uuids - self.client_uuids)
            found.append(f"server vs client uuids: {lost} lost, {extra} unknown")
        want = {"enqueued": self.generated, "delivered": self.generated, "dropped": 0}
        want |= {"failed": 0}
        if {k: self.stats[k] for k in want} != want or len(self.client_uuids) != self.generated:
            found.append(f"stats {self.stats}, {len(self.client_uuids)} uuids, want {want}")
        if self.log_tracebacks:
            found.append(f"telemetry logged tracebacks: {self.log_tracebacks[:3]}")
        if self.rss_growth_mb >= RSS_GROWTH_LIMIT_MB:
            found.append(f"peak RSS grew {self.rss_growth_mb:.0f} MB")
        return found


def run_chaos_soak(seconds: float, home: Path, *, seed: int = 6) -> ChaosResult:
    """Predict from 8 threads for ``seconds`` against a faulty server, heal it, and flush.

    :param home: the ``FLOWKIT_HOME`` of the client (its instance id; no outbox expected).
    """
    fake = load_fake_posthog()
    rss_start = peak_rss_mb()
    with (
        fake.FakePostHog(record=False, api_key=API_KEY) as server,
        counting_telemetry_logs() as logs,
    ):
        server.chaos(seed, **CHAOS)
        sink = RecordingSink(PostHogSink(API_KEY, server.url, timeout=SINK_TIMEOUT))
        telemetry = Telemetry(
            sink,
            TelemetrySettings(home=home),
            max_backoff=MAX_BACKOFF,
            flush_interval=FLUSH_INTERVAL,
        )
        sampling = threading.Event()
        max_queued = 0

        def sample_queue() -> None:
            nonlocal max_queued
            while not sampling.wait(0.05):
                max_queued = max(max_queued, telemetry.stats.queued)

        sampler = threading.Thread(target=sample_queue, name="soak-sampler", daemon=True)
        try:
            telemetry.connect()
            sampler.start()
            ws, flow = soak_workspace()
            deadline = time.monotonic() + seconds
            tally = predict_in_threads(ws, flow, prefix="chaos", until=deadline)
            server.heal()
            started = time.monotonic()
            flushed = telemetry.flush(WAIT + seconds)
            drain_seconds = time.monotonic() - started
            generated = tally.attempted + SETUP_EVENTS
            server.wait_for_events(generated, unique=True, timeout=WAIT)
            stats = telemetry.stats
        finally:
            sampling.set()
            telemetry.shutdown(5.0)
            sampler.join(WAIT)
        return ChaosResult(
            seconds=seconds,
            tally=tally,
            generated=generated,
            stats={k: getattr(stats, k) for k in ("enqueued", "delivered", "dropped", "failed")}
            | {"queued": stats.queued},
            flushed=flushed,
            drain_seconds=drain_seconds,
            client_uuids=set(sink.attempted),
            acked_uuids=set(sink.acked),
            server_uuids=server.unique_uuids(),
            server_raw=server.raw_event_count,
            requests=server.requests,
            faults=server.faults,
            sends=sink.sends,
            failed_sends=sink.failed_sends,
            max_queued=max_queued,
            logs=dict(logs.levels),
            log_tracebacks=list(logs.tracebacks),
            rss_start_mb=rss_start,
            rss_peak_mb=peak_rss_mb(),
        )


# ---- scenario 2: the server killed for good, then exit (three processes) ---------------------


class ServerProcess:
    """``tests/fake_posthog.py`` in a process of its own; killed or stopped in :meth:`close`."""

    def __init__(self) -> None:
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None

    def __enter__(self) -> ServerProcess:
        self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, str(FAKE_SERVER_SCRIPT), "--port", "0", "--api-key", API_KEY],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        line = _read_line(self.proc.stdout, WAIT)
        if not line.startswith("READY "):
            self.close()
            raise RuntimeError(f"the fake PostHog process did not start: {line!r}")
        self.url = line.split(" ", 1)[1].strip()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def stats(self) -> dict[str, int]:
        """``GET /stats``: ``events`` (raw), ``unique``, ``requests``, ``faults``..."""
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        try:
            conn.request("GET", "/stats")
            data: dict[str, int] = json.loads(conn.getresponse().read())
            return data
        finally:
            conn.close()

    def kill(self) -> None:
        """SIGKILL the server: no goodbye, every connection reset."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(WAIT)

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            _stop_process(proc)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def _read_line(stream: IO[str] | None, timeout: float) -> str:
    """Read one line from ``stream``, waiting ``timeout`` seconds at most ("" if none)."""
    assert stream is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return ""


def _stop_process(proc: subprocess.Popen[str]) -> None:
    """Close its pipes, then SIGTERM, then SIGKILL, each wait bounded."""
    for stream in (proc.stdin, proc.stdout):
        with contextlib.suppress(OSError):
            if stream is not None:
                stream.close()
    try:
        proc.wait(3)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(WAIT)


def client_env(home: Path, host: str) -> dict[str, str]:
    """The environment of a client process: this one's, minus any telemetry setting, plus
    ``FLOWKIT_HOME``, the PostHog key and ``host``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISABLE_FLOWISE_TELEMETRY", "DO_NOT_TRACK", "FLOWKIT_TELEMETRY_FILE")
        and not k.startswith(("POSTHOG_", "PYTEST_"))
    }
    return env | {
        "FLOWKIT_HOME": str(home),
        "POSTHOG_PUBLIC_API_KEY": API_KEY,
        "POSTHOG_HOST": host,
        "PYTHONIOENCODING": "utf-8",
        "PYTHONFAULTHANDLER": "1",  # a hung client, aborted, shows where it hung
    }


@dataclass
class ClientRun:
    """One client process: how it ended and the report it wrote at exit."""

    returncode: int
    stderr: str
    exit_seconds: float
    """From being told to stop (or started, for a fixed count) to having exited."""
    report: dict[str, Any]


def start_client(
    workdir: Path, env: dict[str, str], prefix: str, *extra: str
) -> tuple[subprocess.Popen[str], Path]:
    """Start ``soak.py client``; it predicts until its stdin closes (or ``extra`` says)."""
    report = workdir / f"{prefix}-report.json"
    cwd = workdir / "cwd"  # holds no .env
    cwd.mkdir(parents=True, exist_ok=True)
    # stderr to a file: a pipe nobody reads while the client runs could fill and block it
    with open(workdir / f"{prefix}-stderr.txt", "w", encoding="utf-8") as stderr:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "client",
                "--report",
                str(report),
                "--prefix",
                prefix,
                *extra,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
            env=env,
            cwd=cwd,
        )
    return proc, report


def finish_client(proc: subprocess.Popen[str], report: Path, *, close_stdin: bool) -> ClientRun:
    """Tell the client to stop (closing its stdin) and wait for it, bounded."""
    started = time.monotonic()
    try:
        if close_stdin and proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=WAIT)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=WAIT)
    elapsed = time.monotonic() - started
    data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}
    stderr = report.with_name(report.name.replace("-report.json", "-stderr.txt"))
    return ClientRun(proc.returncode, stderr.read_text(encoding="utf-8"), elapsed, data)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@dataclass
class KillResult:
    """What the killed-server scenario measured."""

    seconds: float
    first: ClientRun
    server_stats_before_kill: dict[str, int]
    killed_at: float
    outbox_existed: bool
    outbox: list[dict[str, Any]]
    second: ClientRun
    received: list[str]
    """uuids the next process's server recorded, in order, duplicates included."""
    next_requests: int
    home_after: list[str]

    @property
    def generated(self) -> int:
        return int(self.first.report.get("stats", {}).get("enqueued", -1))

    @property
    def acked(self) -> dict[str, tuple[str, str | None]]:
        return {u: (e, c) for u, e, c in self.first.report.get("acked", [])}

    @property
    def outbox_uuids(self) -> set[str]:
        return {str(e["uuid"]) for e in self.outbox}

    def first_received(self) -> list[str]:
        """The first ``len(outbox)`` distinct uuids the next process's server recorded (a
        batch resent after a timeout repeats uuids already counted)."""
        return list(dict.fromkeys(self.received))[: len(self.outbox)]

    def covered(self) -> dict[str, tuple[str, str | None]]:
        """Every event acknowledged by the dead server or kept in the outbox, by uuid."""
        events = dict(self.acked)
        for e in self.outbox:
            events[str(e["uuid"])] = (str(e["event"]), _chat_id(e["properties"]))
        return events

    def missing_chat_ids(self) -> set[str]:
        """Predictions of the first client neither acknowledged nor in the outbox."""
        wanted = Tally(per_thread=self.first.report.get("per_thread", [])).chat_ids("kill")
        have = {c for e, c in self.covered().values() if e == "prediction_sent"}
        return wanted - have

    def summary(self) -> str:
        r1 = self.first.report
        stats = r1.get("stats", {})
        dupes = len(self.received) - len(set(self.received))
        after_kill = r1.get("last_prediction_at", 0) - self.killed_at
        return (
            f"soak kill {self.seconds:g}s x {len(r1.get('per_thread', []))} threads: "
            f"{r1.get('succeeded')}/{r1.get('attempted')} predictions ok "
            f"(the last {after_kill:.1f}s after the kill); {self.generated} events made: "
            f"{len(self.acked)} acknowledged before the kill (server had "
            f"{self.server_stats_before_kill.get('unique')} unique at its last /stats) + "
            f"{len(self.outbox)} in the outbox ({len(self.outbox_uuids & set(self.acked))} "
            f"in both), {len(self.missing_chat_ids())} missing; client exited "
            f"{self.first.returncode} in {self.first.exit_seconds:.2f}s; "
            f"delivered={stats.get('delivered')} dropped={stats.get('dropped')} "
            f"failed={stats.get('failed')}; peak RSS {r1.get('peak_rss_mb', 0):.0f} MB. "
            f"Next process: "
            f"{len(self.outbox_uuids & set(self.received))}/{len(self.outbox)} outbox events "
            f"delivered ({dupes} raw duplicates, {self.next_requests} requests), exit "
            f"{self.second.returncode} in {self.second.exit_seconds:.2f}s, home after: "
            f"{self.home_after}"
        )

    def problems(self) -> list[str]:
        found = []
        for name, run in (("first", self.first), ("next", self.second)):
            if run.returncode != 0 or "Traceback" in run.stderr or not run.report:
                found.append(f"{name} client exited {run.returncode}: {run.stderr[-2000:]}")
            elif run.report["errors"] or run.report["succeeded"] != run.report["attempted"]:
                found.append(f"{name} client predictions failed: {run.report['errors'][:3]}")
        if self.first.exit_seconds >= EXIT_BOUND_SECONDS:
            found.append(f"the first client took {self.first.exit_seconds:.1f}s to exit")
        if not self.outbox_existed or not self.outbox:
            found.append("no outbox after the server was killed")
        stats = self.first.report.get("stats", {})
        if stats.get("dropped") or stats.get("failed"):
            found.append(f"first client dropped or failed events: {stats}")
        attempted = self.first.report.get("attempted", -1)
        if self.generated != attempted + SETUP_EVENTS or len(self.covered()) != self.generated:
            found.append(
                f"{self.generated} events made for {attempted} predictions, "
                f"{len(self.covered())} acknowledged or in the outbox"
            )
        if self.missing_chat_ids():
            found.append(f"{len(self.missing_chat_ids())} predictions lost")
        if not self.outbox_uuids <= set(self.received):
            found.append(f"{len(self.outbox_uuids - set(self.received))} outbox events unsent")
        if set(self.first_received()) != self.outbox_uuids:
            found.append("the next process did not send the outbox first")
        if any(name.startswith("outbox") for name in self.home_after):
            found.append(f"outbox left behind: {self.home_after}")
        return found


def run_kill_soak(seconds: float, workdir: Path) -> KillResult:
    """Kill the server for good half-way through a client's ``seconds``; then let the next
    process deliver the outbox to a fresh server.

    :param workdir: an empty folder for ``FLOWKIT_HOME``, reports and the clients' cwd.
    """
    fake = load_fake_posthog()
    home = workdir / "home"
    proc: subprocess.Popen[str] | None = None
    try:
        with ServerProcess() as server:
            proc, report = start_client(
                workdir,
                client_env(home, server.url),
                "kill",
                "--max-seconds",
                str(seconds * 4 + WAIT),
            )
            deadline = time.monotonic() + WAIT
            while server.stats()["unique"] == 0 and time.monotonic() < deadline:
                if proc.poll() is not None:
                    break
                time.sleep(0.05)
            time.sleep(seconds / 2)
            before = server.stats()
            killed_at = time.time()
            server.kill()
            time.sleep(seconds / 2)  # the client keeps predicting into the void
        first = finish_client(proc, report, close_stdin=True)
        proc = None
    finally:
        if proc is not None:
            _stop_process(proc)
    outbox_path = home / "outbox.jsonl"
    outbox_existed = outbox_path.exists()
    outbox = read_jsonl(outbox_path) if outbox_existed else []
    with fake.FakePostHog(api_key=API_KEY) as fresh:
        env = client_env(home, fresh.url)
        proc, report = start_client(
            workdir, env, "next", "--predictions", "2", "--exit-timeout", str(WAIT / 2)
        )
        try:
            second = finish_client(proc, report, close_stdin=False)
        finally:
            if proc.poll() is None:
                _stop_process(proc)
        received = fresh.uuids()
        next_requests = fresh.requests
    return KillResult(
        seconds=seconds,
        first=first,
        server_stats_before_kill=before,
        killed_at=killed_at,
        outbox_existed=outbox_existed,
        outbox=outbox,
        second=second,
        received=received,
        next_requests=next_requests,
        home_after=sorted(p.name for p in home.iterdir()),
    )


def client_main(args: argparse.Namespace) -> int:
    """The client process: predict from 8 threads with telemetry from the environment;
    write a report after telemetry's own exit flush (atexit runs it last: registered first)."""
    report = Path(args.report)
    recorder: list[RecordingSink] = []
    telemetry_box: list[Telemetry] = []
    tally = Tally()
    started = time.time()

    def write_report() -> None:
        sink, telemetry = recorder[0], telemetry_box[0]
        stats = telemetry.stats
        data = {
            "per_thread": tally.per_thread,
            "attempted": tally.attempted,
            "succeeded": tally.succeeded,
            "errors": (tally.errors + tally.wrong)[:20],
            "started_at": started,
            "last_prediction_at": tally.last_prediction_at,
            "stats": {
                "enqueued": stats.enqueued,
                "delivered": stats.delivered,
                "dropped": stats.dropped,
                "failed": stats.failed,
                "queued": stats.queued,
            },
            "acked": [[u, e, c] for u, (e, c) in sink.acked_events.items()],
            "attempted_uuids": len(sink.attempted),
            "peak_rss_mb": peak_rss_mb(),
        }
        tmp = report.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(report)

    atexit.register(write_report)  # before telemetry registers its own: runs after it
    settings = TelemetrySettings.from_env()
    assert settings.posthog_api_key, "POSTHOG_PUBLIC_API_KEY must be set"
    sink = RecordingSink(
        PostHogSink(settings.posthog_api_key, settings.posthog_host, timeout=SINK_TIMEOUT),
        details=True,
    )
    recorder.append(sink)
    telemetry = Telemetry(
        sink,
        settings,
        max_backoff=MAX_BACKOFF,
        flush_interval=FLUSH_INTERVAL,
        exit_timeout=args.exit_timeout,
    ).connect()
    telemetry_box.append(telemetry)
    ws, flow = soak_workspace()

    stopped = threading.Event()
    if args.predictions is None:

        def watch_stdin() -> None:
            with contextlib.suppress(OSError, ValueError):
                while os.read(sys.stdin.fileno(), 65536):
                    pass
            stopped.set()

        threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()
    result = predict_in_threads(
        ws,
        flow,
        prefix=args.prefix,
        until=time.monotonic() + args.max_seconds,
        stopped=stopped,
        count=args.predictions,
    )
    tally.per_thread, tally.succeeded = result.per_thread, result.succeeded
    tally.errors, tally.wrong = result.errors, result.wrong
    tally.last_prediction_at = result.last_prediction_at
    return 0  # no flush, no shutdown: the interpreter's exit does it


# ---- the script ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    parser.add_argument("--seconds", type=float, default=None, help="$FLOWKIT_SOAK_SECONDS or 10")
    parser.add_argument("--scenario", choices=["chaos", "kill", "all"], default="all")
    parser.add_argument("--seed", type=int, default=6)
    client = sub.add_parser("client", help="internal: the client process of the kill scenario")
    client.add_argument("--report", required=True)
    client.add_argument("--prefix", default="kill")
    client.add_argument("--predictions", type=int, default=None, help="per thread, then exit")
    client.add_argument("--max-seconds", type=float, default=600.0)
    client.add_argument("--exit-timeout", type=float, default=EXIT_TIMEOUT)
    args = parser.parse_args(argv)
    if args.command == "client":
        return client_main(args)

    seconds = args.seconds if args.seconds is not None else default_seconds()
    print(__doc__.split("\n\n", 2)[2].split("The script exits")[0].rstrip(), flush=True)
    print(f"\nchaos: {CHAOS}; sink timeout {SINK_TIMEOUT}s, max backoff {MAX_BACKOFF}s\n")
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="flowkit-soak-") as tmp:
        if args.scenario in ("chaos", "all"):
            chaos = run_chaos_soak(seconds, Path(tmp) / "chaos-home", seed=args.seed)
            print(chaos.summary(), flush=True)
            problems += chaos.problems()
        if args.scenario in ("kill", "all"):
            kill = run_kill_soak(seconds, Path(tmp) / "kill")
            print(kill.summary(), flush=True)
            problems += kill.problems()
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print("soak: " + ("FAILED" if problems else "all checks passed"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
