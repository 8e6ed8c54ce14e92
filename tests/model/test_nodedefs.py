"""Nodes made as Flowise's editor makes them, from the catalog of Flowise 3.1.4's components:
every component builds, the result reads back through flowkit's own Flowise reader, matches
what the editor wrote in real exports wherever the component has not changed since, and bad
input gets a clear error that changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import marketplace_files

from flowkit import Chatflow, FlowType
from flowkit.errors import AlreadyExistsError, FlowValidationError, NotFoundError
from flowkit.model import flowdata
from flowkit.model.nodedefs import PARAM_TYPES, flowise_node, node_catalog

CATALOG = node_catalog()
CHATFLOW_COMPONENTS = [
    name for name in CATALOG.names() if CATALOG.definition(name)["category"] != "Agent Flows"
]
AGENT_FLOW_COMPONENTS = [
    name for name in CATALOG.names() if CATALOG.definition(name)["category"] == "Agent Flows"
]
AGENT_FLOW_EXPORT = (
    Path(__file__).parents[1] / "data" / "flowise-server" / "agentflow-translator.json"
)


def test_the_catalog_is_flowise_3_1_4s_and_holds_its_components() -> None:
    assert CATALOG.version == "3.1.4"
    assert len(CATALOG) == 297
    assert {"chatOpenAI", "memoryVectorStore", "conversationalRetrievalQAChain"} <= set(
        CATALOG.names()
    )


@pytest.mark.parametrize("name", CHATFLOW_COMPONENTS)
def test_every_component_builds_as_the_editor_does_and_reads_back(name: str) -> None:
    definition = CATALOG.definition(name)
    raw = flowise_node(name, f"{name}_0")
    data = raw["data"]

    declared = [(i["name"], i["type"]) for i in definition.get("inputs", [])]
    params = [a for a in data["inputParams"] if a["type"] != "credential"]
    assert [(a["name"], a["type"]) for a in params + data["inputAnchors"]] == sorted(
        declared, key=lambda item: item[1] not in PARAM_TYPES
    )
    for anchor in data["inputParams"] + data["inputAnchors"]:
        assert anchor["id"] == f"{name}_0-input-{anchor['name']}-{anchor['type']}"
        assert anchor["display"] in (True, False)
    assert all(a["type"] in PARAM_TYPES for a in params)
    assert not any(a["type"] in PARAM_TYPES for a in data["inputAnchors"])
    # (a few components declare one name twice: one key, as in JavaScript)
    assert list(data["inputs"]) == list(dict.fromkeys(n for n, _ in declared))
    assert (data.get("credential") == "") is ("credential" in definition)
    assert (data["label"], data["version"], data["category"]) == (
        definition["label"],
        definition["version"],
        definition["category"],
    )
    node = flowdata.node_from_flowise(raw, name)
    assert flowdata.node_to_flowise(node) == raw  # key for key, through the reader


def test_a_single_output_is_one_anchor_named_by_the_base_classes() -> None:
    [anchor] = flowise_node("openAIEmbeddings", "openAIEmbeddings_0")["data"]["outputAnchors"]

    classes = CATALOG.definition("openAIEmbeddings")["baseClasses"]
    assert anchor["id"] == f"openAIEmbeddings_0-output-openAIEmbeddings-{'|'.join(classes)}"
    assert anchor["type"] == " | ".join(classes)


def test_several_outputs_are_options_of_one_anchor_the_first_chosen() -> None:
    data = flowise_node("memoryVectorStore", "memoryVectorStore_0")["data"]

    [anchor] = data["outputAnchors"]
    assert anchor["type"] == "options"
    assert [o["name"] for o in anchor["options"]] == ["retriever", "vectorStore"]
    assert data["outputs"] == {"output": "retriever"}


def test_inputs_take_defaults_as_javascripts_or_does() -> None:
    inputs = flowise_node("chatOpenAI", "chatOpenAI_0")["data"]["inputs"]

    assert inputs["modelName"] == "gpt-4o-mini"
    assert inputs["temperature"] == 0.9
    assert inputs["streaming"] is True
    assert inputs["allowImageUploads"] == ""  # default false || '' is ''
    assert inputs["cache"] == ""


def test_show_rules_follow_the_inputs_given() -> None:
    def shown(**inputs: Any) -> dict[str, bool]:
        data = flowise_node("chatOpenAI", "chatOpenAI_0", inputs=inputs)["data"]
        return {p["name"]: p["display"] for p in data["inputParams"]}

    assert shown()["reasoningEffort"] is False
    assert shown(reasoning=True)["reasoningEffort"] is True
    assert shown()["modelName"] is True


def _unchanged_since(node: dict[str, Any]) -> bool:
    """Whether an exported node's component is declared today as it was when exported."""
    data = node["data"]
    name = data.get("name")
    if node.get("type") != "customNode" or name not in CATALOG:
        return False
    now = CATALOG.definition(name)
    anchors = [*data.get("inputParams", []), *data.get("inputAnchors", [])]
    then = [(a["name"], a["type"]) for a in anchors if a.get("type") != "credential"]
    # An input whose type changed since may keep its old id: the export is from before.
    renamed = any(a.get("id") != f"{node['id']}-input-{a['name']}-{a['type']}" for a in anchors)
    return (
        now["version"] == data.get("version")
        and now["category"] != "Agent Flows"
        and now.get("baseClasses") == data.get("baseClasses")
        and sorted(then) == sorted((i["name"], i["type"]) for i in now.get("inputs", []))
        and not any("options" in a for a in data.get("outputAnchors", []))  # older shape
        and not renamed
    )


