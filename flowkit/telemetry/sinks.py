"""Where delivered events go: memory, a JSON-lines file, a log, or PostHog.

A sink takes a whole batch at a time. :meth:`Sink.send` either delivers the batch or raises
:class:`~flowkit.errors.DeliveryError` saying whether sending it again may succeed
(``retryable``) and how long the receiver asked to wait (``retry_after``); the telemetry
client, not the sink, decides whether and when to retry. No sink retries on its own, starts
a thread, or touches the disk or the network before its first :meth:`~Sink.send`.
"""

from __future__ import annotations

import fcntl
import gzip
import http.client
import json
import logging
import math
import os
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit

from flowkit.errors import DeliveryError, FlowkitError
from flowkit.telemetry.envelope import TelemetryEvent, encode_events
from flowkit.telemetry.files import SymlinkRefused, append_lines, open_private

if TYPE_CHECKING:
    from urllib3 import HTTPConnectionPool

__all__ = [
    "JsonlSink",
    "LoggingSink",
    "MemorySink",
    "PartialDelivery",
    "PayloadTooLarge",
    "PostHogSink",
    "Sink",
]

EVENTS_LOGGER = "flowkit.telemetry.events"

# Lone surrogates (from undecodable file names, say) cannot be encoded as UTF-8; written as
# backslash escapes they become the JSON escapes ``\udxxx``, so the text stays valid JSON.
_ENCODE_ERRORS = "backslashreplace"


class PartialDelivery(DeliveryError):
    """A sink delivered the first ``delivered`` events of a batch, then failed.

    The client counts those as delivered and sends only the rest again.

    :param delivered: how many events, from the start of the batch, were delivered.
    """

    def __init__(
        self,
        message: str,
        *,
        delivered: int = 0,
        retryable: bool = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, retryable=retryable, retry_after=retry_after)
        self.delivered = delivered


class PayloadTooLarge(PartialDelivery):
    """The receiver refused a request as too large (HTTP 413).

    The client splits the rest of the batch in halves and sends each, down to a single
    event, which, too large alone, is given up on (counted as failed).
    """

    def __init__(self, message: str, *, delivered: int = 0) -> None:
        super().__init__(message, delivered=delivered, retryable=False)


@runtime_checkable
class Sink(Protocol):
    """Anything that can deliver a batch of events.

    Sinks may be called from the telemetry client's background thread while the program's
    own threads call :meth:`close`; the sinks in this module are safe for that.
    """

    def send(self, batch: Sequence[TelemetryEvent]) -> None:
        """Deliver ``batch`` as a whole, in order.

        :param batch: the events to deliver; an empty batch is a no-op.
        :raises DeliveryError: when the batch was not delivered; ``retryable`` says whether
            sending the same batch again may succeed, ``retry_after`` how many seconds the
            receiver asked to wait (``None`` when it said nothing).
        """
        ...

    def close(self) -> None:
        """Release what the sink holds open (files, connections). Safe to call twice."""
        ...


class MemorySink:
    """Keep delivered events in :attr:`events`, in delivery order (for tests and demos).

    Appends happen under a lock, so batches sent from several threads never interleave
    within a batch. Never raises.
    """

    def __init__(self) -> None:
        self.events: list[TelemetryEvent] = []
        self._lock = threading.Lock()

    def send(self, batch: Sequence[TelemetryEvent]) -> None:
        """Append ``batch`` to :attr:`events`.

        :param batch: the events, kept in this order after those already delivered.
        """
        with self._lock:
            self.events.extend(batch)

    def clear(self) -> None:
        """Forget every event delivered so far."""
        with self._lock:
            self.events.clear()

    def close(self) -> None:
        """Do nothing: a memory sink holds no resources (the events stay readable)."""

    def __repr__(self) -> str:
        return f"MemorySink(<{len(self.events)} events>)"


