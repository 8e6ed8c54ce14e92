"""flowkit.flowise: loading every Flowise shape, lossless export, and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flowise_data import flowise_edge, flowise_node
from fuzz.strategies import built_flows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowkit import Chatflow, FlowType, FlowValidationError, Tool
from flowkit.model.parts import KEY_ORDER_FIELDS


def flow_data() -> dict[str, Any]:
    """A small Flowise ``flowData``: a chat model feeding a chain, and a viewport."""
    return {
        "nodes": [
            flowise_node("chatOpenAI_0", "chatOpenAI", "Chat Models", inputs={"temperature": 0.9}),
            flowise_node(
                "llmChain_0", "llmChain", "Chains", inputs={"model": "{{chatOpenAI_0.instance}}"}
            ),
        ],
        "edges": [flowise_edge("chatOpenAI_0", "llmChain_0", "model")],
        "viewport": {"x": 10, "y": 20, "zoom": 0.75},
    }


def api_record(flow_data_text: str) -> dict[str, Any]:
    return {
        "id": "7d1c5b1e-3b4e-4f5f-8a7c-0d7a0c9e1f00",
        "name": "My support bot",
        "flowData": flow_data_text,
        "deployed": False,
        "isPublic": False,
        "type": "MULTIAGENT",
        "createdDate": "2024-05-01T10:00:00.000Z",
        "updatedDate": "2024-05-02T10:00:00.000Z",
    }


def nodes_and_edges(data: dict[str, Any]) -> str:
    return json.dumps({"nodes": data["nodes"], "edges": data["edges"]})


def load_error(source: Any) -> FlowValidationError:
    """Load ``source`` and return the FlowValidationError it must raise."""
    with pytest.raises(FlowValidationError) as caught:
        Chatflow.from_flowise(source)
    return caught.value


# ---- the accepted shapes ------------------------------------------------------------------


def test_from_flowise_accepts_a_flow_data_mapping() -> None:
    data = flow_data()

    flow = Chatflow.from_flowise(data)

    assert [n.id for n in flow.nodes] == ["chatOpenAI_0", "llmChain_0"]
    assert flow.node("llmChain_0").category == "Chains"
    assert flow.type is FlowType.CHATFLOW


def test_from_flowise_accepts_flow_data_as_json_text() -> None:
    data = flow_data()

    flow = Chatflow.from_flowise(json.dumps(data))

    assert json.dumps(flow.to_flowise()) == json.dumps(data)


def test_from_flowise_accepts_flow_data_as_json_bytes() -> None:
    data = flow_data()

    flow = Chatflow.from_flowise(json.dumps(data).encode())

    assert json.dumps(flow.to_flowise()) == json.dumps(data)


def test_from_flowise_accepts_a_marketplace_template() -> None:
    data = flow_data()
    del data["viewport"]
    template = {"description": "Ask a model", "usecases": ["Basic"], "framework": ["Langchain"]}
    template.update(data)

    flow = Chatflow.from_flowise(template)

    assert json.dumps(flow.to_flowise()) == nodes_and_edges(data)


def test_from_flowise_takes_id_name_and_type_from_an_api_record() -> None:
    record = api_record(json.dumps(flow_data()))

    flow = Chatflow.from_flowise(record)

    assert flow.id == record["id"]
    assert flow.name == "My support bot"
    assert flow.type is FlowType.MULTIAGENT
    assert [n.id for n in flow.nodes] == ["chatOpenAI_0", "llmChain_0"]


def test_from_flowise_api_record_round_trips_its_flow_data() -> None:
    text = json.dumps(flow_data())

    flow = Chatflow.from_flowise(api_record(text))

    assert json.dumps(flow.to_flowise()) == text


def test_from_flowise_keywords_win_over_the_api_record() -> None:
    record = api_record(json.dumps(flow_data()))

    flow = Chatflow.from_flowise(record, id="mine", name="Renamed", type=FlowType.CHATFLOW)

    assert (flow.id, flow.name, flow.type) == ("mine", "Renamed", FlowType.CHATFLOW)


def test_from_flowise_reads_a_file_and_names_the_flow_after_its_stem(tmp_path: Path) -> None:
    path = tmp_path / "Support Bot.json"
    path.write_text(json.dumps(flow_data()), encoding="utf-8")

    flow = Chatflow.from_flowise(path)

    assert flow.name == "Support Bot"
    assert json.dumps(flow.to_flowise()) == json.dumps(flow_data())


def test_from_flowise_reads_a_file_given_as_a_string(tmp_path: Path) -> None:
    path = tmp_path / "Support Bot.json"
    path.write_text(json.dumps(flow_data()), encoding="utf-8")

    flow = Chatflow.from_flowise(str(path))

    assert flow.name == "Support Bot"


def test_api_record_file_without_a_name_names_the_flow_after_the_file(tmp_path: Path) -> None:
    record = api_record(json.dumps(flow_data()))
    del record["name"]
    path = tmp_path / "Support Bot.json"
    path.write_text(json.dumps(record), encoding="utf-8")

    flow = Chatflow.from_flowise(path)

    assert flow.name == "Support Bot"


def test_api_record_file_keeps_the_records_name(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(api_record(json.dumps(flow_data()))), encoding="utf-8")

    flow = Chatflow.from_flowise(path)

    assert flow.name == "My support bot"


def test_from_flowise_name_keyword_wins_over_the_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "Support Bot.json"
    path.write_text(json.dumps(flow_data()), encoding="utf-8")

    flow = Chatflow.from_flowise(path, name="Helpdesk")

    assert flow.name == "Helpdesk"


def test_from_flowise_detects_the_type_from_the_nodes() -> None:
    data = flow_data()
    data["nodes"][1]["data"]["category"] = "Sequential Agents"

    flow = Chatflow.from_flowise(data)

    assert flow.type is FlowType.MULTIAGENT


def test_viewport_is_kept_on_round_trip() -> None:
    data = flow_data()

    exported = Chatflow.from_flowise(data).to_flowise()

    assert exported["viewport"] == {"x": 10, "y": 20, "zoom": 0.75}
    assert list(exported) == ["nodes", "edges", "viewport"]


def test_round_trip_keeps_every_field_and_key_order() -> None:
    data = flow_data()

    exported = Chatflow.from_flowise(data).to_flowise()

    assert json.dumps(exported) == json.dumps(data)


def test_edge_without_type_is_exported_without_type() -> None:
    data = flow_data()
    del data["edges"][0]["type"]

    exported = Chatflow.from_flowise(data).to_flowise()

    assert json.dumps(exported) == json.dumps(data)


def test_changed_field_is_written_in_its_original_key_position() -> None:
    data = flow_data()
    flow = Chatflow.from_flowise(data)

    flow.node("llmChain_0").label = "Summariser"
    flow.node("llmChain_0").position = {"x": 0, "y": 0}
    exported = flow.to_flowise()["nodes"][1]

    assert list(exported) == list(data["nodes"][1])
    assert list(exported["data"]) == list(data["nodes"][1]["data"])
    assert exported["data"]["label"] == "Summariser"
    assert exported["position"] == {"x": 0, "y": 0}


def test_field_set_after_load_that_the_source_lacked_is_written_last() -> None:
    data = flow_data()
    flow = Chatflow.from_flowise(data)

    flow.node("chatOpenAI_0").credential = "cred-1"
    exported = flow.to_flowise()["nodes"][0]["data"]

    assert list(exported)[-1] == "credential"
    assert exported["credential"] == "cred-1"


def test_parent_node_is_read_as_parent_id_and_written_back() -> None:
    data = flow_data()
    data["nodes"][1]["parentNode"] = "iteration_0"
    data["nodes"].insert(0, {"id": "iteration_0", "type": "iteration", "data": {}})

    flow = Chatflow.from_flowise(data)

    assert flow.node("llmChain_0").parent_id == "iteration_0"
    assert json.dumps(flow.to_flowise()) == json.dumps(data)


def test_node_added_to_a_loaded_flow_is_exported_after_the_loaded_ones() -> None:
    flow = Chatflow.from_flowise(flow_data())

    flow.add_node("bufferMemory", category="Memory")
    flow.connect("bufferMemory_0", "llmChain_0", "memory")
    exported = flow.to_flowise()

    assert [n["id"] for n in exported["nodes"]] == ["chatOpenAI_0", "llmChain_0", "bufferMemory_0"]
    assert exported["edges"][-1]["target"] == "llmChain_0"


# ---- no shared state ------------------------------------------------------------------------


def test_changing_the_input_after_loading_leaves_the_flow_alone() -> None:
    data = flow_data()
    flow = Chatflow.from_flowise(data)
    before = json.dumps(flow.to_flowise())

    data["nodes"][0]["data"]["inputs"]["temperature"] = 0
    data["nodes"][0]["position"]["x"] = 999
    data["edges"][0]["data"]["label"] = "changed"
    data["viewport"]["zoom"] = 3
    data["nodes"].pop()

    assert json.dumps(flow.to_flowise()) == before


def test_changing_the_export_leaves_the_flow_alone() -> None:
    flow = Chatflow.from_flowise(flow_data())
    before = json.dumps(flow.to_flowise())
    exported = flow.to_flowise()

    exported["nodes"][0]["data"]["inputs"]["temperature"] = 0
    exported["nodes"][0]["data"]["baseClasses"].append("Extra")
    exported["nodes"][0]["position"]["x"] = 999
    exported["edges"][0]["data"]["label"] = "changed"
    exported["viewport"]["zoom"] = 3

    assert json.dumps(flow.to_flowise()) == before


def test_export_of_a_built_flow_does_not_share_its_inputs() -> None:
    flow = Chatflow()
    flow.add_node("faiss", inputs={"topK": [4]})

    flow.to_flowise()["nodes"][0]["data"]["inputs"]["topK"].append(5)

    assert flow.node("faiss_0").inputs == {"topK": [4]}


# ---- malformed input: one test each ---------------------------------------------------------


def test_text_that_is_not_json_is_rejected() -> None:
    error = load_error('{"nodes": [], "edges": [}')

    assert "not valid JSON" in str(error)


def test_json_list_is_rejected_as_not_an_object() -> None:
    error = load_error("[]")

    assert "must be a JSON object, got a list" in str(error)


def test_missing_nodes_is_rejected() -> None:
    error = load_error({"edges": []})

    assert "'nodes'" in str(error)
    assert "missing" in str(error)


def test_missing_edges_is_rejected() -> None:
    error = load_error({"nodes": []})

    assert "'edges'" in str(error)
    assert "missing" in str(error)


def test_nodes_that_are_not_a_list_are_rejected() -> None:
    error = load_error({"nodes": {"chatOpenAI_0": {}}, "edges": []})

    assert "'nodes' must be a list" in str(error)
    assert "an object" in str(error)


def test_node_without_id_is_rejected_naming_its_position() -> None:
    data = flow_data()
    del data["nodes"][1]["id"]

    error = load_error(data)

    assert "node #1 has no id" in str(error)


def test_node_that_is_not_an_object_is_rejected_naming_its_position() -> None:
    data = flow_data()
    data["nodes"].append("llmChain_1")

    error = load_error(data)

    assert "node #2 must be an object, got a string" in str(error)


def test_duplicate_node_ids_are_rejected_naming_the_id() -> None:
    data = flow_data()
    data["nodes"].append(flowise_node("chatOpenAI_0", "chatOpenAI", "Chat Models"))

    error = load_error(data)

    assert "duplicate node id 'chatOpenAI_0'" in str(error)


def test_edge_to_an_unknown_node_is_rejected_naming_edge_and_node() -> None:
    data = flow_data()
    data["edges"].append({"source": "chatOpenAI_0", "target": "ghost_3", "id": "e7"})

    error = load_error(data)

    assert "edge 'e7' points to unknown node 'ghost_3'" in str(error)


def test_duplicate_edge_ids_are_rejected_naming_the_id() -> None:
    data = flow_data()
    data["edges"].append(dict(data["edges"][0], targetHandle="llmChain_0-input-prompt-Input"))

    error = load_error(data)

    assert f"duplicate edge id {data['edges'][0]['id']!r}" in str(error)


def test_wrongly_typed_field_is_rejected_naming_node_and_field() -> None:
    data = flow_data()
    data["nodes"][1]["data"]["label"] = 5

    error = load_error(data)

    assert "node 'llmChain_0'" in str(error)
    assert "label" in str(error)
    assert "string" in str(error)


def test_unreadable_file_is_rejected_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.json"

    error = load_error(path)

    assert "cannot read file" in str(error)
    assert "missing.json" in str(error)


def test_path_with_a_nul_byte_is_rejected_as_unreadable() -> None:
    error = load_error("flows/bot\x00.json")

    assert "cannot read file" in str(error)


def test_api_record_whose_flow_data_is_not_json_is_rejected() -> None:
    record = api_record('{"nodes": [')

    error = load_error(record)

    assert "flowData is not valid JSON" in str(error)


def test_api_record_flow_data_string_is_never_read_as_a_path(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.json"
    path.write_text(json.dumps(flow_data()), encoding="utf-8")

    error = load_error(api_record(str(path)))

    assert "flowData is not valid JSON" in str(error)


def test_unknown_flow_type_is_rejected_naming_the_choices() -> None:
    with pytest.raises(FlowValidationError, match="type") as caught:
        Chatflow.from_flowise(flow_data(), type="PIPELINE")

    assert "CHATFLOW" in str(caught.value)


def test_deeply_nested_json_is_rejected() -> None:
    error = load_error("[" * 100_000)

    assert "nested too deeply" in str(error)


def test_deeply_nested_mapping_is_rejected() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    data = flow_data()
    data["nodes"][0]["data"]["inputs"]["history"] = deep

    error = load_error(data)

    assert "nested too deeply" in str(error)


def test_every_malformed_part_is_reported_at_once() -> None:
    data = flow_data()
    del data["nodes"][0]["id"]
    data["nodes"][1]["data"]["label"] = 5
    data["nodes"].append(7)

    error = load_error(data)

    assert len(error.problems) == 3
    assert "node #0 has no id" in str(error)
    assert "node 'llmChain_0'" in str(error)
    assert "node #2 must be an object" in str(error)


def test_every_broken_reference_is_reported_at_once() -> None:
    data = flow_data()
    data["nodes"].append(flowise_node("chatOpenAI_0", "chatOpenAI", "Chat Models"))
    data["edges"].append(data["edges"][0])
    data["edges"].append({"source": "llmChain_0", "target": "ghost_3", "id": "e7"})

    error = load_error(data)

    assert len(error.problems) == 3
    assert "duplicate node id 'chatOpenAI_0'" in str(error)
    assert "duplicate edge id" in str(error)
    assert "edge 'e7' points to unknown node 'ghost_3'" in str(error)


json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
flowise_keys = st.sampled_from(
    [
        "id",
        "data",
        "type",
        "position",
        "parentNode",
        "source",
        "target",
        "sourceHandle",
        "targetHandle",
        "label",
        "name",
        "category",
        "inputs",
        "credential",
        "outputs",
    ]
)
flowish = st.recursive(
    json_values,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(flowise_keys | st.text(max_size=4), inner, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=100, deadline=None)
@given(
    nodes=flowish,
    edges=flowish,
    wrap=st.sampled_from(["flowData", "text", "record"]),
)
def test_any_json_input_gives_a_flow_or_a_flow_validation_error(
    nodes: Any, edges: Any, wrap: str
) -> None:
    data = {"nodes": nodes, "edges": edges}
    source: Any = {
        "flowData": data,
        "text": json.dumps(data),
        "record": {"id": "r", "name": "n", "flowData": json.dumps(data)},
    }[wrap]

    try:
        flow = Chatflow.from_flowise(source)
    except FlowValidationError as exc:
        problems = exc.problems
        assert problems
    else:
        exported = flow.to_flowise()
        assert json.dumps(exported["nodes"]) == json.dumps(nodes)
        assert json.dumps(exported["edges"]) == json.dumps(edges)


def json_paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path to a value inside ``value`` (dict keys and list indexes)."""
    items: list[tuple[str | int, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    found = []
    for key, inner in items:
        found.append((*prefix, key))
        found.extend(json_paths(inner, (*prefix, key)))
    return found


def mutated(data: Any, path: tuple[str | int, ...], delete: bool, value: Any) -> None:
    """Delete or replace the value at ``path`` of ``data`` in place."""
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


FLOW_DATA_PATHS = json_paths(flow_data())


@settings(max_examples=150, deadline=None)
@given(
    change=st.tuples(st.sampled_from(FLOW_DATA_PATHS), st.booleans(), json_values),
    more=st.tuples(st.sampled_from(FLOW_DATA_PATHS), st.booleans(), json_values),
)
def test_changed_flow_data_round_trips_or_gives_a_flow_validation_error(
    change: tuple[tuple[str | int, ...], bool, Any], more: tuple[tuple[str | int, ...], bool, Any]
) -> None:
    data = flow_data()
    mutated(data, *change)
    if more[0] in json_paths(data):
        mutated(data, *more)

    try:
        flow = Chatflow.from_flowise(data)
    except FlowValidationError as exc:
        problems = exc.problems
        assert problems
    else:
        assert json.dumps(flow.to_flowise()) == json.dumps(data)


@settings(max_examples=100, deadline=None)
@given(
    changes=st.dictionaries(
        st.sampled_from(["name", "schema", "func", "id", "iconSrc"]), json_values
    ),
    dropped=st.sets(st.sampled_from(["name", "description", "color", "schema"])),
)
def test_changed_tool_export_round_trips_or_gives_a_flow_validation_error(
    changes: dict[str, Any], dropped: set[str]
) -> None:
    export = dict(tool_export(), **changes)
    for key in dropped:
        export.pop(key, None)

    try:
        tool = Tool.from_flowise(export)
    except FlowValidationError as exc:
        problems = exc.problems
        assert problems
    else:
        assert json.dumps(tool.to_flowise()) == json.dumps(export)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=30) | st.binary(max_size=30))
