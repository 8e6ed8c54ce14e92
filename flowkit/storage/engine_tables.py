"""What the engine keeps in a workspace file beside the entities: chat messages
(Flowise's ``chat_message``), component state and upsert records (``upsert_history``):
:class:`EngineTables`, a part of :class:`~flowkit.storage.sqlite.SQLiteStore`."""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from flowkit.errors import AlreadyExistsError
from flowkit.model.messages import ChatMessage, Role
from flowkit.storage.connection import WorkspaceFile
from flowkit.storage.records import dumps
from flowkit.storage.upserts import UpsertRecord

__all__ = ["EngineTables", "bump_generation"]


class EngineTables(WorkspaceFile):
    """Chat messages, component state, change numbers and upsert records of a workspace
    file."""

    # ---- chat messages -------------------------------------------------------------------

    def add_chat_messages(self, messages: Sequence[ChatMessage]) -> None:
        """Append messages to their conversations, in the order given (all or none).

        :raises AlreadyExistsError: when a message's id is stored already.
        """
        values = [
            (
                m.id,
                m.role.value,
                m.chatflow_id,
                m.chat_id,
                m.session,
                m.content,
                m.created_at.isoformat(),
            )
            for m in messages
        ]

        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.executemany(
                    "INSERT INTO chat_message "
                    "(id, role, chatflowid, chatId, sessionId, content, createdDate) "
                    "VALUES (?,?,?,?,?,?,?)",
                    values,
                )
            except sqlite3.IntegrityError:
                raise AlreadyExistsError(
                    "a chat message with one of these ids is stored already: give each "
                    "message a fresh id",
                    kind="chat message",
                ) from None

        if values:
            self._write(insert)

    def chat_messages(
        self, chatflow_id: str, chat_id: str | None = None, *, session: str | None = None
    ) -> builtins.list[ChatMessage]:
        """The messages of a chatflow (of one conversation when ``chat_id`` is given, of one
        memory session when ``session`` is), oldest first."""
        sql = (
            "SELECT id, role, chatflowid, chatId, sessionId, content, createdDate "
            "FROM chat_message WHERE chatflowid = ?"
        )
        params: list[str] = [chatflow_id]
        if chat_id is not None:
            sql += " AND chatId = ?"
            params.append(chat_id)
        if session is not None:
            sql += " AND sessionId = ?"
            params.append(session)
        sql += " ORDER BY seq"
        rows = self._read(lambda conn: conn.execute(sql, params).fetchall())
        return [
            ChatMessage(
                id=i,
                role=Role(role),
                chatflow_id=flow,
                chat_id=chat,
                session_id=session_id,
                content=content,
                created_at=datetime.fromisoformat(at),
            )
            for i, role, flow, chat, session_id, content, at in rows
        ]

    def delete_chat_messages(self, chatflow_id: str, chat_id: str | None = None) -> int:
        """Delete a chatflow's messages (one conversation's when ``chat_id`` is given).

        :returns: how many were deleted.
        """
        if chat_id is None:
            sql = "DELETE FROM chat_message WHERE chatflowid = ?"
            params: tuple[str, ...] = (chatflow_id,)
        else:
            sql = "DELETE FROM chat_message WHERE chatflowid = ? AND chatId = ?"
            params = (chatflow_id, chat_id)
        return self._write(lambda conn: int(conn.execute(sql, params).rowcount))

    # ---- component state -----------------------------------------------------------------

    def load_state(self, chatflow_id: str) -> dict[str, Any]:
        """The chatflow's component state: node id -> that component's state (empty when
        none was kept)."""
        rows = self._read(
            lambda conn: conn.execute(
                "SELECT node_id, state FROM component_state WHERE chatflow_id = ?",
                (chatflow_id,),
            ).fetchall()
        )
        return {node_id: json.loads(state) for node_id, state in rows}

    def save_state(self, chatflow_id: str, state: Mapping[str, Any]) -> None:
        """Keep the chatflow's component state (replacing what was kept).

        :raises FlowValidationError: when a node's state is not JSON (naming the node).
        """
        rows = [
            (chatflow_id, str(node_id), dumps(value, f"the state of node {node_id!r}"))
            for node_id, value in state.items()
        ]

        def replace(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM component_state WHERE chatflow_id = ?", (chatflow_id,))
            conn.executemany(
                "INSERT INTO component_state (chatflow_id, node_id, state) VALUES (?,?,?)", rows
            )
            bump_generation(conn, chatflow_id)

        self._write(replace)

    def generation(self, chatflow_id: str) -> int:
        """A number that changes whenever the chatflow or its component state changes, in
        any process (``0`` when it was never saved): a backend reuses what it read while
        this stays the same."""
        row = self._read(
            lambda conn: conn.execute(
                "SELECT number FROM flow_generation WHERE chatflow_id = ?", (chatflow_id,)
            ).fetchone()
        )
        return 0 if row is None else int(row[0])

    # ---- upsert history ------------------------------------------------------------------

    def add_upsert_record(self, record: UpsertRecord) -> None:
        """Keep one upsert's record (Flowise's ``upsert_history``)."""
        self._write(
            lambda conn: conn.execute(
                "INSERT INTO upsert_history (id, chatflowid, stopNodeId, result, date) "
                "VALUES (?,?,?,?,?)",
                (
                    record.id,
                    record.chatflow_id,
                    record.stop_node_id,
                    dumps(record.result(), "the upsert record"),
                    record.created_at.isoformat(),
                ),
            )
        )

    def upsert_history(self, chatflow_id: str) -> builtins.list[UpsertRecord]:
        """The chatflow's upsert records, oldest first."""
        rows = self._read(
            lambda conn: conn.execute(
                "SELECT id, stopNodeId, result, date FROM upsert_history "
                "WHERE chatflowid = ? ORDER BY seq",
                (chatflow_id,),
            ).fetchall()
        )
        return [UpsertRecord.from_row(chatflow_id, *row) for row in rows]


def bump_generation(conn: sqlite3.Connection, chatflow_id: str) -> None:
    """Count one more change of the chatflow or its state (never reset, even by a delete)."""
    conn.execute(
        "INSERT INTO flow_generation (chatflow_id, number) VALUES (?, 1) "
        "ON CONFLICT (chatflow_id) DO UPDATE SET number = number + 1",
        (chatflow_id,),
    )
