"""Background delivery: a bounded queue, one consumer thread, batches, retries, an outbox.

The caller's thread only appends a small record to a deque (no lock, no syscall, no uuid);
the consumer thread turns records into events, delivers them in batches through a sink,
retries what can be retried with exponential backoff and jitter (honouring ``Retry-After``),
and, when the process ends before everything is delivered, appends what is left to an
outbox file that the next process sends first.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import logging
import os
import random
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from flowkit.errors import DeliveryError
from flowkit.telemetry.envelope import TelemetryEvent, encode_events
from flowkit.telemetry.sinks import Sink

__all__ = ["Delivery", "Record", "TelemetryStats", "has_outbox"]

logger = logging.getLogger("flowkit.telemetry")

Record = tuple[str, dict[str, Any], "dict[str, Any] | None", float]
"""What the caller enqueues: event name, payload fields, shared flow graph, time.time()."""

Builder = Callable[[Sequence[Record]], list[TelemetryEvent]]


@dataclass(frozen=True, slots=True)
class TelemetryStats:
    """Counters of a telemetry client, read at one moment.

    :param enqueued: events accepted into the queue.
    :param delivered: events a sink accepted (including those an earlier process left in
        the outbox).
    :param dropped: events refused because the queue was full.
    :param failed: events given up on (a sink refused them for good, or they were invalid).
    :param queued: events accepted and not yet delivered or given up on.
    """

    enqueued: int = 0
    delivered: int = 0
    dropped: int = 0
    failed: int = 0
    queued: int = 0


class Delivery:
    """The queue and consumer thread behind :class:`~flowkit.telemetry.Telemetry`.

    :param sink_factory: makes the sink, on the consumer thread, when delivery starts.
    :param build: turns records into events (on the consumer thread), in order, leaving
        out the records that make no valid event (they are counted as failed).
    :param outbox: the file undelivered events are appended to at exit (None: none).
    :param max_queue_size: records the queue holds; more are dropped and counted.
    :param batch_size: events per batch at most.
    :param flush_interval: seconds a partial batch waits for more events.
    :param max_backoff: the longest backoff between two tries of a batch, in seconds; a
        longer ``Retry-After`` asked by the receiver is still honoured.
    :param exit_timeout: seconds the exit flush waits before writing the outbox.
    :param synchronous: deliver on the caller's thread, once, with no thread (for tests).
    :param on_delivered: called (on the delivering thread) after every delivered batch.
    """

    def __init__(
        self,
        *,
        sink_factory: Callable[[], Sink],
        build: Builder,
        outbox: Path | None,
        max_queue_size: int = 250_000,
        batch_size: int = 500,
        flush_interval: float = 0.5,
        max_backoff: float = 30.0,
        exit_timeout: float = 5.0,
        synchronous: bool = False,
        on_delivered: Callable[[], None] | None = None,
    ) -> None:
        self._sink_factory = sink_factory
        self._build = build
        self._outbox = outbox
        self.max_queue_size = max_queue_size
        self.batch_size = max(1, batch_size)
        self.flush_interval = flush_interval
        self.max_backoff = max_backoff
        self.exit_timeout = exit_timeout
        self.synchronous = synchronous
        self._on_delivered = on_delivered
        self._queue: deque[Record] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._lock = threading.Lock()
        # Held while records move from the queue to ``_taken``, so that ``_taken`` plus the
        # queue's length, read under it, counts every record exactly once.
        self._moving = threading.Lock()
        self._thread: threading.Thread | None = None
        self._sink: Sink | None = None
        self._taken = self._delivered = self._failed = self._dropped = 0
        # This process's own records delivered or given up on (what flush waits for), and
        # of those the ones given up on; events resent from the outbox count in neither.
        self._settled = self._own_failed = 0
        self._inflight: list[TelemetryEvent] = []
        self._inflight_records: Sequence[Record] = ()
        self._warned_full = False

    # ---- the caller's side ----------------------------------------------------------------

    def put(self, record: Record) -> None:
        """Enqueue one record; never blocks, never raises for a full queue (drops, counts)."""
        queue = self._queue
        if len(queue) >= self.max_queue_size or self._stop.is_set():
            self._drop()
            return
        queue.append(record)
        if self._thread is None:
            if self.synchronous:
                self._deliver_now()
                return
            self._start()
        if len(queue) >= self.batch_size and not self._wake.is_set():
            self._wake.set()

    def _drop(self) -> None:
        with self._lock:
            self._dropped += 1
            warn = not self._warned_full
            self._warned_full = True
        if warn:
            logger.warning(
                "telemetry queue full (%d events): dropping new events until it drains",
                self.max_queue_size,
            )

    def start(self) -> None:
        """Start the consumer thread now (it starts by itself with the first event), so
        that an outbox left by an earlier process is sent without waiting for one."""
        if self._thread is None and not self.synchronous:
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            thread = threading.Thread(target=self._run, name="flowkit-telemetry", daemon=True)
            self._thread = thread
            _register_exit_flush(self)
            thread.start()

    def _deliver_now(self) -> None:
        with self._lock:
            records = self._pop(len(self._queue))
            events = self._events(records)
            if events:
                self._send_once(events)

    @property
    def stats(self) -> TelemetryStats:
        """The counters now."""
        with self._moving:
            taken, queued = self._taken, len(self._queue)
        inflight = len(self._inflight) or len(self._inflight_records)
        return TelemetryStats(
            enqueued=taken + queued,
            delivered=self._delivered,
            dropped=self._dropped,
            failed=self._failed,
            queued=queued + inflight,
        )

    @property
    def started(self) -> bool:
        """Whether the consumer thread was started."""
        return self._thread is not None

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything enqueued so far was delivered or given up on.

        Only this process's events count: an earlier process's outbox, sent first, neither
        ends the wait early nor makes it fail.

        :param timeout: seconds to wait at most (None: as long as it takes).
        :returns: True when all of it was delivered; False on timeout or when some failed.
        """
        with self._moving:
            target = self._taken + len(self._queue)
        failed_before = self._own_failed
        if self._thread is None:
            return not self._queue and self._own_failed == failed_before
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._settled < target:
                # Stopped for good (a thread that has not started yet has no ident).
                if self._thread.ident is not None and not self._thread.is_alive():
                    return False
                self._wake.set()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(0.05 if remaining is None else min(0.05, remaining))
        return self._own_failed == failed_before

    def shutdown(self, timeout: float | None = 5.0) -> None:
        """Flush for up to ``timeout`` seconds, stop the thread, close the sink, and append
        whatever is still undelivered to the outbox. Later events are dropped."""
        if self._thread is not None:
            self.flush(timeout)
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(1.0)
        self._save_outbox()
        _live.discard(self)
        sink = self._sink
        if sink is not None:
            try:
                sink.close()
            except Exception:
                logger.exception("closing the telemetry sink failed")

    # ---- the consumer thread -------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._sink = self._sink_factory()
            self._send_outbox()
            while not self._stop.is_set():
                records = self._take()
                if records:
                    events = self._events(records)
                    if events and self._send(events):
                        self._inflight = []
                with self._idle:
                    self._idle.notify_all()
        except Exception:
            logger.exception("telemetry delivery stopped")

    def _take(self) -> Sequence[Record]:
        queue = self._queue
        while not self._stop.is_set():
            n = len(queue)
            if n >= self.batch_size or (
                n and time.time() - queue[0][3] >= self.flush_interval
            ):
                return self._pop(self.batch_size)
            if n and self._wake.is_set():
                return self._pop(self.batch_size)
            self._wake.clear()
            with self._idle:
                self._idle.notify_all()
            self._wake.wait(self.flush_interval)
        return ()

    def _pop(self, limit: int) -> list[Record]:
        queue = self._queue
        records = []
        popleft = queue.popleft
        with self._moving:
            for _ in range(min(limit, len(queue))):
                records.append(popleft())
            self._taken += len(records)
        self._inflight_records = records
        return records

    def _events(self, records: Sequence[Record]) -> list[TelemetryEvent]:
        try:
            events = self._build(records)
        except Exception:
            logger.exception("could not build %d telemetry events; they are dropped", len(records))
            events = []
        self._inflight = events
        self._inflight_records = ()
        if len(events) < len(records):  # the builder left out what made no valid event
            self._settle(len(records) - len(events), failed=True, own=True)
        return events

    def _settle(self, count: int, *, failed: bool, own: bool) -> None:
        """Count ``count`` events as delivered or given up on.

        :param own: whether this process enqueued them (False for the outbox's events).
        """
        if failed:
            self._failed += count
            if own:
                self._own_failed += count
        else:
            self._delivered += count
            if self._on_delivered is not None:
                self._on_delivered()
        if own:
            self._settled += count  # last: flush reads it, then the failure count

    def _send_once(self, events: list[TelemetryEvent]) -> None:
        if self._sink is None:
            self._sink = self._sink_factory()
        try:
            self._sink.send(events)
        except Exception as exc:
            self._settle(len(events), failed=True, own=True)
            logger.warning("telemetry batch of %d events not delivered: %s", len(events), str(exc))
        else:
            self._settle(len(events), failed=False, own=True)
        self._inflight = []

    def _send(self, events: list[TelemetryEvent], *, own: bool = True) -> bool:
        """Deliver one batch, retrying until it goes, fails for good, or shutdown.

        Between tries the wait grows exponentially, with jitter, up to ``max_backoff``; a
        receiver's ``Retry-After`` is the least wait, even when longer than that.

        :param own: whether this process enqueued the events (False for the outbox's).
        :returns: True when the batch was delivered or given up on; False when shutdown
            came first (the caller keeps it in flight, for the outbox).
        """
        sink = self._sink
        assert sink is not None
        attempt = 0
        while True:
            try:
                sink.send(events)
            except DeliveryError as exc:
                if not exc.retryable:
                    self._give_up(events, exc, own=own)
                    return True
                delay = self._backoff(attempt)
                if exc.retry_after is not None:
                    delay = max(delay, exc.retry_after)
                # str(exc), here and below: a log record keeps its arguments, and a handler
                # that keeps records (pytest's capture, a MemoryHandler) would keep the
                # exception's traceback and, through its frames, the batch and its body.
                logger.info("telemetry delivery failed (%s); retrying in %.2fs", str(exc), delay)
            except Exception as exc:  # a sink that failed in its own way: retried as well
                delay = self._backoff(attempt)
                logger.warning(
                    "telemetry sink failed (%s: %s); retrying in %.2fs",
                    type(exc).__name__,
                    str(exc),
                    delay,
                    exc_info=attempt == 0,
                )
            else:
                self._settle(len(events), failed=False, own=own)
                return True
            attempt += 1
            if self._stop.wait(delay):
                return False  # shutdown: the batch stays in flight and goes to the outbox

    def _give_up(self, events: list[TelemetryEvent], exc: BaseException, *, own: bool) -> None:
        self._settle(len(events), failed=True, own=own)
        logger.warning(
            "telemetry batch of %d events refused for good: %s", len(events), str(exc)
        )

    def _backoff(self, attempt: int) -> float:
        base = min(self.max_backoff, 0.1 * 2.0 ** min(attempt, 30))
        return base * random.uniform(0.5, 1.0)  # jitter, not security

    # ---- the outbox -----------------------------------------------------------------------

    def _save_outbox(self) -> None:
        """Append what is in flight and still queued to the outbox (at shutdown/exit).

        Built, encoded and written a batch at a time: a full queue costs about one batch
        of memory more, not a copy of every event and of the whole file's text.
        """
        if self._outbox is None:
            return
        try:
            inflight = list(self._inflight)
            records = [*self._inflight_records, *self._pop(len(self._queue))]
            self._inflight = []
            step = self.batch_size
            batches = itertools.chain(
                (inflight[i : i + step] for i in range(0, len(inflight), step)),
                (self._build(records[i : i + step]) for i in range(0, len(records), step)),
            )
            saved = 0
            with contextlib.ExitStack() as stack:
                file: TextIO | None = None
                for events in batches:
                    if not events:
                        continue
                    if file is None:  # no file at all when nothing is left to keep
                        self._outbox.parent.mkdir(parents=True, exist_ok=True)
                        file = stack.enter_context(
                            open(self._outbox, "a", encoding="utf-8", errors="backslashreplace")
                        )
                    file.write("".join(line + "\n" for line in encode_events(events, "wire")))
                    saved += len(events)
            if saved:
                logger.warning(
                    "%d telemetry events not delivered; kept in %s for the next run",
                    saved,
                    self._outbox,
                )
        except Exception:
            logger.exception("could not write the telemetry outbox")

    def _send_outbox(self) -> None:
        """Send what earlier processes left in the outbox, before anything new: the outbox
        itself, and any outbox a process claimed but died while sending."""
        outbox = self._outbox
        if outbox is None:
            return
        claimed = _claim_outboxes(outbox)
        if not claimed:
            return  # the common case
        try:
            events = [event for path in claimed for event in _read_outbox(path)]
            for start in range(0, len(events), self.batch_size):
                # All that is left stays in flight, so a shutdown at any moment keeps it for
                # the next process (at worst a batch is sent twice; its uuids dedupe it).
                rest = events[start:]
                self._inflight = rest
                batch = rest[: self.batch_size]
                if not self._send(batch, own=False):
                    break  # shutdown during a retry: all of `rest` goes back to the outbox
                if self._stop.is_set():
                    self._inflight = rest[len(batch) :]
                    break
            else:
                self._inflight = []
            for path in claimed:
                path.unlink()
        except Exception:
            logger.exception("could not send the telemetry outbox %s", claimed[0])


