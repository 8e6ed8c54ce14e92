"""A scripted HTTP server on 127.0.0.1 that answers like Flowise, for the client's tests.

Each route has a queue of answers (the last one repeats); every request is recorded. An
answer may be sent in chunks with pauses, to split server-sent-event frames across reads.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    """One scripted answer."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[tuple[float, bytes]] | None = None  # (pause before, bytes): chunked


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class FakeFlowise:
    """The server; :attr:`url` is its base address."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Answer]] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )
        self._thread.start()

    def add(self, method: str, path: str, *answers: Answer) -> None:
        """Answer ``method path`` (path without the query) with ``answers`` in turn."""
        with self._lock:
            self.routes[(method, path)] = list(answers)

    def json(self, method: str, path: str, payload: Any, status: int = 200, **headers: str) -> None:
        """Answer with one JSON body."""
        body = json.dumps(payload).encode()
        self.add(
            method, path, Answer(status, body, {"Content-Type": "application/json", **headers})
        )

    def seen(self, method: str, path: str) -> list[Seen]:
        """The requests received for ``method path``."""
        return [r for r in self.requests if r.method == method and r.path.split("?")[0] == path]

    def answer_for(self, method: str, path: str) -> Answer:
        with self._lock:
            queue = self.routes.get((method, path.split("?")[0]))
            if not queue:
                return Answer(404, b'{"message":"no route in the fake"}')
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _handler(fake: FakeFlowise) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fake.requests.append(Seen(self.command, self.path, dict(self.headers), body))
            answer = fake.answer_for(self.command, self.path)
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            if answer.chunks is None:
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
                return
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for pause, data in answer.chunks:
                    time.sleep(pause)
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = do_POST = do_PUT = do_DELETE = _any

    return Handler


def sse(*frames: tuple[str, Any]) -> bytes:
    """Flowise's frames for ``(event, data)`` pairs, exactly as it writes them."""
    return b"".join(
        b"message:\ndata:" + json.dumps({"event": e, "data": d}).encode() + b"\n\n"
        for e, d in frames
    )


def split(data: bytes, size: int, pause: float = 0.0) -> list[tuple[float, bytes]]:
    """``data`` in chunks of ``size`` bytes, each after ``pause`` seconds."""
    return [(pause, data[i : i + size]) for i in range(0, len(data), size)]


def served() -> Iterator[FakeFlowise]:
    fake = FakeFlowise()
    try:
        yield fake
    finally:
        fake.close()
