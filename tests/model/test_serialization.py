"""Honest serialization: a chatflow, tool or assistant dumps as its Flowise API record and
reads back equal, for generated entities and for every vendored and shared Flowise export;
``==`` compares content and every copy is deep."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import marketplace_files
from fuzz.strategies import (
    built_flows,
    is_plain_json,
    mutated,
    recorded_flows,
    seed_chatflows,
    seed_tools,
    tools,
)
from hypothesis import HealthCheck, given, settings
from pydantic_core import PydanticSerializationError

from flowkit import Assistant, AssistantType, Chatflow, FlowValidationError, Node, Tool

RECORD_KEYS = [
    "id",
    "name",
    "flowData",
    "deployed",
    "isPublic",
    "apikeyid",
    "chatbotConfig",
    "apiConfig",
    "category",
    "type",
    "createdDate",
    "updatedDate",
]
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def finite(doc: Any) -> bool:
    try:
        json.dumps(doc, allow_nan=False)
    except ValueError:
        return False
    return True


def exported(flow: Chatflow) -> str:
    return json.dumps(flow.to_flowise(), ensure_ascii=False)


def assert_same_flow(again: Chatflow, flow: Chatflow) -> None:
    assert again == flow
    assert again.nodes == flow.nodes
    assert [e.id for e in again.edges] == [e.id for e in flow.edges]
    assert again.edges == flow.edges
    assert exported(again) == exported(flow)  # every key, in the same order
    assert again.model_dump() == flow.model_dump()


# ---- chatflows ---------------------------------------------------------------------------


@FEW
@given(flow=recorded_flows())
def test_generated_flow_round_trips_through_model_dump(flow: Chatflow) -> None:
    again = Chatflow.model_validate(flow.model_dump())

    assert_same_flow(again, flow)


@FEW
@given(flow=recorded_flows())
def test_generated_flow_round_trips_through_model_dump_json(flow: Chatflow) -> None:
    again = Chatflow.model_validate_json(flow.model_dump_json())

    assert_same_flow(again, flow)


@FEW
@given(case=mutated(seed_chatflows(), most=2))
def test_loaded_seed_flow_round_trips_through_its_record(case: tuple[str, Any, list[str]]) -> None:
    _, doc, _ = case
    if not is_plain_json(doc) or not finite(doc):
        return  # NaN never equals itself; a non-JSON value cannot be serialized
    try:
        flow = Chatflow.from_flowise(doc)
    except FlowValidationError:
        return
    again = Chatflow.model_validate_json(flow.model_dump_json())

    assert_same_flow(again, flow)


def test_marketplace_flow_round_trips_through_its_record(marketplace_chatflow: Path) -> None:
    flow = Chatflow.from_flowise(marketplace_chatflow)

    from_dict = Chatflow.model_validate(flow.model_dump())
    from_json = Chatflow.model_validate_json(flow.model_dump_json())

    assert_same_flow(from_dict, flow)
    assert_same_flow(from_json, flow)


def test_model_dump_is_the_flowise_api_record() -> None:
    flow = Chatflow.from_flowise(marketplace_files("chatflows")[0])
    flow.deployed = True
    flow.record_extra = {"workspaceId": "w1"}

    record = flow.model_dump()

    assert list(record) == [*RECORD_KEYS, "workspaceId"]
    assert json.loads(record["flowData"]) == flow.to_flowise()
    assert record["deployed"] is True
    assert record["type"] == "CHATFLOW"
    assert record["createdDate"].endswith("Z")
    assert json.loads(flow.model_dump_json()) == record


def test_a_flowise_server_record_reads_with_every_key_kept() -> None:
    record = {
        "id": "f941d6d5-3d5e-45a1-975a-68bdf7e7956f",
        "name": "Conversation Chain (probe)",
        "flowData": json.dumps(seed_chatflows()["llm-chain"]),
        "deployed": False,
        "isPublic": False,
        "type": "CHATFLOW",
        "workspaceId": "182f3cc8",
        "apikeyid": None,
        "chatbotConfig": None,
        "apiConfig": '{"overrideConfig":{"status":true}}',
        "followUpPrompts": None,
        "webhookSecretConfigured": False,
        "createdDate": "2026-12-05T08:04:53.000Z",
        "updatedDate": "2026-12-05T08:04:54.000Z",
    }

    flow = Chatflow.model_validate(record)

    assert flow.api_config == record["apiConfig"]
    assert flow.record_extra == {
        "workspaceId": "182f3cc8",
        "followUpPrompts": None,
        "webhookSecretConfigured": False,
    }
    assert [n.id for n in flow.nodes] == ["chatOpenAI_0", "promptTemplate_0", "llmChain_0"]
    assert flow.updated_at.second == 54
    dumped = flow.model_dump()
    assert {
        k: dumped[k] for k in record if k not in ("flowData", "createdDate", "updatedDate")
    } == {k: v for k, v in record.items() if k not in ("flowData", "createdDate", "updatedDate")}


def test_equality_compares_content_not_identity_or_revision() -> None:
    flow = Chatflow.from_flowise(seed_chatflows()["retrieval"])
    same = Chatflow.from_flowise(seed_chatflows()["retrieval"], id=flow.id)
    same.created_at, same.updated_at = flow.created_at, flow.updated_at
    other = same.model_copy()
    other.node("faiss_0").inputs["topK"] = 3

    assert same == flow
    assert other != flow
    assert flow != "not a flow"


def test_every_copy_is_deep() -> None:
    flow = Chatflow.from_flowise(seed_chatflows()["retrieval"])

    copies = [flow.model_copy(), copy.copy(flow), copy.deepcopy(flow), flow.model_copy(deep=True)]
    for each in copies:
        each.node("faiss_0").inputs["topK"] = 9
        each.remove_node("textFile_0")

    assert all(c.nodes == copies[0].nodes and c.edges == copies[0].edges for c in copies)
    assert copies[0] != flow
    assert "topK" not in flow.node("faiss_0").inputs
    assert flow.has_node("textFile_0")


@FEW
@given(flow=built_flows())
def test_model_copy_equals_the_original_until_one_changes(flow: Chatflow) -> None:
    copied = flow.model_copy()

    assert copied == flow
    copied.add_node("extra")
    assert copied != flow


def test_node_key_order_is_a_constructor_field_not_compared() -> None:
    ordered = Node(
        id="a_0", name="a", position={"x": 1, "y": 2}, key_order=("data", "position", "id")
    )
    plain = Node(id="a_0", name="a", position={"x": 1, "y": 2})
    flow = Chatflow.from_parts([ordered], [])

    assert ordered == plain
    assert list(flow.to_flowise()["nodes"][0]) == ["data", "position", "id"]


# ---- tools and assistants ------------------------------------------------------------------


@FEW
@given(tool=tools)
def test_generated_tool_round_trips_through_its_record(tool: Tool) -> None:
    again = Tool.model_validate(tool.model_dump())
    from_json = Tool.model_validate_json(tool.model_dump_json())

    assert again == tool
    assert from_json == tool
    assert again.model_dump() == tool.model_dump()


def test_tool_record_names_fields_as_flowise_does() -> None:
    tool = Tool(name="lookup", input_schema='[{"property":"q"}]', icon_src="i.svg")

    record = tool.model_dump()

    assert record["schema"] == '[{"property":"q"}]'
    assert record["iconSrc"] == "i.svg"
    assert {"id", "createdDate"} <= record.keys()
    assert "input_schema" not in record
    assert Tool(name="x", schema="[]").input_schema == "[]"  # type: ignore[call-arg]


def test_marketplace_and_seed_tools_round_trip_through_their_records(
    marketplace_tool: Path,
) -> None:
    for tool in [
        Tool.from_flowise(marketplace_tool),
        *map(Tool.from_flowise, seed_tools().values()),
    ]:
        again = Tool.model_validate_json(tool.model_dump_json())

        assert again == tool
        assert json.dumps(again.to_flowise()) == json.dumps(
            {**tool.to_flowise(), **{k: again.to_flowise()[k] for k in ("id", "createdDate")}}
        ) or json.dumps(again.to_flowise()) == json.dumps(tool.to_flowise())


def test_assistant_round_trips_through_its_record() -> None:
    assistant = Assistant(
        details={"name": "helper", "instruction": "be brief"},
        credential="c1",
        type=AssistantType.OPENAI,
        extra={"workspaceId": "w1"},
    )

    record = assistant.model_dump()
    again = Assistant.model_validate_json(assistant.model_dump_json())

    assert json.loads(record["details"]) == assistant.details
    assert record["workspaceId"] == "w1"
    assert again == assistant


def test_a_flow_holding_a_value_that_is_not_json_says_so_when_serialized() -> None:
    flow = Chatflow()
    flow.add_node("llmChain", inputs={"blob": b"\x00"})

    with pytest.raises(PydanticSerializationError, match="not JSON"):
        flow.model_dump()


@FEW
@given(flow=built_flows())
def test_a_copy_keeps_every_networkx_order_and_shares_nothing(flow: Chatflow) -> None:
    # networkx iterates predecessors, successors and parallel edges in insertion order; the
    # fast copy rebuilds its dicts, so each order must come out as the original's.
    copied = copy.deepcopy(flow)
    graph, again = flow.graph, copied.graph

    assert list(again.nodes) == list(graph.nodes)
    for node_id in graph:
        assert list(again.pred[node_id]) == list(graph.pred[node_id])
        assert list(again.succ[node_id]) == list(graph.succ[node_id])
    assert list(again.edges(keys=True)) == list(graph.edges(keys=True))
    assert copied == flow
    assert copied.revision == flow.revision
    for source, target, key in graph.edges(keys=True):
        # networkx keeps one attribute dict per edge, seen from both of its ends
        assert again.succ[source][target][key] is again.pred[target][source][key]
        assert again.succ[source][target][key] is not graph.succ[source][target][key]
    for node in copied.nodes:
        node.inputs["planted"] = ["copy only"]
        assert "planted" not in flow.node(node.id).inputs
    if copied.nodes:
        before, original = copied.revision, flow.revision
        copied.nodes[0].label = "renamed in the copy"  # the copy's nodes report to the copy
        assert copied.revision == before + 1
        assert flow.revision == original
        assert flow.nodes[0].label != "renamed in the copy"
