"""A fake PostHog ingestion server: a real HTTP server on 127.0.0.1, stdlib only.

It speaks PostHog's batch endpoint: ``POST /batch/`` (or ``/batch``) with a JSON body
``{"api_key": ..., "batch": [event, ...]}``, plain or gzipped (``Content-Encoding: gzip``),
answered ``200 {"status": 1}``. A malformed body gets 400, a wrong api key (when the server
was given one) 401, any other path 404.

Three ways to use it:

* **In tests**, as a context manager::

      with FakePostHog() as server:
          sink = PostHogSink("phc_test", server.url)
          sink.send(batch)
          assert server.uuids() == [e.uuid for e in batch]

  ``server.events`` (decoded event dicts, arrival order), ``server.bodies`` (one
  :class:`ReceivedRequest` per request, faults included), ``server.requests``,
  ``server.raw_event_count``, ``server.unique_uuid_count``, ``server.client_addresses``
  (one per TCP connection accepted) and ``server.wait_for_events(n)``.

* **With faults**: ``server.script(["503", "429:3", "drop", "ok"])`` answers the next
  requests in that order; ``server.chaos(seed, p_503=..., p_429=..., retry_after=...,
  p_drop=..., p_stall=..., stall_seconds=..., p_lost=...)`` picks faults at random
  (reproducibly for a seed) once the script is used up; ``server.heal()`` ends both.
  What each fault records:

  ==========  ===============================================================  ========
  step        what the server does                                             records
  ==========  ===============================================================  ========
  ``ok``      answers 200                                                      yes
  ``NNN``     answers status NNN (``"503"``, ``"400"``...)                      no
  ``NNN:V``   answers NNN with ``Retry-After: V`` (``"429:3"``)                no
  ``drop``    reads the request, closes the connection without answering       no
  ``lost``    records the events, then closes without answering (the client    yes
              never learns it worked and resends: duplicates by uuid)
  ``stall``   reads the request, sleeps ``stall_seconds`` (``stall:S`` for S),  yes
              then records and answers 200, whether or not the client gave up
              (it usually resends: duplicates by uuid)
  ==========  ===============================================================  ========

  ``raw_event_count`` counts every recorded event, duplicates included;
  ``unique_uuid_count`` counts distinct uuids. Stopping the server wakes a stall, which
  then closes without recording.

* **As a process** (for benchmarks): ``python tests/fake_posthog.py --port 0`` prints
  ``READY http://127.0.0.1:<port>`` on one stdout line, then serves until SIGTERM/SIGINT
  or, when its stdin is a pipe, until that pipe is closed. ``GET /stats`` answers
  ``{"events", "unique", "requests", "faults", "connections"}``. In this mode it keeps only
  counts and the set of uuids (``--record`` keeps everything); ``--chaos-seed`` and the
  ``--p-*`` options set up chaos from the start.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import random
import signal
import socket
import stat
import sys
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

__all__ = ["FakePostHog", "ReceivedRequest"]

_OK_BODY = b'{"status": 1}'


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the server received it.

    :param path: the request path.
    :param headers: the request headers (names as sent).
    :param gzipped: whether the body came with ``Content-Encoding: gzip``.
    :param raw: the body bytes as received (still compressed when gzipped).
    :param payload: the decoded JSON body, or ``None`` when it did not decode.
    :param outcome: the step that answered it: ``ok``, ``503``, ``drop``, ``stall``, ...
    :param client_address: the client's (host, port): one port per TCP connection.
    """

    path: str
    headers: dict[str, str]
    gzipped: bool
    raw: bytes
    payload: Any
    outcome: str
    client_address: tuple[str, int]


@dataclass(frozen=True)
class _Step:
    kind: str  # "ok", "status", "drop", "lost", "stall"
    status: int = 200
    retry_after: str | None = None
    seconds: float = 0.0

    @property
    def label(self) -> str:
        if self.kind == "status":
            return str(self.status)
        return self.kind


