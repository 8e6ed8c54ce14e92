"""Conformance with flows nobody on the team wrote: Flowise marketplace exports.

Each test runs once per vendored file (``tests/data/flowise``, always) and once per file of
``../shared/flowise-marketplace`` when that folder is present; nothing is skipped without it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import MARKETPLACE, VENDORED

from flowkit import Chatflow, FlowValidationError, Tool
from flowkit.graph import ENDING_CATEGORIES

TWO_VECTOR_STORES = {"Multiple Documents QnA", "SubQuestion Query Engine"}
"""The flows whose upsert needs an explicit stop node (Flowise asks for one too)."""


def read(path: Path) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return parsed


def test_chatflow_loads(marketplace_chatflow: Path) -> None:
    flow = Chatflow.from_flowise(marketplace_chatflow)

    assert flow.name == marketplace_chatflow.stem
    assert len(flow.nodes) == len(read(marketplace_chatflow)["nodes"])


def test_chatflow_round_trips_exactly(marketplace_chatflow: Path) -> None:
    original = read(marketplace_chatflow)
    flow = Chatflow.from_flowise(marketplace_chatflow)

    exported = flow.to_flowise()

    expected = {"nodes": original["nodes"], "edges": original["edges"]}
    assert json.dumps(exported) == json.dumps(expected)


def test_chatflow_validates(marketplace_chatflow: Path) -> None:
    flow = Chatflow.from_flowise(marketplace_chatflow)

    flow.check()


def test_chatflow_reports_its_ending_nodes(marketplace_chatflow: Path) -> None:
    flow = Chatflow.from_flowise(marketplace_chatflow)

    ending = flow.ending_nodes()

    assert ending
    assert all(node.category in ENDING_CATEGORIES for node in ending)


def test_chatflow_resolves_its_stop_node_as_flowise_does(marketplace_chatflow: Path) -> None:
    flow = Chatflow.from_flowise(marketplace_chatflow)
    stores = [n.id for n in flow.vector_store_nodes()]

    if marketplace_chatflow.stem in TWO_VECTOR_STORES:
        assert len(stores) == 2
        with pytest.raises(FlowValidationError, match="stop_node_id") as caught:
            flow.resolve_stop_node()
        assert all(store in str(caught.value) for store in stores)
        assert [flow.resolve_stop_node(store) for store in stores] == stores
    elif len(stores) == 1:
        assert flow.resolve_stop_node() == stores[0]
    else:
        assert stores == []
        with pytest.raises(FlowValidationError, match="no vector store"):
            flow.resolve_stop_node()


def test_tool_round_trips_exactly(marketplace_tool: Path) -> None:
    original = read(marketplace_tool)

    exported = Tool.from_flowise(marketplace_tool).to_flowise()

    assert json.dumps(exported) == json.dumps(original)


def test_marketplace_holds_the_flows_the_conformance_claims_cover(
    marketplace_chatflows: list[Path], marketplace_tools: list[Path]
) -> None:
    stems = {path.stem for path in marketplace_chatflows}
    full = MARKETPLACE.is_dir()

    assert stems >= TWO_VECTOR_STORES | {"Conversational Retrieval QA Chain", "Tool Agent"}
    assert len(marketplace_chatflows) >= (24 if full else 9)
    assert len(marketplace_tools) >= (13 if full else 5)


def test_vendored_exports_carry_flowise_license_notice() -> None:
    notice = (VENDORED / "NOTICE").read_text(encoding="utf-8")

    assert "Apache License, Version 2.0" in notice
    assert "FlowiseAI" in notice
    assert len(list((VENDORED / "chatflows").glob("*.json"))) >= 6