class JsonlSink:
    """Append each event as one JSON object per line (the contract's wire envelope).

    Each line equals ``json.dumps(event.to_wire())`` once parsed, in UTF-8. A batch is
    appended under an exclusive ``flock`` on the file, then the file is closed, so several
    processes may append to the same file without tearing each other's lines and no file
    handle stays open between batches. A write that fails part way (a full disk) is cut
    back, leaving no torn line. The file is created ``0600`` and missing folders ``0700``
    (on first need, never by the constructor); a symlink at ``path`` is refused with a
    logged warning and nothing is written through it.

    :param path: the file to append to.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def send(self, batch: Sequence[TelemetryEvent]) -> None:
        """Append one line per event of ``batch``.

        :param batch: the events, written in this order; an empty batch writes nothing.
        :raises DeliveryError: (retryable) when the file or its folders cannot be
            created or written, e.g. a full disk or a parent path that is a file; (not
            retryable) when an event holds a value JSON cannot represent.
        """
        if not batch:
            return
        data = ("\n".join(_encode(batch, "wire")) + "\n").encode("utf-8", _ENCODE_ERRORS)
        try:
            self._append(data)
        except SymlinkRefused as exc:
            raise DeliveryError(
                f"refusing to write telemetry through the symlink {self.path}", retryable=False
            ) from exc
        except OSError as exc:
            raise DeliveryError(
                f"cannot append {len(batch)} telemetry events to {self.path}: {exc}",
                retryable=True,
            ) from exc

    def _append(self, data: bytes) -> None:
        fd = open_private(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            append_lines(fd, data)
        finally:
            os.close(fd)

    def close(self) -> None:
        """Do nothing: the file is opened and closed within each :meth:`send`."""

    def __repr__(self) -> str:
        return f"JsonlSink({str(self.path)!r})"


class LoggingSink:
    """Log each event's wire JSON as one record (for debugging what would be sent).

    :param logger: where to log; the ``flowkit.telemetry.events`` logger by default.
    :param level: the level of every record (``logging.INFO`` by default). When the logger
        is not enabled for it, nothing is encoded at all.
    """

    def __init__(self, logger: logging.Logger | None = None, level: int = logging.INFO) -> None:
        self.logger = logger if logger is not None else logging.getLogger(EVENTS_LOGGER)
        self.level = level

    def send(self, batch: Sequence[TelemetryEvent]) -> None:
        """Log one record per event of ``batch``, in order.

        :param batch: the events to log.
        :raises DeliveryError: (not retryable) when an event holds a value JSON cannot
            represent; nothing of the batch is logged then.
        """
        if not batch or not self.logger.isEnabledFor(self.level):
            return
        for text in _encode(batch, "wire"):
            self.logger.log(self.level, "%s", text)

    def close(self) -> None:
        """Do nothing: the logger belongs to the program."""

    def __repr__(self) -> str:
        return f"LoggingSink({self.logger.name!r}, {logging.getLevelName(self.level)})"


class PostHogSink:
    """Post whole batches to PostHog's batch endpoint, ``POST {host}/batch/``.

    The body is ``{"api_key": ..., "batch": [{event, distinct_id, properties, timestamp,
    uuid}, ...]}``, each event serialized once, gzipped, over one pool of at most
    ``pool_maxsize`` kept-alive connections created on the first :meth:`send`. The sink never
    retries by itself (no urllib3 retries, no redirects followed): it reports each failure as
    a :class:`~flowkit.errors.DeliveryError` for the client to retry. The api key is never
    logged, shown in ``repr`` or put in an error message. Safe to share between threads.

    Needs the ``posthog`` extra (``urllib3``); the ``posthog`` package itself is not used.
    No proxy is taken from the environment.

    :param api_key: the project api key (``phc_...``), sent in the body.
    :param host: the ingestion host, ``https://us.i.posthog.com`` (US cloud) by default;
        ``https://eu.i.posthog.com`` for EU cloud, or a self-hosted instance's address.
    :param timeout: seconds to wait for the connection and for each read of the answer.
    :param gzip_level: gzip compression level, 0 (store) to 9; 1 (fast) by default.
    :param pool_maxsize: the most connections open at once to ``host``.
    :param max_body_bytes: the most bytes of JSON (before gzip) in one request; a batch
        that would be larger goes in several requests. 5 MB by default, the size PostHog
        documents as its limit per request.
    :raises FlowkitError: when urllib3 is not installed, or ``host``, ``timeout``,
        ``gzip_level``, ``pool_maxsize`` or ``max_body_bytes`` is invalid.
    """

    def __init__(
        self,
        api_key: str,
        host: str = "https://us.i.posthog.com",
        *,
        timeout: float = 10.0,
        gzip_level: int = 1,
        pool_maxsize: int = 2,
        max_body_bytes: int = 5_000_000,
    ) -> None:
        try:
            import urllib3  # noqa: F401 - checked here, used in send()
        except ImportError as exc:
            raise FlowkitError("PostHogSink needs urllib3: pip install 'flowkit[posthog]'") from exc
        parts = urlsplit(host)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise FlowkitError(f"PostHogSink host {host!r} must look like https://us.i.posthog.com")
        if not (timeout > 0 and math.isfinite(timeout)):
            raise FlowkitError(f"PostHogSink timeout must be a positive number, not {timeout!r}")
        if not 0 <= gzip_level <= 9:
            raise FlowkitError(f"PostHogSink gzip_level must be 0 to 9, not {gzip_level!r}")
        if pool_maxsize < 1:
            raise FlowkitError(f"PostHogSink pool_maxsize must be 1 or more, not {pool_maxsize!r}")
        if max_body_bytes < 1024:
            raise FlowkitError(
                f"PostHogSink max_body_bytes must be 1024 or more, not {max_body_bytes!r}"
            )
        self.max_body_bytes = max_body_bytes
        self.host = host.rstrip("/")
        self.url = self.host + "/batch/"
        self._path = parts.path.rstrip("/") + "/batch/"  # a self-hosted path prefix stays
        self.timeout = timeout
        self.gzip_level = gzip_level
        self.pool_maxsize = pool_maxsize
        self._body_start = '{"api_key":' + json.dumps(api_key) + ',"batch":['
        self._redact = api_key
        self._headers = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "User-Agent": f"flowkit/{_flowkit_version()}",
        }
        self._pool: HTTPConnectionPool | None = None
        self._lock = threading.Lock()

    def send(self, batch: Sequence[TelemetryEvent]) -> None:
        """Post ``batch``, in as few requests as keep each body (before gzip) within
        ``max_body_bytes``, and return once PostHog answered 2xx to every one.

        :param batch: the events, in order; an empty batch sends nothing.
        :raises PayloadTooLarge: when PostHog answers 413 (``delivered`` says how many
            events earlier requests delivered; the client splits the rest).
        :raises PartialDelivery: when PostHog answers 408, 429, 5xx or 3xx (retryable: a
            redirect is a misconfigured host or a proxy, never a reason to lose events;
            ``retry_after`` from its ``Retry-After`` header, in seconds, or ``None``), or when
            a request fails on the way: connection refused, reset or dropped, timeout, TLS
            error (retryable); ``delivered`` counts the events earlier requests delivered.
        :raises DeliveryError: (not retryable) for any other 4xx (resending the same batch
            will fail again), or when an event holds a value JSON cannot represent (nothing
            sent).
        """
        if not batch:
            return
        texts = _encode(batch, "posthog")
        delivered = 0
        for chunk in self._chunks(texts):
            try:
                self._post(chunk, len(batch))
            except PartialDelivery as exc:
                exc.delivered = delivered
                raise
            delivered += len(chunk)

    def _chunks(self, texts: list[str]) -> list[list[str]]:
        """Split the encoded events into runs whose body stays within the cap (an event
        alone larger than the cap goes alone)."""
        chunks: list[list[str]] = []
        current: list[str] = []
        size = len(self._body_start) + 2
        for text in texts:
            length = len(text) + 1
            if current and size + length > self.max_body_bytes:
                chunks.append(current)
                current, size = [], len(self._body_start) + 2
            current.append(text)
            size += length
        if current:
            chunks.append(current)
        return chunks

    def _post(self, texts: list[str], total: int) -> None:
        import urllib3

        text = self._body_start + ",".join(texts) + "]}"
        body = gzip.compress(text.encode("utf-8", _ENCODE_ERRORS), self.gzip_level, mtime=0)
        try:
            response = self._connection_pool().urlopen(
                "POST",
                self._path,
                body=body,
                headers=self._headers,
                retries=False,
                redirect=False,
                assert_same_host=False,
                preload_content=True,
                pool_timeout=math.ceil(self.timeout),  # urllib3 types it as int
            )
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
            raise PartialDelivery(
                f"could not deliver {len(texts)} telemetry events to {self.url}: "
                f"{type(exc).__name__}: {self._redacted(str(exc))}",
                retryable=True,
            ) from exc
        status = response.status
        if 200 <= status < 300:
            return
        detail = self._redacted(response.data[:300].decode("utf-8", "replace"))
        message = f"PostHog at {self.url} answered {status} to {len(texts)} events: {detail}"
        if status == 413:
            raise PayloadTooLarge(message)
        if status in (408, 429) or 500 <= status < 600 or 300 <= status < 400:
            if 300 <= status < 400:
                message += f" (redirected to {response.headers.get('Location')!r}: fix the host)"
            retry_after = _parse_retry_after(response.headers.get("Retry-After"))
            raise PartialDelivery(message, retryable=True, retry_after=retry_after)
        if status in (401, 403):
            message += " (check the project api key)"
        raise DeliveryError(message, retryable=False)

    def after_fork(self) -> None:
        """Forget the parent's connections in a forked child (never closing them: they
        are the parent's); the child opens its own on its first :meth:`send`."""
        self._pool = None
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the pooled connections; a later :meth:`send` opens a new pool."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def _connection_pool(self) -> HTTPConnectionPool:
        with self._lock:
            if self._pool is None:
                import urllib3

                self._pool = urllib3.connection_from_url(
                    self.host,
                    maxsize=self.pool_maxsize,
                    block=True,
                    timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout),
                    retries=False,
                )
            return self._pool

    def _redacted(self, text: str) -> str:
        return text.replace(self._redact, "<api_key>") if self._redact else text

    def __repr__(self) -> str:
        return f"PostHogSink(host={self.host!r})"


def _encode(batch: Sequence[TelemetryEvent], shape: Literal["wire", "posthog"]) -> list[str]:
    """Return :func:`encode_events` of ``batch``, or raise a non-retryable error."""
    try:
        return encode_events(batch, shape)
    except (TypeError, ValueError) as exc:  # a value JSON cannot hold: resending won't help
        raise DeliveryError(
            f"cannot serialize a batch of {len(batch)} telemetry events: {exc}", retryable=False
        ) from exc


def _parse_retry_after(value: str | None) -> float | None:
    """Return a ``Retry-After`` header's wait in seconds (never negative), or ``None``.

    :param value: delay-seconds (``"3"``) or an HTTP-date; anything else gives ``None``.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return max(0.0, (moment - datetime.now(UTC)).total_seconds())
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _flowkit_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("flowkit")
    except PackageNotFoundError:
        return "0+unknown"
