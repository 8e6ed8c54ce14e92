"""The outbox: events a process could not deliver, kept on disk for the next one.

``<home>/outbox.jsonl`` holds one wire event per line. Writers append whole lines under an
exclusive ``flock`` on the file. A sender *claims* the outbox by locking it and renaming it
to ``outbox.jsonl.<random>.sending`` while holding the lock, then keeps the lock for as long
as it sends: the kernel releases it when the holder dies, however it dies, so a claim whose
lock can be taken is an orphan, whatever pids or pid namespaces are involved. Beside each
claim, ``<claim>.pos`` keeps the byte offset delivered so far, written after every
delivered batch: a sender that dies is replaced by one that resumes there, so at most the
batch in flight is sent twice. Replay streams the file a batch at a time, never reads it
whole. Past ``max_bytes`` the oldest lines are dropped (and counted).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import math
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO

from flowkit.telemetry.envelope import TelemetryEvent
from flowkit.telemetry.events import PROFILES, FlowGraph, spec
from flowkit.telemetry.files import append_lines, open_private

__all__ = ["Claim", "Outbox", "parse_line"]

logger = logging.getLogger("flowkit.telemetry")

_SENDING = ".sending"
_POSITION = ".pos"
_CHUNK = 1 << 20


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_line(line: bytes) -> TelemetryEvent:
    """Return the event a line of the outbox holds, checked against its payload model.

    :raises ValueError: when the line is torn, not JSON (NaN included), or its envelope or
        properties fit no profile of its event.
    """
    obj = json.loads(line, parse_constant=_refuse_constant)
    if not isinstance(obj, dict) or list(obj) != [
        "event",
        "distinctId",
        "properties",
        "timestamp",
        "uuid",
    ]:
        raise ValueError("not a wire envelope")
    name, distinct_id, properties, stamp, uuid = obj.values()
    if not all(isinstance(v, str) for v in (name, distinct_id, stamp, uuid)):
        raise ValueError("envelope values must be strings")
    if not isinstance(properties, dict):
        raise ValueError("properties must be an object")
    event = spec(name)
    keys = list(properties)
    for profile in PROFILES:
        model = event.model(profile)
        fields = model.model_fields
        if keys == [f.alias or k for k, f in fields.items()]:
            if not _plainly_valid(fields.values(), properties):
                model.model_validate(properties)  # the slow, exact check: raises if invalid
            break
    else:
        raise ValueError(f"{name}: properties fit no profile")
    moment = datetime.fromisoformat(stamp)
    return TelemetryEvent(name, distinct_id, properties, moment, uuid)


def _plainly_valid(fields: Any, properties: dict[str, Any]) -> bool:
    """A quick check that accepts only what the payload model accepts unchanged."""
    for field, value in zip(fields, properties.values(), strict=True):
        annotation = field.annotation
        if annotation is str:
            if type(value) is not str:
                return False
        elif annotation is FlowGraph:
            if not _plain_graph(value):
                return False
        elif isinstance(annotation, type) and issubclass(annotation, Enum):
            if value not in _ENUM_VALUES.setdefault(annotation, {m.value for m in annotation}):
                return False
        elif not field.is_required():
            if value != field.default or type(value) is not type(field.default):
                return False
        else:
            return False
    return True


_ENUM_VALUES: dict[type, set[Any]] = {}


def _plain_graph(graph: Any) -> bool:
    if type(graph) is not dict or list(graph) != ["nodes", "edges"]:
        return False
    nodes, edges = graph["nodes"], graph["edges"]
    if type(nodes) is not list or type(edges) is not list:
        return False
    if not all(type(node) is str for node in nodes):
        return False
    return all(
        type(edge) is dict
        and list(edge) == ["source", "target"]
        and type(edge["source"]) is str
        and type(edge["target"]) is str
        for edge in edges
    )


class Claim:
    """An outbox file this process holds the lock of, and sends from its saved position.

    :param path: the claimed file.
    :param fd: its descriptor, holding the exclusive lock.
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd
        self._position_file = path.with_name(path.name + _POSITION)
        self.position = _read_position(self._position_file)
        self.skipped = 0

    def batches(self, size: int) -> Iterator[tuple[list[TelemetryEvent], int]]:
        """Yield ``(events, end)`` batches of up to ``size`` valid events from the saved
        position on; ``end`` is the byte offset after the batch (pass it to :meth:`advance`
        once the batch was delivered). Lines that fit no payload model are skipped and
        counted in :attr:`skipped`, with one warning per claim."""
        stream: BinaryIO
        with open(self._fd, "rb", closefd=False) as stream:
            stream.seek(self.position)
            offset = self.position
            events: list[TelemetryEvent] = []
            for line in stream:
                offset += len(line)
                try:
                    if not line.endswith(b"\n"):
                        raise ValueError("torn line")
                    events.append(parse_line(line))
                except Exception:
                    self.skipped += 1
                    if self.skipped == 1:
                        logger.warning(
                            "skipping unreadable lines of the telemetry outbox %s", self.path
                        )
                if len(events) >= size:
                    yield events, offset
                    events = []
            if events or offset != self.position:
                yield events, offset

    def advance(self, offset: int) -> None:
        """Remember that everything before ``offset`` was delivered (atomically)."""
        self.position = offset
        temp = self._position_file.with_name(self._position_file.name + ".tmp")
        fd = open_private(temp, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, str(offset).encode())
        finally:
            os.close(fd)
        os.replace(temp, self._position_file)

    def finish(self) -> None:
        """Delete the claimed file and its position, then release the lock."""
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.unlink(self._position_file)
        self.release()

    def release(self) -> None:
        """Release the lock, leaving the file and its position for the next process."""
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1