EXPORTED = [
    (path.stem, node)
    for path in marketplace_files("chatflows")
    for node in json.loads(path.read_text(encoding="utf-8"))["nodes"]
    if _unchanged_since(node)
]


def test_real_exports_give_enough_unchanged_components_to_compare() -> None:
    assert len(EXPORTED) >= 30


@pytest.mark.parametrize(("flow", "node"), EXPORTED, ids=[f"{f}:{n['id']}" for f, n in EXPORTED])
def test_the_editors_anchors_in_real_exports_are_made_again(
    flow: str, node: dict[str, Any]
) -> None:
    data = node["data"]
    declared = {i["name"] for i in CATALOG.definition(data["name"]).get("inputs", [])}
    inputs = {k: v for k, v in data["inputs"].items() if k in declared}

    built = flowise_node(data["name"], node["id"], inputs=inputs)["data"]

    def ids(key: str, of: dict[str, Any]) -> list[str]:
        return [a["id"] for a in of[key] if a.get("type") != "credential"]

    assert ids("inputParams", built) == ids("inputParams", data)
    assert ids("inputAnchors", built) == ids("inputAnchors", data)
    assert [a["id"] for a in built["outputAnchors"]] == [a["id"] for a in data["outputAnchors"]]
    assert built["inputs"] == inputs | {k: v for k, v in built["inputs"].items() if k not in inputs}


# ---- through Chatflow ---------------------------------------------------------------------


def test_add_flowise_node_places_nodes_left_to_right_and_numbers_them() -> None:
    flow = Chatflow(name="rag")
    first = flow.add_flowise_node("openAIEmbeddings")
    second = flow.add_flowise_node("openAIEmbeddings", position={"x": 5, "y": 6})

    assert (first.id, second.id) == ("openAIEmbeddings_0", "openAIEmbeddings_1")
    assert (first.position, second.position) == ({"x": 0, "y": 0}, {"x": 5, "y": 6})
    assert flow.add_flowise_node("chatOpenAI").position == {"x": 800, "y": 0}


def test_connect_uses_the_chosen_output_and_choosing_another_changes_it() -> None:
    flow = Chatflow(name="rag")
    store = flow.add_flowise_node("memoryVectorStore")
    chain = flow.add_flowise_node("conversationalRetrievalQAChain")
    agent = flow.add_flowise_node("retrieverTool")

    to_chain = flow.connect(store, chain, "vectorStoreRetriever")

    assert to_chain.source_handle == (
        "memoryVectorStore_0-output-retriever-Memory|VectorStoreRetriever|BaseRetriever"
    )
    assert chain.inputs["vectorStoreRetriever"] == "{{memoryVectorStore_0.data.instance}}"
    with pytest.raises(FlowValidationError, match="has no output 'vectorstore'; its outputs"):
        flow.connect(store, agent, "retriever", source_output="vectorstore")
    assert store.data_extra["outputs"] == {"output": "retriever"}  # the failure changed nothing
    flow.connect(store, agent, "retriever", source_output="vectorStore")
    assert store.data_extra["outputs"] == {"output": "vectorStore"}


def test_a_credential_is_kept_where_flowise_keeps_its_id() -> None:
    flow = Chatflow(name="chat")
    model = flow.add_flowise_node("chatOpenAI", credential="credential:openai")

    assert model.credential == "credential:openai"
    assert flow.to_flowise()["nodes"][0]["data"]["credential"] == "credential:openai"


