"""The background half of telemetry, one way: queue -> builder -> batcher -> sink -> outbox.

The caller's thread only appends a :class:`~flowkit.telemetry.builder.Record` to a deque
(no lock, no syscall). One background thread sends what an earlier process left in the
outbox, then takes records in batches, builds them into events, and hands each batch to the
sink, retrying with backoff (``Retry-After`` honoured), splitting a batch the receiver found
too large, and giving up on what can never be delivered (counted). Whatever is still
undelivered when the process ends goes to the outbox. No stage calls back into an earlier
one; :meth:`Pipeline.flush` waits on a condition the thread notifies.

Fork-safe: a forked child starts with an empty queue and no thread (its own starts with its
first event), and flushes at its exit like any process; the parent's queued events are sent
by the parent alone.
"""

from __future__ import annotations

import atexit
import logging
import os
import random
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flowkit.errors import DeliveryError
from flowkit.telemetry.builder import Builder, Record
from flowkit.telemetry.envelope import TelemetryEvent, encode_events
from flowkit.telemetry.outbox import Outbox
from flowkit.telemetry.sinks import PartialDelivery, PayloadTooLarge, Sink

__all__ = ["Pipeline", "TelemetryStats"]

logger = logging.getLogger("flowkit.telemetry")


@dataclass(frozen=True, slots=True)
class TelemetryStats:
    """Counters of a telemetry client, read at one moment.

    :param enqueued: events accepted into the queue.
    :param delivered: events a sink accepted (including those an earlier process left in
        the outbox).
    :param dropped: events refused because the queue was full.
    :param failed: events given up on (a sink refused them for good, one alone was too
        large for the receiver, or they were invalid).
    :param queued: events accepted and not yet delivered, given up on or kept in the outbox.
    :param outboxed: events this process kept in the outbox for a later one.
    :param outbox_dropped: the oldest outbox events dropped because the outbox was over its
        size cap (``FLOWKIT_TELEMETRY_OUTBOX_MAX_MB``).
    :param skipped: outbox lines skipped because they fit no payload model (torn, NaN, ...).
    """

    enqueued: int = 0
    delivered: int = 0
    dropped: int = 0
    failed: int = 0
    queued: int = 0
    outboxed: int = 0
    outbox_dropped: int = 0
    skipped: int = 0