def test_any_text_or_bytes_gives_a_flow_or_a_flow_validation_error(text: str | bytes) -> None:
    try:
        Chatflow.from_flowise(text)
    except FlowValidationError as exc:
        problems = exc.problems
        assert problems


# ---- round trip of random flows built in code ---------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flow=built_flows())
def test_built_flow_survives_export_and_reload_unchanged(flow: Chatflow) -> None:
    exported = flow.to_flowise()

    reloaded = Chatflow.from_flowise(json.dumps(exported))

    assert json.dumps(reloaded.to_flowise()) == json.dumps(exported)
    assert [n.id for n in reloaded.nodes] == [n.id for n in flow.nodes]
    assert [e.id for e in reloaded.edges] == [e.id for e in flow.edges]
    assert [e.source for e in reloaded.edges] == [e.source for e in flow.edges]
    assert [e.target for e in reloaded.edges] == [e.target for e in flow.edges]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flow=built_flows())
def test_reloaded_flow_keeps_every_node_field(flow: Chatflow) -> None:
    reloaded = Chatflow.from_flowise(flow.to_flowise())

    for before, after in zip(flow.nodes, reloaded.nodes, strict=True):
        assert after.model_dump(exclude=set(KEY_ORDER_FIELDS)) == before.model_dump(
            exclude=set(KEY_ORDER_FIELDS)
        )
        assert after == before