@pytest.mark.parametrize(
    ("call", "error", "says"),
    [
        (lambda f: f.add_flowise_node("chatOpenAi"), NotFoundError, "did you mean 'chatOpenAI'"),
        (
            lambda f: f.add_flowise_node("chatOpenAI", inputs={"temprature": 1}),
            FlowValidationError,
            "has no input 'temprature'; its inputs: cache, modelName, temperature",
        ),
        (
            lambda f: f.add_flowise_node("llmAgentflow", inputs={"llmModelConfg": {}}),
            FlowValidationError,
            "has no input 'llmModelConfg'",
        ),
        (
            lambda f: f.add_flowise_node("chatOpenAI", id="taken_0"),
            AlreadyExistsError,
            "duplicate node id 'taken_0'",
        ),
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(
    call: Any, error: type[Exception], says: str
) -> None:
    flow = Chatflow(name="chat")
    flow.add_node("taken", id="taken_0")
    before = flow.to_flowise()

    with pytest.raises(error, match=says):
        call(flow)

    assert flow.to_flowise() == before
    assert flow.add_flowise_node("chatOpenAI").id == "chatOpenAI_0"  # no id was used up


def test_importing_flowkit_does_not_read_the_catalog() -> None:
    script = (
        "import flowkit, flowkit.model.nodedefs as n; "
        "flowkit.Chatflow(name='x').add_node('chatOpenAI'); print(n._catalog is None)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "True"


def test_the_catalog_ships_in_the_package() -> None:
    import flowkit.model

    assert (Path(flowkit.model.__file__).parent / "data" / "flowise-nodes.json.gz").is_file()


# ---- agent flows (v2) ---------------------------------------------------------------------


@pytest.mark.parametrize("name", AGENT_FLOW_COMPONENTS)
def test_every_agent_flow_component_builds_as_its_canvas_does(name: str) -> None:
    definition = CATALOG.definition(name)

    raw = flowise_node(name, f"{name}_0")

    data = raw["data"]
    assert raw["type"] == "agentFlow"
    assert data["color"] == definition.get("color")
    outputs = definition.get("outputs") or []
    expected = (
        []
        if definition.get("hideOutput")
        else [f"{name}_0-output-{i}" for i in range(len(outputs))]
        if outputs
        else [f"{name}_0-output-{name}"]
    )
    assert [a["id"] for a in data["outputAnchors"]] == expected
    keeps_label = name == "startAgentflow" or definition["type"] == "StickyNote"
    assert data["label"] == (definition["label"] if keeps_label else f"{definition['label']} 0")
    assert flowdata.node_to_flowise(flowdata.node_from_flowise(raw, name)) == raw


def test_the_translator_agent_flow_is_made_again_as_flowises_canvas_made_it() -> None:
    export = json.loads(AGENT_FLOW_EXPORT.read_text(encoding="utf-8"))
    flow = Chatflow(name="translator", type=FlowType.AGENTFLOW)
    start = flow.add_flowise_node("startAgentflow")
    llm = flow.add_flowise_node("llmAgentflow", inputs={"llmModel": "chatOpenAI"})

    edge = flow.connect(start, llm)

    built = {n["id"]: n for n in flow.to_flowise()["nodes"]}
    for node in export["nodes"]:
        mine, theirs = built[node["id"]]["data"], node["data"]
        assert (mine["outputAnchors"], mine["color"]) == (theirs["outputAnchors"], theirs["color"])
    # The LLM node's inputs are declared today as when the export was made (the start node
    # has gained inputs since): its parameters are the same, id for id.
    mine, theirs = built["llmAgentflow_0"]["data"], export["nodes"][1]["data"]
    for key in ("inputParams", "inputAnchors"):
        assert [a["id"] for a in mine[key]] == [a["id"] for a in theirs[key]], key
    [exported] = export["edges"]
    assert (edge.id, edge.source_handle, edge.target_handle, edge.type) == (
        exported["id"],
        exported["sourceHandle"],
        exported["targetHandle"],
        exported["type"],
    )
    assert edge.extra["data"] == exported["data"]
    assert llm.inputs["llmModel"] == "chatOpenAI"
    flow.check()


def test_a_condition_edge_leaves_by_the_output_chosen_and_is_labelled_with_it() -> None:
    flow = Chatflow(name="branches", type=FlowType.AGENTFLOW)
    condition = flow.add_flowise_node("conditionAgentflow")
    reply = flow.add_flowise_node("directReplyAgentflow")
    human = flow.add_flowise_node("humanInputAgentflow")

    otherwise = flow.connect(condition, reply, source_output="1")
    rejected = flow.connect(human, reply, source_output="1")

    assert otherwise.source_handle == "conditionAgentflow_0-output-1"
    assert otherwise.target_handle == "directReplyAgentflow_0"
    assert otherwise.extra["data"]["edgeLabel"] == "1"
    assert (rejected.extra["data"]["edgeLabel"], rejected.extra["data"]["isHumanInput"]) == (
        "reject",
        True,
    )
    with pytest.raises(FlowValidationError, match="has no output '2'; its outputs: '0', '1'"):
        flow.connect(condition, human, source_output="2")
    with pytest.raises(FlowValidationError, match="leave out the input name"):
        flow.connect(condition, human, "input")
    assert len(flow.edges) == 2  # the refused connections added nothing


def test_a_model_config_is_an_input_of_an_agent_flow_node() -> None:
    config = {"modelName": "gpt-4o-mini", "FLOWISE_CREDENTIAL_ID": "c-1"}
    flow = Chatflow(name="t", type=FlowType.AGENTFLOW)

    llm = flow.add_flowise_node(
        "llmAgentflow", inputs={"llmModel": "chatOpenAI", "llmModelConfig": config}
    )

    assert llm.inputs["llmModelConfig"] == config


def test_agent_flow_nodes_in_a_chatflow_say_which_type_the_flow_needs() -> None:
    flow = Chatflow(name="typed wrong")
    flow.connect(flow.add_flowise_node("startAgentflow"), flow.add_flowise_node("llmAgentflow"))

    with pytest.raises(
        FlowValidationError, match=r"make it Chatflow\(..., type=FlowType.AGENTFLOW\)"
    ):
        flow.check()
    flow.type = FlowType.AGENTFLOW
    flow.check()
