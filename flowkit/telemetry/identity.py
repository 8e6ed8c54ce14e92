"""The anonymous instance id, kept in ``<home>/settings.json`` as Flowise keeps its own,
and the :class:`Identity` that gives every event of a home its distinctId.

The file holds ``{"instanceId": "<uuid4>"}`` and may hold other keys, which are preserved.
It is read or created under an exclusive ``flock`` on the home folder itself, so every
process on one home agrees on one id. Nothing happens at import time.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
import threading
import uuid
from pathlib import Path

from flowkit.telemetry.files import make_private_dir

__all__ = ["INSTANCE_ID_KEY", "Identity", "load_or_create_instance_id", "peek_instance_id"]

_log = logging.getLogger("flowkit.telemetry")

#: The key of the instance id in ``settings.json`` (Flowise's spelling).
INSTANCE_ID_KEY = "instanceId"
_FILE_NAME = "settings.json"

_lock = threading.Lock()
_process_id: str | None = None  # used for every home that could not be written
_failed_homes: set[str] = set()


def _valid_id(value: object) -> str | None:
    """The id when *value* is a canonical UUID string, else None."""
    if not isinstance(value, str):
        return None
    try:
        return value if str(uuid.UUID(value)) == value else None
    except ValueError:
        return None


def _read_settings(path: Path) -> dict[str, object] | None:
    """The JSON object in *path*; None when missing, unreadable or not a JSON object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # ValueError: bad JSON, bad UTF-8
        return None
    return data if isinstance(data, dict) else None


def _write_new_file(path: Path, data: dict[str, object], *, replace: bool) -> bool:
    """Write *data* atomically to *path* through a temporary file in the same folder.

    :returns: False when *replace* is False and another writer created *path* first.
    """
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".settings.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump(data, stream, indent=2)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        if replace:
            os.replace(temp, path)
            return True
        try:
            os.link(temp, path)  # creates only if absent: two processes agree on one id
        except FileExistsError:
            return False
        except OSError:  # no hard links on this file system
            os.replace(temp, path)
        return True
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp)


def _load_or_create(home: Path, proposed: str | None = None) -> str:
    """Read the id from disk, creating or repairing the file; raises on I/O failure."""
    path = home / _FILE_NAME
    data = _read_settings(path)
    if data is not None and (found := _valid_id(data.get(INSTANCE_ID_KEY))) is not None:
        return found
    make_private_dir(home)
    lock = os.open(home, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)  # no extra file
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _create_locked(home, path, proposed)
    finally:
        os.close(lock)  # releases the lock


def _create_locked(home: Path, path: Path, proposed: str | None) -> str:
    data = _read_settings(path)
    if data is not None and (found := _valid_id(data.get(INSTANCE_ID_KEY))) is not None:
        return found  # another process created it while we waited for the lock
    exists = os.path.lexists(path)
    new_id = _valid_id(proposed) or str(uuid.uuid4())
    content: dict[str, object] = {**(data or {}), INSTANCE_ID_KEY: new_id}
    if _write_new_file(path, content, replace=exists):
        return new_id
    # Another process created the file between our read and our write: use its id.
    data = _read_settings(path)
    if data is not None and (found := _valid_id(data.get(INSTANCE_ID_KEY))) is not None:
        return found
    _write_new_file(path, {**(data or {}), INSTANCE_ID_KEY: new_id}, replace=True)
    return new_id


def load_or_create_instance_id(home: Path, proposed: str | None = None) -> str:
    """Return this installation's anonymous instance id, creating it on first use.

    Reads ``<home>/settings.json``. When the file is missing, unreadable, not JSON or lacks a
    valid ``instanceId``, writes a fresh uuid4 into it (creating *home* if needed), keeping
    the file's other keys when it could be read. Writes are atomic (a temporary file in the
    same folder, then a rename), so readers never see a half-written file.

    When the id cannot be stored (home is a file, no permission, read-only file system, ...)
    a per-process uuid4 is returned instead: the same one for every such home for the rest of
    the process, with one warning per home on the ``flowkit.telemetry`` logger.

    :param home: the telemetry home folder, e.g. :attr:`TelemetrySettings.home`.
    :param proposed: the id to store when none exists yet (a canonical uuid; default: a
        fresh uuid4). An id already stored always wins.
    :returns: a canonical uuid string. Guaranteed: never raises; thread-safe (concurrent
        callers get the same id); stable within a process for a given home.
    """
    global _process_id
    with _lock:
        key = str(home)
        if key not in _failed_homes:
            try:
                return _load_or_create(Path(home), proposed)
            except Exception as exc:
                _failed_homes.add(key)
                _log.warning(
                    "could not store the telemetry instance id in %s (%s: %s); "
                    "using a temporary id for this process",
                    Path(home) / _FILE_NAME,
                    type(exc).__name__,
                    exc,
                )
        if _process_id is None:
            _process_id = str(uuid.uuid4())
        return _process_id


def peek_instance_id(home: Path) -> str | None:
    """Return the stored instance id without creating or repairing anything.

    :param home: the telemetry home folder.
    :returns: the id in ``<home>/settings.json``, or None when there is no valid one.
        Guaranteed: never raises, never writes.
    """
    try:
        data = _read_settings(Path(home) / _FILE_NAME)
    except Exception:  # e.g. a path that the OS rejects outright
        return None
    return _valid_id(data.get(INSTANCE_ID_KEY)) if data is not None else None


class Identity:
    """The distinctId of every event sent from one home.

    The instance id is read, or created and stored, once, under the home's file lock,
    the first time :meth:`distinct_id` is called (the builder calls it before it builds
    its first event), so every process on one home sends under the same id. In the
    ``flowise-3`` profile an organization id, when given, is the distinctId instead, as a
    Flowise 3 server sends its organization's id.

    :param home: the telemetry home folder.
    :param organization_id: the organization id (``FLOWKIT_TELEMETRY_ORG_ID``), or None.
    """

    def __init__(self, home: Path, organization_id: str | None = None) -> None:
        self.home = Path(home)
        self.organization_id = organization_id or None
        self._instance_id: str | None = None
        self._lock = threading.Lock()

    def instance_id(self) -> str:
        """Return the home's instance id, creating it on first use. Never raises."""
        found = self._instance_id
        if found is None:
            with self._lock:
                if self._instance_id is None:
                    self._instance_id = load_or_create_instance_id(self.home)
                found = self._instance_id
        return found

    def distinct_id(self, profile: str = "flowise-1") -> str:
        """Return the distinctId for ``profile``: the organization id in ``flowise-3`` when
        one is set, else the instance id. Never raises."""
        if profile == "flowise-3" and self.organization_id:
            return self.organization_id
        return self.instance_id()

    def after_fork(self) -> None:
        """Make a fresh lock in a forked child (the id itself stays the home's)."""
        self._lock = threading.Lock()