def _read_position(path: Path) -> int:
    try:
        return max(0, int(path.read_text(encoding="ascii").strip() or 0))
    except (OSError, ValueError):
        return 0


def _lock_current(path: Path, open_fd: Callable[[], int], wait: float) -> int | None:
    """Open ``path`` with ``open_fd`` and take its exclusive lock, trying for up to ``wait``
    seconds.

    Never blocks on a lock: a file renamed or replaced meanwhile (claimed, compacted) is
    reopened under its path, so a writer never waits behind a sender that holds a claim.

    :returns: the locked descriptor, or None when the file stayed locked.
    :raises OSError: what ``open_fd`` raises.
    """
    deadline = time.monotonic() + wait
    while True:
        fd = open_fd()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                return fd
        except OSError:
            pass  # locked by someone else, or renamed or gone meanwhile: try again
        os.close(fd)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.005)


def _lock_if_current(path: Path, flags: int, *, wait: float) -> int | None:
    """Open the existing file ``path`` (no symlink) and lock it, as :func:`_lock_current`.

    :returns: the locked descriptor, or None when the file is gone or stayed locked.
    """
    try:
        return _lock_current(
            path, lambda: os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC), wait
        )
    except OSError:
        return None


class Outbox:
    """The outbox file of one home, and the claims on it.

    :param path: ``<home>/outbox.jsonl``.
    :param max_bytes: the file's size cap; past it the oldest lines are dropped.
    """

    def __init__(self, path: Path, max_bytes: int = 64 << 20) -> None:
        self.path = path
        self.max_bytes = max(1024, max_bytes)
        self.dropped = 0
        self._lock = threading.Lock()

    def after_fork(self) -> None:
        """Forget this process's lock state (called in a forked child)."""
        self._lock = threading.Lock()

    def append(self, lines: Sequence[str]) -> int:
        """Append ``lines`` (JSON texts, without newlines) as whole lines, under the file's
        lock; past :attr:`max_bytes`, drop the oldest lines first.

        :returns: how many lines were written.
        :raises OSError: when they could not be written (nothing partial is left behind).
        """
        if not lines:
            return 0
        data = "".join(line + "\n" for line in lines).encode("utf-8", "backslashreplace")
        with self._lock:
            fd = _lock_current(
                self.path, lambda: open_private(self.path, os.O_RDWR | os.O_APPEND), 10.0
            )
            if fd is None:
                raise OSError(f"the telemetry outbox {self.path} stayed locked")
            try:
                append_lines(fd, data)
                if os.fstat(fd).st_size > self.max_bytes:
                    self._compact(fd)
                return len(lines)
            finally:
                os.close(fd)

    def _compact(self, fd: int) -> None:
        """Keep the newest lines that fit in three quarters of the cap; count the rest."""
        size = os.fstat(fd).st_size
        keep = self.max_bytes * 3 // 4
        with open(fd, "rb", closefd=False) as stream:
            stream.seek(max(0, size - keep))
            if size > keep:
                stream.readline()  # finish the line the cut fell in
            cut = stream.tell()
            stream.seek(0)
            dropped = 0
            remaining = cut
            while remaining > 0:
                chunk = stream.read(min(_CHUNK, remaining))
                if not chunk:
                    break
                dropped += chunk.count(b"\n")
                remaining -= len(chunk)
            temp = self.path.with_name(f"{self.path.name}.{secrets.token_hex(6)}.compact")
            out = open_private(temp, os.O_WRONLY | os.O_TRUNC)
            try:
                stream.seek(cut)
                while chunk := stream.read(_CHUNK):
                    append_lines(out, chunk)
            finally:
                os.close(out)
            os.replace(temp, self.path)
        self.dropped += dropped
        logger.warning(
            "telemetry outbox %s is over its cap of %.1f MB: dropped its %d oldest events",
            self.path,
            self.max_bytes / 1e6,
            dropped,
        )

    def pending(self) -> bool:
        """Whether there is anything to send: the outbox, or a claim nobody holds."""
        if self.path.exists():
            return True
        return any(True for _ in self._orphans(take=False))

    def claim(self) -> list[Claim]:
        """Take every claim whose holder is gone (oldest first), then the outbox itself.

        :returns: the claims, each holding its lock until :meth:`Claim.finish` or
            :meth:`Claim.release`.
        """
        claims = list(self._orphans(take=True))
        fd = _lock_if_current(self.path, os.O_RDONLY, wait=2.0)
        if fd is not None:
            mine = self.path.with_name(f"{self.path.name}.{secrets.token_hex(8)}{_SENDING}")
            try:
                os.rename(self.path, mine)
            except OSError:
                os.close(fd)
            else:
                claims.append(Claim(mine, fd))
        return claims

    def _orphans(self, *, take: bool) -> Iterator[Claim]:
        pattern = f"{self.path.name}.*{_SENDING}"
        found = sorted(self.path.parent.glob(pattern), key=_mtime)
        for path in found:
            fd = _lock_if_current(path, os.O_RDONLY, wait=0.0)
            if fd is None:
                continue  # a live sender holds it
            if take:
                yield Claim(path, fd)
            else:
                os.close(fd)
                yield Claim(path, -1)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return math.inf