_SENDING = ".sending"


def _claimed_by(outbox: Path, path: Path) -> int | None:
    """The pid in ``<outbox>.<pid>[.<n>].sending``, or None for any other name."""
    middle = path.name[len(outbox.name) + 1 : -len(_SENDING)]
    pid = middle.split(".", 1)[0]
    return int(pid) if pid.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process, or we cannot tell: leave its file alone
    return True


def _orphans(outbox: Path) -> list[Path]:
    """Outboxes claimed by processes that died before they finished sending them."""
    found = []
    for path in sorted(outbox.parent.glob(f"{outbox.name}.*{_SENDING}")):
        pid = _claimed_by(outbox, path)
        if pid is not None and pid != os.getpid() and not _alive(pid):
            found.append(path)
    return found


def has_outbox(outbox: Path) -> bool:
    """Whether an earlier process left events to send: the outbox, or an orphaned claim."""
    return outbox.exists() or bool(_orphans(outbox))


def _claim_outboxes(outbox: Path) -> list[Path]:
    """Rename the outbox and every orphaned claim to names of this process, atomically, so
    that no other process sends them too; return the claimed files, oldest first."""
    pid = os.getpid()
    claimed = []
    for n, orphan in enumerate(_orphans(outbox)):
        mine = outbox.with_name(f"{outbox.name}.{pid}.{n}{_SENDING}")
        with contextlib.suppress(OSError):  # another process took it first
            os.replace(orphan, mine)
            claimed.append(mine)
    mine = outbox.with_name(f"{outbox.name}.{pid}{_SENDING}")
    with contextlib.suppress(OSError):  # no outbox, or another process took it
        os.replace(outbox, mine)
        claimed.append(mine)
    return claimed


