"""Opening a workspace file: created when missing, migrated forward in one transaction, and
refused, untouched, when it is not a flowkit file, damaged, or from a newer flowkit."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from flowkit.errors import FlowkitError, StorageError
from flowkit.model import Chatflow
from flowkit.storage import schema
from flowkit.storage.sqlite import SQLiteStore

from .helpers import chain_flow, small_flow


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_a_missing_file_is_created_with_flowises_tables_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with SQLiteStore(path) as store:
        store.save(small_flow())
        mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert {
        "chat_flow",
        "tool",
        "assistant",
        "chat_message",
        "upsert_history",
        "chatflow_revision",
        "component_state",
        "schema_version",
    } <= _tables(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] == (
            schema.SCHEMA_VERSION
        )
        (flow_data,) = conn.execute("SELECT flowData FROM chat_flow").fetchone()
    assert isinstance(flow_data, str)
    assert flow_data.startswith('{"nodes":')


def _refused(path: Path, match: str) -> StorageError:
    before = path.read_bytes()
    with pytest.raises(StorageError, match=match) as caught:
        SQLiteStore(path)
    assert str(path) in str(caught.value)
    assert isinstance(caught.value, FlowkitError)
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists()
    return caught.value


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 100)
    _refused(path, "not a flowkit workspace file .not SQLite.")


def test_another_programs_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE users (name TEXT)")
    conn.close()
    _refused(path, "SQLite file of another program")


def test_a_newer_schema_is_refused_untouched_saying_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO schema_version VALUES (?, 'later')", (schema.SCHEMA_VERSION + 1,))
    conn.close()  # the last connection: the WAL is checkpointed into the file and removed
    _refused(path, "newer flowkit .* upgrade flowkit")


def test_a_damaged_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "damaged.db"
    with SQLiteStore(path) as store:
        for n in range(20):
            store.save(chain_flow(30, f"flow {n}"))
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the rest of page 1: the schema's root
    path.write_bytes(bytes(data))
    _refused(path, "damaged: restore it from a backup")


def test_damage_found_after_opening_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "damaged-later.db"
    with SQLiteStore(path) as store:
        for n in range(20):
            store.save(chain_flow(30, f"flow {n}"))
    data = bytearray(path.read_bytes())
    data[4096 * 3 :] = b"\x13" * (len(data) - 4096 * 3)
    path.write_bytes(bytes(data))

    def read_everything() -> None:
        with SQLiteStore(path) as store:
            for flow in store.list(Chatflow):
                flow.nodes  # noqa: B018 - parse them all

    with pytest.raises(StorageError, match=str(path)):
        read_everything()


def test_a_folder_or_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="is a folder"):
        SQLiteStore(tmp_path)
    with pytest.raises(StorageError, match="its folder does not exist"):
        SQLiteStore(tmp_path / "nowhere" / "w.db")


def test_an_empty_file_becomes_a_workspace(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    with SQLiteStore(path) as store:
        store.save(small_flow())
    with SQLiteStore(path) as store:
        assert len(store.list(Chatflow)) == 1


def test_migrations_run_forward_in_one_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.db"
    SQLiteStore(path).close()
    broken = (*schema.MIGRATIONS, ("CREATE TABLE extra_one (x)", "CREATE TABLE broken ("))
    monkeypatch.setattr(schema, "MIGRATIONS", broken)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(broken))
    with pytest.raises(StorageError):
        SQLiteStore(path)
    assert "extra_one" not in _tables(path)  # the failed migration left nothing behind
    fixed = (*schema.MIGRATIONS[:-1], ("CREATE TABLE extra_one (x)", "CREATE TABLE extra_two (y)"))
    monkeypatch.setattr(schema, "MIGRATIONS", fixed)
    SQLiteStore(path).close()
    assert {"extra_one", "extra_two"} <= _tables(path)
    with sqlite3.connect(path) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY 1")]
    assert versions == list(range(1, len(fixed) + 1))


V1_FILE = Path(__file__).resolve().parents[1] / "data" / "workspace" / "workspace-v1.db"
"""A version 1 workspace file written by flowkit before version 2 (see its README)."""


def test_a_version_1_file_gains_memory_sessions_keeping_its_messages(tmp_path: Path) -> None:
    from flowkit.model.messages import ChatMessage, Role

    path = tmp_path / "v1.db"
    shutil.copyfile(V1_FILE, path)  # its one chat, "chat-1", has a question and an answer

    with SQLiteStore(path) as store:
        (flow,) = store.list(Chatflow)
        old = store.chat_messages(flow.id, session="chat-1")
        store.add_chat_messages(
            [
                ChatMessage(
                    chatflow_id=flow.id,
                    chat_id="c2",
                    session_id="team",
                    role=Role.USER,
                    content="yo",
                )
            ]
        )
        team = store.chat_messages(flow.id, session="team")
        every = store.chat_messages(flow.id)

    assert [(m.chat_id, m.session_id, m.content) for m in old][:1] == [
        ("chat-1", None, "where are flows kept?")
    ]
    assert len(old) == 2
    assert [(m.chat_id, m.session, m.content) for m in team] == [("c2", "team", "yo")]
    assert len(every) == 3
    with sqlite3.connect(path) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY 1")]
    assert versions == [1, 2]


def test_a_file_written_by_the_version_1_flowkit_opens_and_works_in_full(tmp_path: Path) -> None:
    from flowkit import Workspace

    path = tmp_path / "flows.db"
    shutil.copyfile(V1_FILE, path)

    with Workspace.open(path) as ws:
        (flow,) = ws.list_chatflows()
        before = ws.chat_messages(flow, chat_id="chat-1")
        answer = ws.predict(flow, "does it migrate?", chat_id="chat-1")
        flow.name = "Docs QA v2"
        ws.update_chatflow(flow)
        ws.upsert_vector(flow)
        again = ws.predict(flow, "where are flows kept?", chat_id="chat-2")
        tools = [tool.name for tool in ws.list_tools()]
        ws.delete_chatflow(flow)
        left = ws.list_chatflows()

    assert [(m.role.value, m.session) for m in before] == [
        ("userMessage", "chat-1"),
        ("apiMessage", "chat-1"),
    ]
    assert before[0].content == "where are flows kept?"
    assert "migrates old files forward" in answer.text
    assert "SQLite file" in again.text
    assert tools == ["calc"]
    assert left == []
    with sqlite3.connect(path) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY 1")]
    assert versions == [1, 2]