class Pipeline:
    """The queue and the background thread behind :class:`~flowkit.telemetry.Telemetry`.

    :param sink_factory: makes the sink, on the background thread, when delivery starts.
    :param builder: turns records into events.
    :param outbox: where undelivered events are kept (None: nowhere).
    :param max_queue_size: records the queue holds; more are dropped and counted.
    :param batch_size: events per batch at most.
    :param flush_interval: seconds a partial batch waits for more events.
    :param max_backoff: the longest wait between two tries, in seconds (a longer
        ``Retry-After`` is still honoured).
    :param exit_timeout: seconds the exit flush may take before the rest goes to the outbox.
    :param synchronous: deliver on the caller's thread, once, with no thread (for tests).
    """

    def __init__(
        self,
        *,
        sink_factory: Callable[[], Sink],
        builder: Builder,
        outbox: Outbox | None,
        max_queue_size: int = 250_000,
        batch_size: int = 500,
        flush_interval: float = 0.5,
        max_backoff: float = 30.0,
        exit_timeout: float = 5.0,
        synchronous: bool = False,
    ) -> None:
        self._sink_factory = sink_factory
        self.builder = builder
        self.outbox = outbox
        self.max_queue_size = max_queue_size
        self.batch_size = max(1, batch_size)
        self.flush_interval = flush_interval
        self.max_backoff = max_backoff
        self.exit_timeout = exit_timeout
        self.synchronous = synchronous
        self._sink: Sink | None = None
        self._fresh_state()
        _watch_forks(self)

    def _fresh_state(self) -> None:
        self._queue: deque[Record] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._done = threading.Condition()
        self._moving = threading.Lock()  # held while records leave the queue
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._taken = self._delivered = self._failed = self._dropped = 0
        self._settled = self._own_failed = self._outboxed = self._skipped = 0
        self._flushing = 0
        self._inflight: list[TelemetryEvent] = []
        self._inflight_records: Sequence[Record] = ()
        self._outbox_due = self.outbox is not None
        self._warned_full = False
        self._closed = False  # shut down: later records are dropped

    # ---- the caller's side ----------------------------------------------------------------

    def put(self, record: Record) -> None:
        """Enqueue one record; never blocks, never raises (a full queue drops, counted)."""
        queue = self._queue
        if len(queue) >= self.max_queue_size or self._closed:
            self._drop()
            return
        queue.append(record)
        if self._thread is None:
            if self.synchronous:
                self._deliver_now()
                return
            self.start()
        elif len(queue) >= self.batch_size and not self._wake.is_set():
            self._wake.set()

    def _drop(self) -> None:
        with self._moving:
            self._dropped += 1
        if not self._warned_full:
            self._warned_full = True
            logger.warning(
                "telemetry queue full or closed (%d events): dropping new events",
                self.max_queue_size,
            )

    def start(self) -> None:
        """Start the background thread (it starts by itself with the first event)."""
        if self.synchronous:
            return
        with self._start_lock:
            if self._thread is not None or self._stop.is_set():
                return
            thread = threading.Thread(target=self._run, name="flowkit-telemetry", daemon=True)
            self._thread = thread
            _register_exit(self)
            thread.start()

    def _deliver_now(self) -> None:
        with self._start_lock:
            records = self._pop(len(self._queue))
            events = self._build(records)
            if not events:
                return
            if self._sink is None:
                self._sink = self._sink_factory()
            try:
                self._sink.send(events)
            except Exception as exc:
                self._settle(len(events), failed=True, own=True)
                logger.warning("telemetry batch of %d events not delivered: %s", len(events), exc)
            else:
                self._settle(len(events), failed=False, own=True)
            self._inflight = []

    @property
    def stats(self) -> TelemetryStats:
        """The counters now."""
        with self._moving:
            taken, queued = self._taken, len(self._queue)
        inflight = len(self._inflight) or len(self._inflight_records)
        outbox = self.outbox
        return TelemetryStats(
            enqueued=taken + queued,
            delivered=self._delivered,
            dropped=self._dropped,
            failed=self._failed,
            queued=queued + inflight,
            outboxed=self._outboxed,
            outbox_dropped=outbox.dropped if outbox is not None else 0,
            skipped=self._skipped,
        )

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event enqueued so far, and whatever an earlier process left in
        the outbox, was delivered or given up on.

        :param timeout: seconds to wait at most (None: as long as it takes).
        :returns: True when all of it was delivered; False on timeout, when some of this
            process's events were given up on, or when delivery stopped.
        """
        with self._moving:
            target = self._taken + len(self._queue)
        failed_before = self._own_failed
        if self._thread is None:
            if self.synchronous:
                return True
            if not target and not self._outbox_pending():
                return True
            self.start()
            if self._thread is None:
                return False  # shut down
        elif self.outbox is not None and not self._outbox_due and self._outbox_pending():
            self._outbox_due = True
        deadline = None if timeout is None else time.monotonic() + timeout
        thread = self._thread
        with self._done:
            self._flushing += 1
            self._wake.set()
            try:
                while self._settled < target or self._outbox_due:
                    if thread.ident is not None and not thread.is_alive():
                        return False
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._done.wait(remaining)
            finally:
                self._flushing -= 1
        return self._own_failed == failed_before

    def _outbox_pending(self) -> bool:
        try:
            return self.outbox is not None and self.outbox.pending()
        except OSError:
            return False

    def shutdown(self, timeout: float | None = 5.0) -> None:
        """Flush for up to ``timeout`` seconds, stop the thread, keep whatever is still
        undelivered in the outbox, and close the sink. Later events are dropped."""
        if self._stop.is_set():
            return
        if self._thread is not None:
            self.flush(timeout)
        self._closed = True
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(0.2)
        self._save_to_outbox()
        _live.discard(self)
        with self._done:
            self._done.notify_all()
        sink = self._sink
        if sink is not None:
            try:
                sink.close()
            except Exception:
                logger.exception("closing the telemetry sink failed")

    # ---- the background thread -------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._sink = self._sink_factory()
            while not self._stop.is_set():
                if self._outbox_due:
                    self._replay()
                records = self._take()
                if records:
                    self._deliver(records)
                self._notify()
        except Exception:
            logger.exception("telemetry delivery stopped")
        finally:
            self._notify()

    def _notify(self) -> None:
        with self._done:
            self._done.notify_all()

    def _take(self) -> Sequence[Record]:
        queue = self._queue
        while not self._stop.is_set():
            n = len(queue)
            if n >= self.batch_size or (
                n and (self._flushing or time.time() - queue[0].time >= self.flush_interval)
            ):
                return self._pop(self.batch_size)
            if self._outbox_due:
                return ()
            self._wake.clear()
            if len(queue) >= self.batch_size or (n and self._flushing) or self._outbox_due:
                continue
            self._notify()
            wait = self.flush_interval
            if n:
                wait = max(0.0, self.flush_interval - (time.time() - queue[0].time))
            self._wake.wait(wait)
        return ()

    def _pop(self, limit: int) -> list[Record]:
        popleft = self._queue.popleft
        with self._moving:
            records = [popleft() for _ in range(min(limit, len(self._queue)))]
            self._taken += len(records)
            self._inflight_records = records
        return records

    def _build(self, records: Sequence[Record]) -> list[TelemetryEvent]:
        try:
            events, problems = self.builder.build(records)
        except Exception:
            logger.exception("could not build %d telemetry events; they are dropped", len(records))
            events, problems = [], ["build failed"]
        self._inflight = events
        self._inflight_records = ()
        left_out = len(records) - len(events)
        if left_out:
            self._settle(left_out, failed=True, own=True)
            logger.warning(
                "%d invalid telemetry events not sent (first: %s)", left_out, problems[0]
            )
        return events

    def _deliver(self, records: Sequence[Record]) -> None:
        events = self._build(records)
        if events and self._send(events, own=True):
            self._inflight = []

    def _settle(self, count: int, *, failed: bool, own: bool) -> None:
        """Count ``count`` events delivered or given up on (``own``: this process's)."""
        if not count:
            return
        if failed:
            self._failed += count
            if own:
                self._own_failed += count
        else:
            self._delivered += count
        if own:
            self._settled += count  # last: flush reads it, then the failure count

    def _send(self, events: list[TelemetryEvent], *, own: bool) -> bool:
        """Deliver ``events`` through the sink, retrying until each goes, fails for good,
        or shutdown comes. A batch the receiver finds too large is split in halves, down to
        one event (which alone too large is given up on, counted).

        :returns: True when every event was delivered or given up on; False when shutdown
            came first (what is left stays in flight, for the outbox).
        """
        sink = self._sink
        assert sink is not None
        pending: deque[list[TelemetryEvent]] = deque([events])
        attempt = 0
        while pending:
            batch = pending[0]
            try:
                sink.send(batch)
            except PayloadTooLarge as exc:
                pending.popleft()
                rest = self._partly_sent(batch, exc, own)
                if len(rest) == 1:
                    self._settle(1, failed=True, own=own)
                    logger.warning("a telemetry event too large for the receiver was dropped")
                elif rest:
                    half = len(rest) // 2
                    pending.extendleft((rest[half:], rest[:half]))
                self._track(pending, own)
                continue
            except DeliveryError as exc:
                rest = self._partly_sent(batch, exc, own)
                pending[0] = rest
                self._track(pending, own)
                if not exc.retryable:
                    pending.popleft()
                    self._settle(len(rest), failed=True, own=own)
                    logger.warning(
                        "telemetry batch of %d events refused for good: %s", len(rest), str(exc)
                    )
                    self._track(pending, own)
                    continue
                delay = self._backoff(attempt)
                if exc.retry_after is not None:
                    delay = max(delay, exc.retry_after)
                # str(exc): a log record keeps its arguments, and a traceback would pin
                # the batch in memory through its frames.
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
                pending.popleft()
                self._settle(len(batch), failed=False, own=own)
                self._track(pending, own)
                attempt = 0
                continue
            attempt += 1
            if self._stop.wait(delay):
                return False
        return True

    def _partly_sent(
        self, batch: list[TelemetryEvent], exc: DeliveryError, own: bool
    ) -> list[TelemetryEvent]:
        """Settle the events a sink delivered before it failed; return the rest."""
        done = exc.delivered if isinstance(exc, PartialDelivery) else 0
        if done:
            self._settle(done, failed=False, own=own)
        return batch[done:]

    def _track(self, pending: deque[list[TelemetryEvent]], own: bool) -> None:
        if own:
            self._inflight = [event for batch in pending for event in batch]

    def _backoff(self, attempt: int) -> float:
        base = min(self.max_backoff, 0.1 * 2.0 ** min(attempt, 30))
        return base * random.uniform(0.5, 1.0)  # jitter, not security

    # ---- the outbox -----------------------------------------------------------------------

    def _replay(self) -> None:
        """Send what earlier processes left, streaming each claim from its saved position."""
        outbox = self.outbox
        claims = []
        try:
            if outbox is not None:
                claims = outbox.claim()
            while claims:
                claim = claims[0]
                for events, end in claim.batches(self.batch_size):
                    if events and not self._send(events, own=False):
                        return  # shutdown: the claims are released for the next process
                    claim.advance(end)
                    if self._stop.is_set():
                        return
                self._skipped += claim.skipped
                claim.finish()
                claims.pop(0)
            self._outbox_due = False
        except Exception:
            logger.exception("could not send the telemetry outbox %s", outbox and outbox.path)
            self._outbox_due = False
        finally:
            for claim in claims:
                claim.release()
            self._notify()

    def _save_to_outbox(self) -> None:
        """Keep what is in flight and still queued in the outbox, a batch at a time."""
        inflight = list(self._inflight)
        self._inflight = []
        records = [*self._inflight_records, *self._pop(len(self._queue))]
        self._inflight_records = ()
        if self.outbox is None:
            return
        saved = 0
        try:
            step = self.batch_size
            for start in range(0, len(inflight), step):
                saved += self.outbox.append(encode_events(inflight[start : start + step]))
            for start in range(0, len(records), step):
                events, _ = self.builder.build(records[start : start + step])
                saved += self.outbox.append(encode_events(events))
        except Exception:
            logger.exception("could not write the telemetry outbox")
        self._outboxed += saved
        if saved:
            logger.warning(
                "%d telemetry events not delivered; kept in %s for the next run",
                saved,
                self.outbox.path,
            )

    def _after_fork_in_child(self) -> None:
        self._fresh_state()
        sink, self._sink = self._sink, None
        after_fork = getattr(sink, "after_fork", None)
        if callable(after_fork):
            after_fork()
        if self.outbox is not None:
            self.outbox.after_fork()
        self.builder.identity.after_fork()


# ---- process-wide: exit and fork -----------------------------------------------------------

_live: weakref.WeakSet[Pipeline] = weakref.WeakSet()  # started: shut down at exit
_all: weakref.WeakSet[Pipeline] = weakref.WeakSet()  # every pipeline: reset in a fork child
_hooks_lock = threading.Lock()
_exit_registered = False
_fork_registered = False


def _watch_forks(pipeline: Pipeline) -> None:
    global _fork_registered
    with _hooks_lock:
        _all.add(pipeline)
        if not _fork_registered:
            os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
            _fork_registered = True


def _after_fork_in_child() -> None:
    global _hooks_lock
    _hooks_lock = threading.Lock()
    _live.clear()
    for pipeline in list(_all):
        pipeline._after_fork_in_child()


class _MultiprocessingHook:
    """The object multiprocessing's after-fork registry holds (it keeps keys weakly)."""


_MULTIPROCESSING_HOOK = _MultiprocessingHook()
_multiprocessing_hooked = False


def _before_fork() -> None:
    # A multiprocessing child clears the finalizers it inherited, runs its after-fork
    # hooks, and ends with os._exit once its finalizers ran (atexit hooks never run): the
    # exit flush must be one of those finalizers, registered from an after-fork hook.
    global _multiprocessing_hooked
    util = sys.modules.get("multiprocessing.util")
    if util is not None and not _multiprocessing_hooked:
        util.register_after_fork(_MULTIPROCESSING_HOOK, _flush_at_multiprocessing_exit)
        _multiprocessing_hooked = True


def _flush_at_multiprocessing_exit(_hook: object) -> None:
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        util.Finalize(None, _shutdown_all, exitpriority=100)


def _register_exit(pipeline: Pipeline) -> None:
    global _exit_registered
    with _hooks_lock:
        _live.add(pipeline)
        if not _exit_registered:
            # weakref.finalize runs its callbacks from one atexit hook, registered with the
            # process's first finalizer; urllib3 empties a connection pool that way. Making
            # a finalizer first registers that hook before ours, and atexit runs the last
            # registered first: our flush comes before it.
            weakref.finalize(_shutdown_all, _no_op).atexit = False
            atexit.register(_shutdown_all)
            _exit_registered = True


def _no_op() -> None:
    """Nothing: the callback of the finalizer that orders the exit hooks."""


def _shutdown_all() -> None:
    """Shut every started pipeline down at once: exit takes the largest budget, not the sum."""
    pipelines = list(_live)
    if not pipelines:
        return
    threads = []
    for pipeline in pipelines:
        thread = threading.Thread(
            target=_shutdown_quietly, args=(pipeline,), name="flowkit-telemetry-exit", daemon=True
        )
        thread.start()
        threads.append(thread)
    deadline = time.monotonic() + max(p.exit_timeout for p in pipelines) + 1.0
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


def _shutdown_quietly(pipeline: Pipeline) -> None:
    try:
        pipeline.shutdown(pipeline.exit_timeout)
    except Exception:
        logger.exception("telemetry exit flush failed")
