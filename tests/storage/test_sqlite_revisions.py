"""Every save of a chatflow keeps a revision numbered from 1; revisions read back and restore."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowkit.diff import diff_chatflows
from flowkit.errors import ArgumentTypeError, NotFoundError
from flowkit.model import Chatflow, Tool
from flowkit.storage.sqlite import SQLiteStore

from .helpers import small_flow


def test_create_is_revision_1_and_each_replace_adds_one(tmp_path: Path) -> None:
    flow = small_flow()
    with SQLiteStore(tmp_path / "w.db") as store:
        store.save(flow)
        flow.node("chatOpenAI_0").inputs["temperature"] = 0.9
        store.replace(flow)
        flow.name = "renamed"
        store.replace(flow)
    with SQLiteStore(tmp_path / "w.db") as store:
        infos = store.revisions(flow.id)
        assert [r.number for r in infos] == [1, 2, 3]
        assert [r.name for r in infos] == ["RAG", "RAG", "renamed"]
        assert len({r.content_hash for r in infos}) == 3
        first = store.get(Chatflow, flow.id, revision=1)
    assert first.node("chatOpenAI_0").inputs["temperature"] == 0.2
    assert first.name == "RAG"


def test_revision_number_is_not_the_change_counter(tmp_path: Path) -> None:
    flow = small_flow()
    assert flow.revision > 1  # the in-memory counter counted every add and connect
    with SQLiteStore(tmp_path / "w.db") as store:
        store.save(flow)
        assert [r.number for r in store.revisions(flow.id)] == [1]


def test_equal_content_hashes_alike_whatever_the_time(tmp_path: Path) -> None:
    flow = small_flow()
    with SQLiteStore(tmp_path / "w.db") as store:
        store.save(flow)
        flow.updated_at = flow.updated_at.replace(year=2030)
        store.replace(flow)
        first, second = store.revisions(flow.id)
    assert first.content_hash == second.content_hash


def test_restore_saves_the_old_revision_as_the_newest(tmp_path: Path) -> None:
    flow = small_flow()
    with SQLiteStore(tmp_path / "w.db") as store:
        store.save(flow)
        flow.remove_node("promptTemplate_0")
        store.replace(flow)
        restored = store.restore(flow.id, 1)
        infos = store.revisions(flow.id)
        current = store.get(Chatflow, flow.id)
    assert [r.number for r in infos] == [1, 2, 3]
    assert infos[2].content_hash == infos[0].content_hash
    assert current.has_node("promptTemplate_0")
    assert restored.has_node("promptTemplate_0")
    assert not diff_chatflows(small_flow(), current).nodes_added


def test_an_unknown_revision_names_the_ones_there_are(tmp_path: Path) -> None:
    flow = small_flow()
    with SQLiteStore(tmp_path / "w.db") as store:
        store.save(flow)
        with pytest.raises(NotFoundError, match=r"has no revision 7 .*1 to 1"):
            store.get(Chatflow, flow.id, revision=7)
        with pytest.raises(NotFoundError, match="has no revision 9"):
            store.restore(flow.id, 9)
        with pytest.raises(NotFoundError, match="no chatflow with id 'ghost'"):
            store.revisions("ghost")
        with pytest.raises(NotFoundError, match="no chatflow with id 'ghost'"):
            store.get(Chatflow, "ghost", revision=1)
        with pytest.raises(ArgumentTypeError, match="only chatflows have revisions"):
            store.get(Tool, "t", revision=1)
        assert [r.number for r in store.revisions(flow.id)] == [1]
