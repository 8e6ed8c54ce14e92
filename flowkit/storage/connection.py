"""One open workspace file: :class:`WorkspaceFile`, the connection, its lock and its
transactions, which :class:`~flowkit.storage.sqlite.SQLiteStore` builds on.

Every call is one transaction; a write takes SQLite's write lock up front (``BEGIN
IMMEDIATE``) and is retried while another process holds it, so "database is locked" never
reaches the caller; SQLite errors become :class:`~flowkit.errors.StorageError` naming the
file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from typing import Self, TypeVar

from flowkit.errors import NotFoundError, StorageError
from flowkit.storage.schema import is_busy, open_connection, retry_busy

__all__ = ["WorkspaceFile"]

T = TypeVar("T")


class WorkspaceFile:
    """An open workspace file: thread-safe (one connection, one lock), not fork-safe.

    :param path: the file; created when missing.
    :raises StorageError: naming the path and what to do, when the file is a folder, not
        SQLite, another program's database, damaged, or written by a newer flowkit; the file
        is not changed then.
    """

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = open_connection(self.path)

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"{type(self).__name__}({str(self.path)!r}, {state})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file; calling it twice is harmless. Later calls raise StorageError."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # ---- transactions --------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageError(f"workspace file {str(self.path)!r} is closed: open it again")
        return self._conn

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.IntegrityError:
            raise
        except sqlite3.DatabaseError as exc:
            where = repr(str(self.path))
            if is_busy(exc):
                message = f"workspace file {where} stayed locked by another process: try again"
            else:
                message = (
                    f"workspace file {where} cannot be used ({exc}): it may be damaged: "
                    "restore it from a backup, or move it aside"
                )
            raise StorageError(message) from None

    def _write(self, body: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``body`` in one IMMEDIATE transaction (the write lock taken up front, so that
        WAL never refuses the upgrade from reader to writer), retried while busy."""

        def attempt() -> T:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = body(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result

        with self._lock, self._translated():
            return retry_busy(attempt)

    def _read(self, body: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``body`` in one read transaction (one consistent snapshot)."""

        def attempt() -> T:
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                return body(conn)
            finally:
                conn.execute("COMMIT")

        with self._lock, self._translated():
            return retry_busy(attempt)

    def _not_found(self, kind: str, entity_id: str) -> NotFoundError:
        return NotFoundError(
            f"no {kind} with id {entity_id!r} in {str(self.path)!r}",
            kind=kind,
            entity_id=entity_id,
        )