def _read_outbox(path: Path) -> list[TelemetryEvent]:
    events: list[TelemetryEvent] = []
    skipped = 0
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                obj = json.loads(line)
                events.append(
                    TelemetryEvent(
                        event=str(obj["event"]),
                        distinct_id=str(obj["distinctId"]),
                        properties=dict(obj["properties"]),
                        timestamp=datetime.fromisoformat(obj["timestamp"]),
                        uuid=str(obj["uuid"]),
                    )
                )
            except (ValueError, KeyError, TypeError):
                skipped += 1
    if skipped:
        logger.warning("skipped %d unreadable lines of the telemetry outbox %s", skipped, path)
    return events


# Clients whose thread runs; flushed at interpreter exit (held weakly: no leak). The exit
# hook is registered with the first thread, never at import.
_live: weakref.WeakSet[Delivery] = weakref.WeakSet()
_exit_lock = threading.Lock()
_exit_registered = False


def _register_exit_flush(delivery: Delivery) -> None:
    global _exit_registered
    with _exit_lock:
        _live.add(delivery)
        if not _exit_registered:
            # At exit, weakref.finalize calls the pending finalizers from one atexit hook,
            # registered when the process makes its first finalizer; urllib3 empties a
            # connection pool that way, which would leave the PostHog sink no connection
            # for the exit flush. Making a finalizer first registers that hook before ours,
            # and atexit runs the last registered first: the flush comes before it.
            weakref.finalize(_flush_all_at_exit, _no_op).atexit = False
            atexit.register(_flush_all_at_exit)
            _exit_registered = True


def _no_op() -> None:
    """Nothing: the callback of the finalizer that orders the exit hooks."""


def _flush_all_at_exit() -> None:
    for delivery in list(_live):
        try:
            delivery.shutdown(delivery.exit_timeout)
        except Exception:
            logger.exception("telemetry exit flush failed")