@dataclass(frozen=True)
class _Chaos:
    rng: random.Random
    p_503: float
    p_429: float
    retry_after: str | None
    p_drop: float
    p_stall: float
    stall_seconds: float
    p_lost: float


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    fake: FakePostHog

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):  # a client hung up or timed out
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "FakePostHog/1"

    @property
    def fake(self) -> FakePostHog:
        return cast(_Server, self.server).fake

    def setup(self) -> None:
        super().setup()
        self.fake._connection_opened(self.connection, self.client_address)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.fake._connection_closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests and benchmarks read stdout."""

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/stats":
            self._answer(200, json.dumps(self.fake.stats()).encode())
        else:
            self._answer(404, b'{"type": "not_found"}')

    def do_POST(self) -> None:
        raw = self._read_body()
        if raw is None:
            self._answer(400, b'{"type": "validation_error", "detail": "bad body framing"}')
            self.close_connection = True
            return
        if self.path.split("?", 1)[0] not in ("/batch", "/batch/"):
            self._answer(404, b'{"type": "not_found"}')
            return
        self.fake._serve_batch(self, raw)

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline(1024)
                try:
                    size = int(size_line.split(b";", 1)[0], 16)
                except ValueError:
                    return None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _answer(self, status: int, body: bytes, headers: Iterable[tuple[str, str]] = ()) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client went away (timed out): nothing to tell it
            self.close_connection = True


class FakePostHog:
    """A PostHog batch endpoint on 127.0.0.1, for tests (in process) and benchmarks.

    Thread-safe: requests are served on one thread each and every counter, list and
    fault policy is guarded by one lock.

    :param host: the address to listen on.
    :param port: the port; 0 picks a free one (see :attr:`url`).
    :param record: keep every event dict and request (:attr:`events`, :attr:`bodies`);
        when false only counts and the set of uuids are kept (for 100,000+ events).
    :param api_key: when given, a request with another api key gets 401.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        record: bool = True,
        api_key: str | None = None,
    ) -> None:
        self.record = record
        self.api_key = api_key
        self._bind = (host, port)
        self._lock = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._script: list[_Step] = []
        self._chaos: _Chaos | None = None
        self.clear()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakePostHog:
        """Start listening and serving on a background thread; return ``self``."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server(self._bind, _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-posthog",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: close the listening socket and every open connection."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakePostHog:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port listened on (known once started)."""
        if self._server is None:
            raise RuntimeError("FakePostHog is not running: use it as a context manager")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the host to give a PostHog client."""
        return f"http://{self._bind[0]}:{self.port}"

    # -- faults ------------------------------------------------------------------------

    def script(
        self,
        steps: Sequence[str],
        *,
        retry_after: str | float | None = None,
        stall_seconds: float = 1.0,
    ) -> None:
        """Answer the next ``len(steps)`` requests with these steps, in order.

        Replaces any script still pending; after it, chaos (if set) or ``ok`` applies.

        :param steps: ``"ok"``, ``"drop"``, ``"lost"``, ``"stall"``, ``"stall:S"``, a status
            ``"NNN"`` or ``"NNN:V"`` (with ``Retry-After: V``); see the module docstring.
        :param retry_after: the ``Retry-After`` of a bare ``"429"`` (none by default).
        :param stall_seconds: how long a bare ``"stall"`` sleeps.
        :raises ValueError: when a step is not one of these.
        """
        parsed = [_parse_step(s, retry_after, stall_seconds) for s in steps]
        with self._lock:
            self._script = parsed

    def chaos(
        self,
        seed: int,
        *,
        p_503: float = 0.0,
        p_429: float = 0.0,
        retry_after: str | float | None = 1,
        p_drop: float = 0.0,
        p_stall: float = 0.0,
        stall_seconds: float = 1.0,
        p_lost: float = 0.0,
    ) -> None:
        """Answer each later request with a random fault, reproducibly for ``seed``.

        :param seed: the random seed.
        :param p_503: probability of a 503.
        :param p_429: probability of a 429 (with ``Retry-After: retry_after`` unless None).
        :param retry_after: the 429's ``Retry-After`` value (seconds or an HTTP-date).
        :param p_drop: probability of closing the connection without answering.
        :param p_stall: probability of sleeping ``stall_seconds`` before answering 200.
        :param stall_seconds: how long a stall lasts.
        :param p_lost: probability of recording, then closing without answering.
        :raises ValueError: when the probabilities add up to more than 1.
        """
        probabilities = (p_503, p_429, p_drop, p_stall, p_lost)
        if any(p < 0 for p in probabilities) or sum(probabilities) > 1:
            raise ValueError(f"chaos probabilities must be >= 0 and sum to <= 1: {probabilities}")
        header = None if retry_after is None else _retry_after_text(retry_after)
        with self._lock:
            self._chaos = _Chaos(
                random.Random(seed), p_503, p_429, header, p_drop, p_stall, stall_seconds, p_lost
            )

    def heal(self) -> None:
        """Drop the pending script and the chaos: every later request is answered 200."""
        with self._lock:
            self._script = []
            self._chaos = None

    # -- what arrived ------------------------------------------------------------------

    def clear(self) -> None:
        """Forget everything received so far (counts, events, requests, connections)."""
        with self._lock:
            self._events: list[dict[str, Any]] = []
            self._bodies: list[ReceivedRequest] = []
            self._uuids: set[str] = set()
            self._addresses: list[tuple[str, int]] = []
            self._requests = 0
            self._faults = 0
            self._raw_events = 0

    @property
    def events(self) -> list[dict[str, Any]]:
        """The recorded event dicts, in arrival order (a copy; empty unless ``record``)."""
        with self._lock:
            return list(self._events)

    @property
    def bodies(self) -> list[ReceivedRequest]:
        """Every batch request, faults included, in arrival order (empty unless ``record``)."""
        with self._lock:
            return list(self._bodies)

    def uuids(self) -> list[str]:
        """The recorded events' uuids in arrival order, duplicates included (``record``)."""
        with self._lock:
            return [str(e.get("uuid")) for e in self._events]

    def unique_uuids(self) -> set[str]:
        """The distinct uuids recorded (kept in every mode)."""
        with self._lock:
            return set(self._uuids)

    @property
    def requests(self) -> int:
        """How many batch requests arrived, whatever they were answered."""
        with self._lock:
            return self._requests

    @property
    def faults(self) -> int:
        """How many batch requests were answered with a fault step (not ``ok``)."""
        with self._lock:
            return self._faults

    @property
    def raw_event_count(self) -> int:
        """How many events were recorded, duplicates included."""
        with self._lock:
            return self._raw_events

    @property
    def unique_uuid_count(self) -> int:
        """How many distinct uuids were recorded."""
        with self._lock:
            return len(self._uuids)

    @property
    def client_addresses(self) -> list[tuple[str, int]]:
        """The peer address of every TCP connection accepted, in order (one per connection)."""
        with self._lock:
            return list(self._addresses)

    @property
    def connection_count(self) -> int:
        """How many TCP connections were accepted."""
        with self._lock:
            return len(self._addresses)

    def stats(self) -> dict[str, int]:
        """The counts ``GET /stats`` answers."""
        with self._lock:
            return {
                "events": self._raw_events,
                "unique": len(self._uuids),
                "requests": self._requests,
                "faults": self._faults,
                "connections": len(self._addresses),
            }

    def wait_for_events(self, count: int, *, unique: bool = False, timeout: float = 5.0) -> bool:
        """Wait until ``count`` events (distinct uuids if ``unique``) were recorded.

        :returns: whether they arrived within ``timeout`` seconds.
        """
        with self._lock:
            return self._lock.wait_for(
                lambda: (len(self._uuids) if unique else self._raw_events) >= count, timeout
            )

    # -- serving (called on the request threads) ---------------------------------------

    def _connection_opened(self, sock: socket.socket, address: tuple[str, int]) -> None:
        with self._lock:
            self._sockets.add(sock)
            self._addresses.append((str(address[0]), int(address[1])))

    def _connection_closed(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def _next_step(self) -> _Step:
        # Called under the lock.
        if self._script:
            return self._script.pop(0)
        chaos = self._chaos
        if chaos is None:
            return _OK
        r = chaos.rng.random()
        for p, step in (
            (chaos.p_503, _Step("status", 503)),
            (chaos.p_429, _Step("status", 429, chaos.retry_after)),
            (chaos.p_drop, _Step("drop")),
            (chaos.p_stall, _Step("stall", seconds=chaos.stall_seconds)),
            (chaos.p_lost, _Step("lost")),
        ):
            if r < p:
                return step
            r -= p
        return _OK

    def _serve_batch(self, handler: _Handler, raw: bytes) -> None:
        gzipped = handler.headers.get("Content-Encoding", "").lower() == "gzip"
        with self._lock:
            self._requests += 1
            step = self._next_step()
            if step.kind != "ok":
                self._faults += 1
        payload: Any = None
        if step.kind in ("ok", "lost", "stall"):
            payload, error = _decode(raw, gzipped, handler.headers.get("Content-Encoding"))
        else:
            error = None
        if self.record:
            with self._lock:
                self._bodies.append(
                    ReceivedRequest(
                        handler.path,
                        dict(handler.headers.items()),
                        gzipped,
                        raw,
                        payload,
                        step.label,
                        (str(handler.client_address[0]), int(handler.client_address[1])),
                    )
                )

        if step.kind == "status":
            extra = [("Retry-After", step.retry_after)] if step.retry_after is not None else []
            handler._answer(step.status, b'{"type": "fault", "code": "%d"}' % step.status, extra)
            return
        if step.kind == "drop":
            handler.close_connection = True
            return
        if step.kind == "stall" and self._stopping.wait(step.seconds):
            handler.close_connection = True
            return
        if error is not None:
            handler._answer(400, json.dumps({"type": "validation_error", "detail": error}).encode())
            return
        if self.api_key is not None and payload.get("api_key") != self.api_key:
            handler._answer(401, b'{"type": "authentication_error", "code": "invalid_api_key"}')
            return
        batch: list[dict[str, Any]] = payload["batch"]
        with self._lock:
            self._raw_events += len(batch)
            self._uuids.update(str(e.get("uuid")) for e in batch)
            if self.record:
                self._events.extend(batch)
            self._lock.notify_all()
        if step.kind == "lost":
            handler.close_connection = True
            return
        handler._answer(200, _OK_BODY)


_OK = _Step("ok")


def _decode(raw: bytes, gzipped: bool, encoding: str | None) -> tuple[Any, str | None]:
    """Return (payload, None) for a valid batch body, else (None or payload, the problem)."""
    if encoding and not gzipped:
        return None, f"unsupported Content-Encoding {encoding!r}"
    try:
        text = gzip.decompress(raw) if gzipped else raw
    except (OSError, EOFError) as exc:
        return None, f"body is not valid gzip: {exc}"
    try:
        payload = json.loads(text)
    except ValueError as exc:
        return None, f"body is not JSON: {exc}"
    if not isinstance(payload, dict) or not isinstance(payload.get("api_key"), str):
        return payload, "body must be an object with a string api_key"
    batch = payload.get("batch")
    if not isinstance(batch, list):
        return payload, "body must have a batch list"
    for i, event in enumerate(batch):
        if not isinstance(event, dict) or not event.get("event") or "distinct_id" not in event:
            return payload, f"batch[{i}] must be an object with event and distinct_id"
    return payload, None


def _retry_after_text(value: str | float) -> str:
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else str(value)


def _parse_step(text: str, retry_after: str | float | None, stall_seconds: float) -> _Step:
    kind, _, arg = text.strip().partition(":")
    kind = kind.strip().lower()
    if kind in ("ok", "drop", "lost") and not arg:
        return _Step(kind)
    if kind == "stall":
        return _Step("stall", seconds=float(arg) if arg else stall_seconds)
    if kind.isdigit() and len(kind) == 3:
        header = arg.strip() if arg else None
        if header is None and kind == "429" and retry_after is not None:
            header = _retry_after_text(retry_after)
        return _Step("status", int(kind), header)
    raise ValueError(
        f"unknown fault step {text!r}: use ok, drop, lost, stall[:S], NNN or NNN:RETRY_AFTER"
    )


def _stdin_is_pipe() -> bool:
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until killed or until stdin (when a pipe) is closed."""
    parser = argparse.ArgumentParser(description="A fake PostHog batch endpoint.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--record", action="store_true", help="keep every event, not counts")
    parser.add_argument("--api-key", default=None, help="answer 401 to any other key")
    parser.add_argument("--chaos-seed", type=int, default=None)
    parser.add_argument("--p-503", type=float, default=0.0)
    parser.add_argument("--p-429", type=float, default=0.0)
    parser.add_argument("--retry-after", default="1")
    parser.add_argument("--p-drop", type=float, default=0.0)
    parser.add_argument("--p-stall", type=float, default=0.0)
    parser.add_argument("--stall-seconds", type=float, default=1.0)
    parser.add_argument("--p-lost", type=float, default=0.0)
    args = parser.parse_args(argv)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    server = FakePostHog(args.host, args.port, record=args.record, api_key=args.api_key)
    probabilities = (args.p_503, args.p_429, args.p_drop, args.p_stall, args.p_lost)
    if args.chaos_seed is not None or any(probabilities):
        server.chaos(
            args.chaos_seed or 0,
            p_503=args.p_503,
            p_429=args.p_429,
            retry_after=args.retry_after or None,
            p_drop=args.p_drop,
            p_stall=args.p_stall,
            stall_seconds=args.stall_seconds,
            p_lost=args.p_lost,
        )
    server.start()
    if _stdin_is_pipe():
        fd = sys.stdin.fileno()

        def watch_stdin() -> None:
            while os.read(fd, 65536):
                pass
            done.set()

        threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()
    print(f"READY {server.url}", flush=True)
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
