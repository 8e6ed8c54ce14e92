"""A :class:`~flowkit.storage.base.Store` in one SQLite file: :class:`SQLiteStore`.

The file holds Flowise's tables (``chat_flow`` with the API record and its ``flowData`` as
text, ``tool``, ``assistant``, ``chat_message``, ``upsert_history``) plus
``chatflow_revision`` (every saved version of every chatflow) and ``component_state``. It is
in WAL mode with a busy timeout, so several processes and threads share one file: readers
never wait, writers wait their turn, and "database is locked" never reaches the caller.
Every call is one transaction: a process killed in the middle leaves the file with every
call that returned and nothing of the one that did not.
"""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from flowkit.errors import AlreadyExistsError, ArgumentTypeError, NotFoundError
from flowkit.model import Assistant, Chatflow, Tool
from flowkit.storage.base import Entity, EntityT
from flowkit.storage.engine_tables import EngineTables, bump_generation
from flowkit.storage.records import (
    ChatflowRow,
    chatflow_row,
    entity_from_state,
    entity_state,
    stored_chatflow,
)
from flowkit.storage.revisions import RevisionInfo

__all__ = ["SQLiteStore"]

_KINDS: dict[type[Any], str] = {Chatflow: "chatflow", Tool: "tool", Assistant: "assistant"}
_TABLES = {"chatflow": "chat_flow", "tool": "tool", "assistant": "assistant"}
_FLOW_COLUMNS = "id, name, type, createdDate, updatedDate, fields, flowData"


