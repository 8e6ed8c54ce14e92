"""Hypothesis: whatever flow loads also goes through a workspace file and comes back the same
(get, list, a revision), for generated flows and for Flowise's own samples."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from conftest import MARKETPLACE
from hypothesis import given, note
from hypothesis import strategies as st

from flowkit.errors import FlowkitError
from flowkit.model import Chatflow, Tool
from flowkit.storage.sqlite import SQLiteStore
from tests.fuzz.strategies import budget, mutated, seed_chatflows, seed_tools

VENDORED = Path(__file__).resolve().parents[1] / "data" / "flowise"
SAMPLES = VENDORED if (VENDORED / "chatflows").is_dir() else MARKETPLACE
# Mutations that keep a flow loadable often enough to be worth storing.
KEEPING = ("retype", "unicode", "huge", "delete", "rename", "cycle", "self-loop")


def _load(doc: Any) -> Chatflow | None:
    try:
        return Chatflow.from_flowise(doc)
    except FlowkitError:
        return None


def _same(a: Chatflow, b: Chatflow) -> None:
    assert json.dumps(b.to_flowise()) == json.dumps(a.to_flowise())
    assert (b.id, b.name, b.type) == (a.id, a.name, a.type)
    assert json.dumps(b.flow_extra) == json.dumps(a.flow_extra)  # NaN != NaN, but as text
    assert (b.created_at, b.updated_at) == (a.created_at, a.updated_at)


def _round_trip(flow: Chatflow) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "w.db"
        with SQLiteStore(path) as store:
            store.save(flow)
            changed = flow.model_copy()
            changed.add_node("calculator")
            store.replace(changed)
        with SQLiteStore(path) as store:
            _same(flow, store.get(Chatflow, flow.id, revision=1))
            _same(changed, store.get(Chatflow, flow.id))
            (listed,) = store.list(Chatflow)
            _same(changed, listed)


@budget(0.3)
@given(mutated(seed_chatflows(), kinds=KEEPING))
def test_generated_flows_round_trip_through_the_file(case: tuple[str, Any, list[str]]) -> None:
    name, doc, done = case
    note(f"{name}: {done}")
    flow = _load(doc)
    if flow is not None:
        _round_trip(flow)


@budget(0.2)
@given(st.sampled_from(sorted(seed_tools())), st.sampled_from(["dict", "text"]))
def test_seed_tools_round_trip_through_the_file(name: str, form: str) -> None:
    doc = seed_tools()[name]
    tool = Tool.from_flowise(doc if form == "dict" else json.dumps(doc))
    with tempfile.TemporaryDirectory() as folder:
        with SQLiteStore(Path(folder) / "w.db") as store:
            store.save(tool)
        with SQLiteStore(Path(folder) / "w.db") as store:
            again = store.get(Tool, tool.id)
    assert again == tool
    assert again.to_flowise() == tool.to_flowise()


def _samples(kind: str) -> list[Path]:
    folder = SAMPLES / kind
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


@pytest.mark.parametrize("sample", _samples("chatflows"), ids=lambda p: p.stem)
def test_flowise_samples_round_trip_through_the_file(sample: Path) -> None:
    flow = Chatflow.from_flowise(sample)
    _round_trip(flow)
    assert flow.to_flowise()["nodes"] == json.loads(sample.read_text("utf-8"))["nodes"]


@pytest.mark.parametrize("sample", _samples("tools"), ids=lambda p: p.stem)
def test_flowise_tool_samples_round_trip_through_the_file(sample: Path, tmp_path: Path) -> None:
    tool = Tool.from_flowise(sample)
    with SQLiteStore(tmp_path / "w.db") as store:
        store.save(tool)
    with SQLiteStore(tmp_path / "w.db") as store:
        assert store.get(Tool, tool.id).to_flowise() == json.loads(sample.read_text("utf-8"))
