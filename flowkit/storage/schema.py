"""Opening a workspace file: the checks that refuse a file flowkit must not touch, the
connection settings that let processes and threads share it, and the schema's forward
migrations.

A file is refused, with a :class:`~flowkit.errors.StorageError` naming its path and what to
do, and left exactly as it was, when it is a folder, not a SQLite file, a SQLite file of
another program, damaged, or written by a newer flowkit.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from flowkit.errors import StorageError

__all__ = [
    "BUSY_TIMEOUT",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "is_busy",
    "open_connection",
    "retry_busy",
]

T = TypeVar("T")

BUSY_TIMEOUT = 60.0
"""Seconds a connection waits for another writer before giving up."""

_SQLITE_MAGIC = b"SQLite format 3\x00"

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: Flowise's tables (chat_flow, tool, assistant, chat_message, upsert_history), plus the
    # revisions of each chatflow and the component state of each node.
    (
        """CREATE TABLE chat_flow (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            flowData TEXT NOT NULL,
            type TEXT NOT NULL,
            createdDate TEXT NOT NULL,
            updatedDate TEXT NOT NULL,
            fields TEXT NOT NULL,
            revision INTEGER NOT NULL
        )""",
        """CREATE TABLE chatflow_revision (
            chatflow_id TEXT NOT NULL,
            number INTEGER NOT NULL,
            created_date TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            name TEXT NOT NULL,
            flowData TEXT NOT NULL,
            type TEXT NOT NULL,
            createdDate TEXT NOT NULL,
            updatedDate TEXT NOT NULL,
            fields TEXT NOT NULL,
            PRIMARY KEY (chatflow_id, number)
        ) WITHOUT ROWID""",
        """CREATE TABLE tool (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            description TEXT,
            createdDate TEXT NOT NULL,
            state TEXT NOT NULL
        )""",
        """CREATE TABLE assistant (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            createdDate TEXT NOT NULL,
            state TEXT NOT NULL
        )""",
        """CREATE TABLE chat_message (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL,
            chatflowid TEXT NOT NULL,
            chatId TEXT NOT NULL,
            content TEXT NOT NULL,
            createdDate TEXT NOT NULL
        )""",
        "CREATE INDEX chat_message_flow ON chat_message (chatflowid, chatId, seq)",
        """CREATE TABLE upsert_history (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            chatflowid TEXT NOT NULL,
            stopNodeId TEXT,
            result TEXT NOT NULL,
            date TEXT NOT NULL
        )""",
        "CREATE INDEX upsert_history_flow ON upsert_history (chatflowid, seq)",
        """CREATE TABLE component_state (
            chatflow_id TEXT NOT NULL,
            node_id TEXT NOT NULL,
            state TEXT NOT NULL,
            PRIMARY KEY (chatflow_id, node_id)
        ) WITHOUT ROWID""",
    ),
    # 2: each chat message's memory session (Flowise's chat_message.sessionId): the chat id
    # unless the caller or the memory node named another; and each chatflow's generation
    # (bumped by every write of the flow or its state, so other processes' caches see it).
    # "IF NOT EXISTS": development builds of 0.1.0 created flow_generation in migration 1.
    (
        "ALTER TABLE chat_message ADD COLUMN sessionId TEXT",
        "UPDATE chat_message SET sessionId = chatId",
        "CREATE INDEX chat_message_session ON chat_message (chatflowid, sessionId, seq)",
        """CREATE TABLE IF NOT EXISTS flow_generation (
            chatflow_id TEXT PRIMARY KEY,
            number INTEGER NOT NULL
        ) WITHOUT ROWID""",
    ),
)
"""Migration ``n`` (1-based) brings the schema from version ``n - 1`` to ``n``."""

SCHEMA_VERSION = len(MIGRATIONS)
"""The schema version this flowkit writes and the newest it reads."""

_DAMAGED = "it may be damaged: restore it from a backup, or move it aside and open again"


def is_busy(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says another connection holds the lock (worth retrying)."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def retry_busy(action: Callable[[], T], timeout: float = BUSY_TIMEOUT) -> T:
    """Run ``action``, again with growing pauses while SQLite reports the file busy, for up to
    ``timeout`` seconds (SQLite's own busy handler does not cover every case, e.g. changing
    the journal mode or recovering a WAL)."""
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def open_connection(path: Path) -> sqlite3.Connection:
    """Open (creating when missing) the workspace file at ``path`` and bring its schema to
    :data:`SCHEMA_VERSION`, in one transaction.

    :returns: a connection in autocommit mode (transactions are explicit), usable from any
        thread under the caller's lock.
    :raises StorageError: naming the path and what to do, when the file cannot be used;
        nothing in it was changed then.
    """
    _check_header(path)
    try:
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open workspace file {str(path)!r}: {exc}") from None
    try:
        _prepare(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def _check_header(path: Path) -> None:
    if path.is_dir():
        raise StorageError(
            f"{str(path)!r} is a folder, not a workspace file: pass the path of a file "
            "(it is created when missing)"
        )
    try:
        with path.open("rb") as file:
            head = file.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise StorageError(
                f"cannot create workspace file {str(path)!r}: its folder does not exist"
            ) from None
        return
    except OSError as exc:
        raise StorageError(f"cannot read workspace file {str(path)!r}: {exc}") from None
    if head and head != _SQLITE_MAGIC:
        raise StorageError(
            f"{str(path)!r} is not a flowkit workspace file (not SQLite): pick another "
            "path; the file was not changed"
        )


def _prepare(conn: sqlite3.Connection, path: Path) -> None:
    where = repr(str(path))
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
    # Read before anything writes: a damaged, foreign or newer file must stay untouched.
    version = _read_version(conn, where)
    if version > SCHEMA_VERSION:
        raise StorageError(
            f"workspace file {where} has schema version {version}, written by a newer "
            f"flowkit (this one reads up to {SCHEMA_VERSION}): upgrade flowkit to open it; "
            "the file was not changed"
        )
    try:
        mode = retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
        if mode is None or str(mode[0]).lower() != "wal":
            raise StorageError(
                f"workspace file {where} cannot use SQLite's WAL mode (got {mode}): "
                "put it on a local disk"
            )
        conn.execute("PRAGMA synchronous = NORMAL")
        if version < SCHEMA_VERSION:
            retry_busy(lambda: _migrate(conn))
    except sqlite3.DatabaseError as exc:
        if is_busy(exc):
            raise StorageError(
                f"workspace file {where} stayed locked by another process for "
                f"{BUSY_TIMEOUT:.0f}s: try again when it is done"
            ) from None
        raise StorageError(f"cannot open workspace file {where} ({exc}): {_DAMAGED}") from None


def _read_version(conn: sqlite3.Connection, where: str) -> int:
    try:
        tables = {
            row[0]
            for row in retry_busy(
                lambda: conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                ).fetchall()
            )
        }
        if not tables:
            return 0
        if "schema_version" not in tables:
            raise StorageError(
                f"{where} is a SQLite file of another program, not a flowkit workspace "
                "file: pick another path; the file was not changed"
            )
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"cannot open workspace file {where} ({exc}): {_DAMAGED}") from None
    return int(row[0] or 0)


def _migrate(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if "schema_version" not in tables:
            conn.execute(
                "CREATE TABLE schema_version "
                "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        current = int(row[0] or 0)  # another process may have migrated meanwhile
        for number in range(current + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[number - 1]:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                (number, datetime.now(UTC).isoformat()),
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