class SQLiteStore(EngineTables):
    """Chatflows (with their revisions), tools, assistants, chat messages and component state
    in one SQLite file.

    Thread-safe (one connection, one lock); several processes may open the same file. Not
    fork-safe: open the store again in a child process.

    :param path: the workspace file; created when missing.
    :raises StorageError: naming the path and what to do, when the file is a folder, not
        SQLite, another program's database, damaged, or written by a newer flowkit; the file
        is not changed then.
    """

    # ---- entities ------------------------------------------------------------------------

    def save(self, entity: Entity) -> None:
        """Keep a new entity; a chatflow gets its revision 1.

        :raises AlreadyExistsError: when one of its kind with its id is kept already.
        :raises FlowValidationError: when a value of the entity is not JSON.
        """
        kind = _kind_name(type(entity))
        if isinstance(entity, Chatflow):
            row = chatflow_row(entity)

            def insert_flow(conn: sqlite3.Connection) -> None:
                self._insert(conn, kind, entity.id, _FLOW_INSERT, _flow_values(row, 1))
                _add_revision(conn, row, 1)
                bump_generation(conn, row.id)

            self._write(insert_flow)
            return
        state = entity_state(entity)
        if isinstance(entity, Tool):
            sql = "INSERT INTO tool (id, name, description, createdDate, state) VALUES (?,?,?,?,?)"
            values: tuple[Any, ...] = (
                entity.id,
                entity.name,
                entity.description,
                entity.created_at.isoformat(),
                state,
            )
        else:
            sql = "INSERT INTO assistant (id, type, createdDate, state) VALUES (?,?,?,?)"
            values = (entity.id, entity.type.value, entity.created_at.isoformat(), state)
        self._write(lambda conn: self._insert(conn, kind, entity.id, sql, values))

    def _insert(
        self, conn: sqlite3.Connection, kind: str, entity_id: str, sql: str, values: tuple[Any, ...]
    ) -> None:
        try:
            conn.execute(sql, values)
        except sqlite3.IntegrityError:
            raise AlreadyExistsError(
                f"a {kind} with id {entity_id!r} exists already in {str(self.path)!r}: "
                "update it, or pick another id",
                kind=kind,
                entity_id=entity_id,
            ) from None

    def get(self, kind: type[EntityT], entity_id: str, *, revision: int | None = None) -> EntityT:
        """Return the entity of ``kind`` with this id (a chatflow as it was saved in
        revision number ``revision``, when given).

        :raises NotFoundError: when there is none (or no such revision).
        :raises ArgumentTypeError: when ``revision`` is given for a tool or assistant.
        """
        name = _kind_name(kind)
        if revision is not None:
            if name != "chatflow":
                raise ArgumentTypeError(f"only chatflows have revisions, not a {name}")
            stored: Any = self._get_revision(entity_id, revision)
            return cast("EntityT", stored)
        if name == "chatflow":
            sql = f"SELECT {_FLOW_COLUMNS} FROM chat_flow WHERE id = ?"
        else:
            sql = f"SELECT state FROM {_TABLES[name]} WHERE id = ?"
        row = self._read(lambda conn: conn.execute(sql, (entity_id,)).fetchone())
        if row is None:
            raise self._not_found(name, entity_id)
        return cast("EntityT", _entity(kind, row, parse=True))

    def list(self, kind: type[EntityT]) -> builtins.list[EntityT]:
        """Every entity of ``kind``, in the order they were first saved. Chatflows' graphs are
        parsed on first use, not here."""
        name = _kind_name(kind)
        if name == "chatflow":
            sql = f"SELECT {_FLOW_COLUMNS} FROM chat_flow ORDER BY seq"
        else:
            sql = f"SELECT state FROM {_TABLES[name]} ORDER BY seq"
        rows = self._read(lambda conn: conn.execute(sql).fetchall())
        return [cast("EntityT", _entity(kind, row, parse=False)) for row in rows]

    def count(self, kind: type[Entity]) -> int:
        """How many entities of ``kind`` the file holds."""
        table = _TABLES[_kind_name(kind)]
        row = self._read(lambda conn: conn.execute(f"SELECT count(*) FROM {table}").fetchone())
        return int(row[0])

    def revision_counts(self) -> dict[str, int]:
        """How many revisions each chatflow has (its newest revision number), by id, in the
        order the flows were first saved. Parses no graph."""
        rows = self._read(
            lambda conn: conn.execute("SELECT id, revision FROM chat_flow ORDER BY seq").fetchall()
        )
        return {flow_id: int(number) for flow_id, number in rows}

    def replace(self, entity: Entity) -> None:
        """Replace the kept entity that has ``entity``'s kind and id; a chatflow gets a new
        revision (the previous number plus one).

        :raises NotFoundError: when there is none.
        :raises FlowValidationError: when a value of the entity is not JSON.
        """
        kind = _kind_name(type(entity))
        if isinstance(entity, Chatflow):
            row = chatflow_row(entity)
            self._write(lambda conn: self._replace_flow(conn, row))
            return
        state = entity_state(entity)
        if isinstance(entity, Tool):
            sql = (
                "UPDATE tool SET name = ?, description = ?, createdDate = ?, state = ? WHERE id = ?"
            )
            values: tuple[Any, ...] = (
                entity.name,
                entity.description,
                entity.created_at.isoformat(),
                state,
                entity.id,
            )
        else:
            sql = "UPDATE assistant SET type = ?, createdDate = ?, state = ? WHERE id = ?"
            values = (entity.type.value, entity.created_at.isoformat(), state, entity.id)

        def update(conn: sqlite3.Connection) -> None:
            if conn.execute(sql, values).rowcount == 0:
                raise self._not_found(kind, entity.id)

        self._write(update)

    def _replace_flow(self, conn: sqlite3.Connection, row: ChatflowRow) -> int:
        found = conn.execute("SELECT revision FROM chat_flow WHERE id = ?", (row.id,)).fetchone()
        if found is None:
            raise self._not_found("chatflow", row.id)
        number = int(found[0]) + 1
        conn.execute(
            "UPDATE chat_flow SET name = ?, flowData = ?, type = ?, createdDate = ?, "
            "updatedDate = ?, fields = ?, revision = ? WHERE id = ?",
            (*_content(row), number, row.id),
        )
        _add_revision(conn, row, number)
        bump_generation(conn, row.id)
        return number

    def delete(self, kind: type[EntityT], entity_id: str) -> EntityT:
        """Forget an entity; with a chatflow, also its revisions, chat messages, component
        state and upsert history.

        :returns: the entity as it was.
        :raises NotFoundError: when there is none.
        """
        name = _kind_name(kind)
        table = _TABLES[name]
        columns = _FLOW_COLUMNS if name == "chatflow" else "state"

        def remove(conn: sqlite3.Connection) -> Any:
            row = conn.execute(
                f"SELECT {columns} FROM {table} WHERE id = ?", (entity_id,)
            ).fetchone()
            if row is None:
                raise self._not_found(name, entity_id)
            conn.execute(f"DELETE FROM {table} WHERE id = ?", (entity_id,))
            if name == "chatflow":
                for sql in _FLOW_BELONGINGS:
                    conn.execute(sql, (entity_id,))
                bump_generation(conn, entity_id)
            return row

        row = self._write(remove)
        return cast("EntityT", _entity(kind, row, parse=True))

    # ---- revisions -----------------------------------------------------------------------

    def revisions(self, chatflow_id: str) -> builtins.list[RevisionInfo]:
        """The stored revisions of a chatflow, oldest (number 1) first.

        :raises NotFoundError: when the file holds no such chatflow.
        """

        def select(conn: sqlite3.Connection) -> builtins.list[Any]:
            if (
                conn.execute("SELECT 1 FROM chat_flow WHERE id = ?", (chatflow_id,)).fetchone()
                is None
            ):
                raise self._not_found("chatflow", chatflow_id)
            return conn.execute(
                "SELECT number, created_date, content_hash, name FROM chatflow_revision "
                "WHERE chatflow_id = ? ORDER BY number",
                (chatflow_id,),
            ).fetchall()

        return [
            RevisionInfo(chatflow_id, int(n), datetime.fromisoformat(at), digest, name)
            for n, at, digest, name in self._read(select)
        ]

    def _get_revision(self, chatflow_id: str, number: int) -> Chatflow:
        row = self._read(lambda conn: _revision_row(conn, chatflow_id, number))
        if row is None:
            raise self._no_revision(chatflow_id, number)
        flow: Chatflow = _entity(Chatflow, row, parse=True)
        return flow

    def _no_revision(self, chatflow_id: str, number: int) -> NotFoundError:
        try:
            known = self.revisions(chatflow_id)
        except NotFoundError as exc:
            return exc
        return NotFoundError(
            f"chatflow {chatflow_id!r} has no revision {number} in {str(self.path)!r} "
            f"(it has 1 to {len(known)})",
            kind="chatflow revision",
            entity_id=chatflow_id,
        )

    def restore(self, chatflow_id: str, number: int) -> Chatflow:
        """Save revision ``number`` of a chatflow again, as its newest revision.

        :returns: the chatflow as now saved (its ``updated_at`` is the time of the restore).
        :raises NotFoundError: when there is no such chatflow or revision.
        """

        def restore(conn: sqlite3.Connection) -> Chatflow | None:
            row = _revision_row(conn, chatflow_id, number)
            if row is None:
                return None
            flow: Chatflow = _entity(Chatflow, row, parse=True)
            flow.updated_at = datetime.now(UTC)
            self._replace_flow(conn, chatflow_row(flow))
            return flow

        restored = self._write(restore)
        if restored is None:
            raise self._no_revision(chatflow_id, number)
        return restored


