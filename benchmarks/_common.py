"""Shared helpers for flowkit's benchmarks: the fake PostHog server as a separate process,
timing loops, generated flows, a loopback-only network guard, and result tables.

Every helper bounds its waits with a timeout; :class:`FakeServerProcess` always stops its
process on exit (``with`` or :meth:`FakeServerProcess.close`).
"""

from __future__ import annotations

import contextlib
import gc
import http.client
import ipaddress
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowkit import Chatflow

REPO = Path(__file__).resolve().parents[1]
FAKE_SERVER_SCRIPT = REPO / "tests" / "fake_posthog.py"

# Flowise component names, cycled through to build chains with Flowise-pattern ids
# (``<name>_<n>``), so telemetry sends them unchanged (no pseudonyms).
CHAIN_COMPONENTS: tuple[str, ...] = (
    "textFile",
    "recursiveCharacterTextSplitter",
    "openAIEmbeddings",
    "memoryVectorStore",
    "promptTemplate",
    "chatOpenAI",
    "bufferMemory",
    "llmChain",
    "conversationalRetrievalQAChain",
    "customTool",
)


# ---- the fake PostHog server, in its own process -------------------------------------------


class ServerError(RuntimeError):
    """The fake server did not start, or stopped answering."""


class FakeServerProcess:
    """``tests/fake_posthog.py`` run as a separate process on 127.0.0.1 (a free port).

    Stopped by closing its stdin, then SIGTERM, then SIGKILL, each bounded in time.

    :param start_timeout: seconds to wait for its ``READY <url>`` line.
    """

    def __init__(self, *, start_timeout: float = 20.0) -> None:
        self.start_timeout = start_timeout
        self.url = ""
        self.port = 0
        self._proc: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None

    def __enter__(self) -> FakeServerProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> FakeServerProcess:
        """Start the process and wait for it to listen.

        :raises ServerError: when it does not print ``READY <url>`` in time.
        """
        self._stderr = tempfile.TemporaryFile(  # noqa: SIM115 - closed in close()
            "w+", encoding="utf-8", errors="replace"
        )
        self._proc = subprocess.Popen(
            [sys.executable, str(FAKE_SERVER_SCRIPT), "--host", "127.0.0.1", "--port", "0"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            cwd=REPO,
        )
        lines: queue.Queue[str] = queue.Queue()
        stdout = self._proc.stdout
        assert stdout is not None

        def read_ready() -> None:
            with contextlib.suppress(Exception):
                lines.put(stdout.readline())

        threading.Thread(target=read_ready, name="fake-posthog-ready", daemon=True).start()
        try:
            line = lines.get(timeout=self.start_timeout).strip()
        except queue.Empty:
            line = ""
        if not line.startswith("READY "):
            detail = self._stderr_tail()
            self.close()
            raise ServerError(f"fake PostHog server did not start (got {line!r}): {detail}")
        self.url = line.split(" ", 1)[1]
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    @property
    def pid(self) -> int | None:
        """The server process id while it runs."""
        return self._proc.pid if self._proc is not None else None

    def cpu_seconds(self) -> float | None:
        """CPU time the server process used so far (user + system), or None if unknown."""
        return process_cpu_seconds(self.pid) if self.pid is not None else None

    def stats(self, timeout: float = 5.0) -> dict[str, int]:
        """Return the server's ``GET /stats`` counts (``events``, ``unique``, ``requests``...).

        :raises ServerError: when it does not answer.
        """
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", "/stats")
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise ServerError(f"GET /stats answered {response.status}")
            data: dict[str, int] = json.loads(body)
            return data
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise ServerError(f"GET /stats failed: {exc}") from exc
        finally:
            conn.close()

    def wait_for_events(
        self, count: int, *, timeout: float, poll: float = 0.01
    ) -> tuple[bool, dict[str, int], float]:
        """Poll ``/stats`` until ``events >= count`` or ``timeout`` seconds pass.

        :returns: (reached, the last stats, ``perf_counter()`` when they were read).
        """
        deadline = time.perf_counter() + timeout
        while True:
            stats = self.stats()
            now = time.perf_counter()
            if stats["events"] >= count or now >= deadline:
                return stats["events"] >= count, stats, now
            time.sleep(poll)

    def wait_until_stable(
        self, *, quiet: float, timeout: float, poll: float = 0.02
    ) -> tuple[dict[str, int], float]:
        """Poll ``/stats`` until ``events`` has not grown for ``quiet`` seconds.

        :returns: (the last stats, ``perf_counter()`` of the last read that saw growth, or
            of the first read when nothing grew).
        """
        start = time.perf_counter()
        stats = self.stats()
        last_change = time.perf_counter()
        while True:
            time.sleep(poll)
            now_stats = self.stats()
            now = time.perf_counter()
            if now_stats["events"] != stats["events"]:
                stats, last_change = now_stats, now
            elif now - last_change >= quiet or now - start >= timeout:
                return stats, last_change

    def close(self) -> None:
        """Stop the process (closing stdin, then SIGTERM, then SIGKILL); safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):
                with contextlib.suppress(OSError):
                    if stream is not None:
                        stream.close()
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=3)
        if self._stderr is not None:
            with contextlib.suppress(OSError):
                self._stderr.close()
            self._stderr = None

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        with contextlib.suppress(OSError):
            self._stderr.seek(0)
            return self._stderr.read()[-2000:]
        return ""


# ---- CPU accounting (Linux; None elsewhere) ------------------------------------------------


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` from ``/proc``, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        fields = text.rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        return ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def thread_cpu_seconds(thread: threading.Thread) -> float | None:
    """CPU seconds a live thread used so far, or None (ended, or not supported)."""
    try:
        ident = thread.ident
        if ident is None or not thread.is_alive():
            return None
        return time.clock_gettime(time.pthread_getcpuclockid(ident))
    except (AttributeError, OSError, ValueError):
        return None


def threads_cpu_seconds(threads: Sequence[threading.Thread]) -> float | None:
    """Sum of :func:`thread_cpu_seconds` over ``threads`` (those that can be read)."""
    values = [v for v in (thread_cpu_seconds(t) for t in threads) if v is not None]
    return sum(values) if values else None


class GcPauses:
    """Counts the garbage collector's passes and their total wall time while installed."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self._started = 0.0

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.count += 1
            self.seconds += time.perf_counter() - self._started


# ---- a loopback-only network guard ----------------------------------------------------------


@dataclass
class NetworkGuard:
    """Refuses any socket connection or name lookup that is not for the loopback interface,
    and counts connections.

    It wraps ``socket.socket.connect``/``connect_ex`` and ``socket.getaddrinfo`` (what
    http.client, urllib3 and requests go through) rather than installing an audit hook:
    a hook would also run on every ``id()`` call (an audited event) and slow down the very
    paths being measured.
    """

    blocked: list[str] = field(default_factory=list)
    connections: int = 0

    def install(self) -> NetworkGuard:
        import socket

        guard = self
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex
        real_getaddrinfo = socket.getaddrinfo

        def connect(sock: socket.socket, address: Any) -> None:
            guard._check_address(address, "connect")
            real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            guard._check_address(address, "connect")
            return real_connect_ex(sock, address)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if host is not None:
                guard._check(host.decode() if isinstance(host, bytes) else str(host), "lookup")
            return real_getaddrinfo(host, *args, **kwargs)

        socket.socket.connect = connect  # type: ignore[method-assign,assignment]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
        socket.getaddrinfo = getaddrinfo
        return self

    def _check_address(self, address: Any, what: str) -> None:
        if isinstance(address, tuple) and address:  # AF_INET / AF_INET6 only
            self.connections += 1
            self._check(str(address[0]), what)

    def _check(self, host: str, what: str) -> None:
        if host == "localhost":
            return
        try:
            if ipaddress.ip_address(host).is_loopback:
                return
        except ValueError:
            pass
        self.blocked.append(f"{what} {host}")
        raise OSError(f"benchmark network guard: {what} {host!r} refused (loopback only)")


# ---- timing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """One timed run of ``calls`` calls: wall time (perf_counter_ns) and the calling thread's
    own CPU time (thread_time_ns), in nanoseconds."""

    calls: int
    wall_ns: int
    cpu_ns: int

    @property
    def us_per_call(self) -> float:
        return self.wall_ns / self.calls / 1000

    @property
    def cpu_us_per_call(self) -> float:
        return self.cpu_ns / self.calls / 1000


def time_calls(fn: Callable[[], object], calls: int) -> Timing:
    """Call ``fn`` ``calls`` times with the garbage collector collected and disabled.

    :returns: the wall and calling-thread CPU time of the whole loop.
    """
    gc.collect()
    gc.disable()
    try:
        cpu0 = time.thread_time_ns()
        t0 = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        t1 = time.perf_counter_ns()
        cpu1 = time.thread_time_ns()
    finally:
        gc.enable()
    return Timing(calls, t1 - t0, cpu1 - cpu0)


def time_each(
    fn: Callable[[], object], calls: int, setup: Callable[[], object] | None = None
) -> Timing:
    """Call ``fn`` ``calls`` times with the garbage collector collected and disabled, keeping
    every result until the clock has stopped (so freeing them is not timed).

    :param setup: called before each call, untimed (e.g. to change the flow, or to let a
        background thread finish); then each call is timed on its own and the times summed.
        Without it the whole loop is timed at once.
    :returns: the wall and calling-thread CPU time of the calls.
    """
    kept: list[object] = []
    gc.collect()
    gc.disable()
    try:
        if setup is None:
            cpu0 = time.thread_time_ns()
            t0 = time.perf_counter_ns()
            for _ in range(calls):
                kept.append(fn())
            wall = time.perf_counter_ns() - t0
            cpu = time.thread_time_ns() - cpu0
        else:
            wall = cpu = 0
            for _ in range(calls):
                setup()
                cpu0 = time.thread_time_ns()
                t0 = time.perf_counter_ns()
                kept.append(fn())
                t1 = time.perf_counter_ns()
                cpu += time.thread_time_ns() - cpu0
                wall += t1 - t0
    finally:
        gc.enable()
    del kept
    return Timing(calls, wall, cpu)


@contextlib.contextmanager
def frozen_heap(*, collect: bool = True) -> Iterator[None]:
    """Collect (unless ``collect`` is False), then move every object alive now to the
    collector's permanent generation for the block (``gc.freeze``), so that the
    ``gc.collect()`` before each timed run does not rescan large inputs that live through
    many runs."""
    if collect:
        gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def peak_rss_bytes() -> int | None:
    """The process's peak resident set size so far (``getrusage``), or None if unknown."""
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB on Linux


def best(timings: Sequence[Timing]) -> Timing:
    """The run with the lowest wall time."""
    return min(timings, key=lambda t: t.wall_ns)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def run_bounded(fn: Callable[[], object], timeout: float, name: str) -> bool:
    """Run ``fn`` on a daemon thread and wait at most ``timeout`` seconds.

    :returns: whether it returned in time (an exception counts as returned; it is printed).
    """
    done = threading.Event()

    def target() -> None:
        try:
            fn()
        except Exception as exc:
            print(f"  ({name} raised {type(exc).__name__}: {exc})", flush=True)
        finally:
            done.set()

    threading.Thread(target=target, name=name, daemon=True).start()
    return done.wait(timeout)


class DiscardSink:
    """A telemetry sink that accepts every batch and keeps nothing."""

    def send(self, batch: Any) -> None:
        """Accept the batch."""

    def close(self) -> None:
        """Nothing to close."""


# ---- flows ----------------------------------------------------------------------------------


def chain_flow(nodes: int, name: str | None = None) -> Chatflow:
    """Build a :class:`flowkit.Chatflow` chain of ``nodes`` nodes with Flowise-pattern ids
    (``llmChain_3``...), each connected to the next.
    """
    from flowkit import Chatflow

    flow = Chatflow(name=name or f"bench chain of {nodes}")
    previous = None
    for i in range(nodes):
        node = flow.add_node(CHAIN_COMPONENTS[i % len(CHAIN_COMPONENTS)])
        if previous is not None:
            flow.connect(previous, node, "input")
        previous = node
    return flow


# ---- printing -------------------------------------------------------------------------------


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print a plain-text table with left-aligned first column and right-aligned others."""
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = [row[0].ljust(widths[0])]
        parts += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(parts).rstrip()

    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(line(row))


def fmt_rate(rate: float) -> str:
    return f"{rate:,.0f}/s"


def fmt_bytes(size: float) -> str:
    """``size`` bytes in MiB (or KiB below 1 MiB)."""
    return f"{size / 2**20:,.1f} MiB" if size >= 2**20 else f"{size / 2**10:,.1f} KiB"