# ---- tools ------------------------------------------------------------------------------------


def tool_export() -> dict[str, Any]:
    return {
        "name": "send_message",
        "description": "Send a message to a channel",
        "color": "linear-gradient(rgb(1,2,3), rgb(4,5,6))",
        "iconSrc": "https://example.com/icon.svg",
        "schema": '[{"id":0,"property":"text","description":"message","type":"string"}]',
        "func": "return $text;",
    }


def test_tool_round_trips_exactly() -> None:
    export = tool_export()

    tool = Tool.from_flowise(export)

    assert json.dumps(tool.to_flowise()) == json.dumps(export)


def test_tool_loads_fields_under_their_flowkit_names() -> None:
    tool = Tool.from_flowise(json.dumps(tool_export()))

    assert tool.name == "send_message"
    assert tool.icon_src == "https://example.com/icon.svg"
    assert tool.input_schema == tool_export()["schema"]
    assert tool.schema_properties[0]["property"] == "text"


def test_tool_built_in_code_exports_without_its_id() -> None:
    tool = Tool(name="send_message", schema=[{"property": "text"}], func="return 1;")

    exported = tool.to_flowise()

    assert "id" not in exported
    assert exported["schema"] == [{"property": "text"}]
    assert exported["name"] == "send_message"


def test_tool_without_a_name_is_rejected() -> None:
    export = tool_export()
    del export["name"]

    with pytest.raises(FlowValidationError, match="no name"):
        Tool.from_flowise(export)


def test_tool_with_a_wrongly_typed_schema_is_rejected_naming_the_field() -> None:
    export = dict(tool_export(), schema=5)

    with pytest.raises(FlowValidationError, match="send_message") as caught:
        Tool.from_flowise(export)

    assert "schema" in str(caught.value)


def test_tool_that_is_not_an_object_is_rejected() -> None:
    with pytest.raises(FlowValidationError, match="must be a JSON object"):
        Tool.from_flowise("[1, 2]")