_FLOW_INSERT = (
    "INSERT INTO chat_flow (id, name, flowData, type, createdDate, updatedDate, fields, "
    "revision) VALUES (?,?,?,?,?,?,?,?)"
)
_FLOW_BELONGINGS = (
    "DELETE FROM chatflow_revision WHERE chatflow_id = ?",
    "DELETE FROM chat_message WHERE chatflowid = ?",
    "DELETE FROM component_state WHERE chatflow_id = ?",
    "DELETE FROM upsert_history WHERE chatflowid = ?",
)


def _kind_name(kind: type[Any]) -> str:
    for cls, name in _KINDS.items():
        if isinstance(kind, type) and issubclass(kind, cls):
            return name
    raise ArgumentTypeError(
        f"a store keeps Chatflow, Tool and Assistant, not {getattr(kind, '__name__', kind)!r}"
    )


def _content(row: ChatflowRow) -> tuple[str, ...]:
    """A chatflow's stored content, in the column order name, flowData, type, createdDate,
    updatedDate, fields (chat_flow and chatflow_revision alike)."""
    return (row.name, row.flow_data, row.type, row.created_date, row.updated_date, row.fields)


def _flow_values(row: ChatflowRow, number: int) -> tuple[Any, ...]:
    return (row.id, *_content(row), number)


def _add_revision(conn: sqlite3.Connection, row: ChatflowRow, number: int) -> None:
    conn.execute(
        "INSERT INTO chatflow_revision (chatflow_id, number, created_date, content_hash, name, "
        "flowData, type, createdDate, updatedDate, fields) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (row.id, number, datetime.now(UTC).isoformat(), row.hash, *_content(row)),
    )


def _revision_row(conn: sqlite3.Connection, chatflow_id: str, number: int) -> Any:
    return conn.execute(
        "SELECT chatflow_id, name, type, createdDate, updatedDate, fields, flowData "
        "FROM chatflow_revision WHERE chatflow_id = ? AND number = ?",
        (chatflow_id, number),
    ).fetchone()


def _entity(kind: type[Any], row: Sequence[Any], *, parse: bool) -> Any:
    if issubclass(kind, Chatflow):
        id_, name, type_, created, updated, extra, flow_data = row
        return stored_chatflow(
            id=id_,
            name=name,
            type=type_,
            created_date=created,
            updated_date=updated,
            fields=extra,
            flow_data=flow_data,
            parse=parse,
        )
    return entity_from_state(kind, row[0])
