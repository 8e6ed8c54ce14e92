"""pull -> plan -> edit -> plan -> apply -> plan, prune, duplicate names and credentials by
name, on workspaces in memory and in SQLite files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowkit import Workspace
from flowkit.gitops import Action, Credentials, FolderError, PlanError, apply, plan, pull

from .conftest import (
    OpenWorkspace,
    calculator,
    docs_flow,
    helper,
    read,
    set_input,
    tool_flow,
    write,
)


def test_pull_writes_one_file_per_entity_named_by_its_name(
    open_workspace: OpenWorkspace, tmp_path: Path
) -> None:
    workspace = open_workspace("source")
    workspace.create_chatflow(docs_flow())
    workspace.create_tool(calculator())
    workspace.create_assistant(helper())

    result = pull(workspace, tmp_path / "flows")

    assert sorted(result.written) == [
        "assistants/Helper.json",
        "chatflows/Docs QA.json",
        "tools/calculator.json",
    ]
    text = (tmp_path / "flows" / "chatflows" / "Docs QA.json").read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert list(json.loads(text)) == ["nodes", "edges"]
    assert "id" not in read(tmp_path / "flows" / "tools" / "calculator.json")


def test_a_pulled_folder_plans_no_change_and_pulls_unchanged(
    open_workspace: OpenWorkspace, tmp_path: Path
) -> None:
    workspace = open_workspace("source")
    workspace.create_chatflow(docs_flow())
    workspace.create_tool(calculator())
    pull(workspace, tmp_path)

    planned = plan(workspace, tmp_path)
    again = pull(workspace, tmp_path)

    assert planned.empty
    assert planned.summary == "No changes: the workspace matches the folder."
    assert again.written == []
    assert sorted(again.unchanged) == ["chatflows/Docs QA.json", "tools/calculator.json"]


def test_one_edited_input_plans_as_exactly_that_change_and_applies(
    open_workspace: OpenWorkspace, tmp_path: Path
) -> None:
    workspace = open_workspace("source")
    flow = workspace.create_chatflow(docs_flow())
    pull(workspace, tmp_path)
    assert plan(workspace, tmp_path).empty

    set_input(tmp_path / "chatflows" / "Docs QA.json", "chatOpenAI_0", "temperature", 0.1)
    planned = plan(workspace, tmp_path)

    assert [change.line for change in planned.changes] == [
        "~ chatflows/Docs QA: nodes changed chatOpenAI_0 (inputs temperature)"
    ]
    assert workspace.get_chatflow(flow.id).node("chatOpenAI_0").inputs["temperature"] == 0.9

    done = apply(workspace, planned)

    assert [d.id for d in done] == [flow.id]
    assert workspace.get_chatflow(flow.id).node("chatOpenAI_0").inputs["temperature"] == 0.1
    assert plan(workspace, tmp_path).empty


def test_a_folder_applies_to_an_empty_workspace_and_twice_changes_nothing(
    open_workspace: OpenWorkspace, tmp_path: Path
) -> None:
    source = open_workspace("source")
    source.create_chatflow(docs_flow())
    source.create_tool(calculator())
    source.create_assistant(helper())
    pull(source, tmp_path)
    target = open_workspace("target")

    planned = plan(target, tmp_path)
    apply(target, planned)
    second = plan(target, tmp_path)

    assert [c.line for c in planned.changes] == [
        "+ tools/calculator",
        "+ assistants/Helper",
        "+ chatflows/Docs QA",
    ]
    assert second.empty
    assert apply(target, second) == []
    (copy,) = target.chatflows
    assert copy.to_flowise() == source.chatflows[0].to_flowise()
    assert target.tools[0].func == "return $a + $b;"
    assert target.assistants[0].details == {"name": "Helper", "instruction": "Be brief."}


def test_an_entity_the_folder_lacks_is_kept_unless_pruned(
    open_workspace: OpenWorkspace, tmp_path: Path
) -> None:
    workspace = open_workspace("source")
    workspace.create_chatflow(docs_flow())
    pull(workspace, tmp_path)
    extra = workspace.create_chatflow(docs_flow("Scratch"))
    workspace.create_tool(calculator())

    kept = plan(workspace, tmp_path)
    pruned = plan(workspace, tmp_path, prune=True)

    assert kept.empty
    assert kept.kept == ("chatflows/Scratch", "tools/calculator")
    assert [c.line for c in pruned.changes] == ["- chatflows/Scratch", "- tools/calculator"]
    assert pruned.count(Action.DELETE) == 2
    apply(workspace, pruned)
    assert [f.name for f in workspace.chatflows] == ["Docs QA"]
    assert workspace.tools == []
    assert extra.id not in {f.id for f in workspace.chatflows}
    assert plan(workspace, tmp_path, prune=True).empty


def test_pull_keeps_or_prunes_files_of_entities_gone(
    open_workspace: OpenWorkspace, tmp_path: Path
) -> None:
    workspace = open_workspace("source")
    workspace.create_chatflow(docs_flow())
    pull(workspace, tmp_path)
    write(tmp_path / "chatflows" / "Old.json", {"nodes": [], "edges": []})

    kept = pull(workspace, tmp_path)
    assert kept.kept == ["chatflows/Old.json"]
    assert (tmp_path / "chatflows" / "Old.json").exists()

    pruned = pull(workspace, tmp_path, prune=True)
    assert pruned.removed == ["chatflows/Old.json"]
    assert not (tmp_path / "chatflows" / "Old.json").exists()


def test_two_entities_of_one_name_are_an_error_naming_both_ids(
    open_workspace: OpenWorkspace, tmp_path: Path
) -> None:
    workspace = open_workspace("source")
    first = workspace.create_chatflow(docs_flow())
    second = workspace.create_chatflow(docs_flow())
    (tmp_path / "chatflows").mkdir()
    write(tmp_path / "chatflows" / "Docs QA.json", docs_flow(credential=None).to_flowise())

    with pytest.raises(FolderError) as pulled:
        pull(workspace, tmp_path / "pulled")
    with pytest.raises(PlanError) as planned:
        plan(workspace, tmp_path)

    for error in (pulled.value, planned.value):
        assert str(error) == (
            f"2 chatflows are called 'Docs QA' ({first.id}, {second.id}): rename all but one, "
            "names identify entities in a folder"
        )
    assert not (tmp_path / "pulled").exists()


def test_entities_sharing_a_name_no_file_has_are_kept_or_each_pruned(
    open_workspace: OpenWorkspace, tmp_path: Path
) -> None:
    workspace = open_workspace("source")
    workspace.create_chatflow(docs_flow("Scratch"))
    workspace.create_chatflow(docs_flow("Scratch"))
    (tmp_path / "chatflows").mkdir()

    kept = plan(workspace, tmp_path)
    pruned = plan(workspace, tmp_path, prune=True)
    apply(workspace, pruned)

    assert kept.empty
    assert kept.kept == ("chatflows/Scratch", "chatflows/Scratch")
    assert [c.line for c in pruned.changes] == ["- chatflows/Scratch", "- chatflows/Scratch"]
    assert workspace.chatflows == []


def test_credentials_travel_by_name_between_servers(
    open_workspace: OpenWorkspace, tmp_path: Path
) -> None:
    source = open_workspace("source")
    source.create_chatflow(docs_flow(credential="id-on-source"))
    source.create_assistant(helper().model_copy(update={"credential": "id-on-source"}))
    on_source = Credentials([("id-on-source", "openai")])
    on_target = Credentials([("id-on-target", "openai"), ("other", "azure")])
    target = open_workspace("target")

    pull(source, tmp_path, credentials=on_source)
    apply(target, plan(target, tmp_path, credentials=on_target))

    files = "".join(p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.json"))
    assert "id-on-source" not in files
    node = read(tmp_path / "chatflows" / "Docs QA.json")["nodes"][1]
    assert node["data"]["credential"] == "credential:openai"
    assert read(tmp_path / "assistants" / "Helper.json")["credential"] == "credential:openai"
    assert target.chatflows[0].node("chatOpenAI_0").credential == "id-on-target"
    assert target.assistants[0].credential == "id-on-target"
    assert plan(target, tmp_path, credentials=on_target).empty


def test_a_credential_the_target_lacks_is_a_plan_error_naming_node_and_credential(
    open_workspace: OpenWorkspace, tmp_path: Path
) -> None:
    source = open_workspace("source")
    source.create_chatflow(docs_flow(credential="id-1"))
    pull(source, tmp_path, credentials=Credentials([("id-1", "openai")]))
    target = open_workspace("target")

    with pytest.raises(PlanError) as caught:
        plan(target, tmp_path, credentials=Credentials([("id-2", "azure")]))

    assert caught.value.problems == (
        "chatflows/Docs QA: node 'chatOpenAI_0' needs credential 'openai', which the target "
        "has not: create it there under that name",
    )
    assert target.chatflows == []


def test_a_local_workspace_keeps_the_credential_name_itself(
    open_workspace: OpenWorkspace, tmp_path: Path
) -> None:
    source = open_workspace("source")
    source.create_chatflow(docs_flow(credential="openai"))
    target = open_workspace("target")

    pull(source, tmp_path)
    apply(target, plan(target, tmp_path))

    assert "credential:openai" in (tmp_path / "chatflows" / "Docs QA.json").read_text("utf-8")
    assert target.chatflows[0].node("chatOpenAI_0").credential == "openai"


def test_an_edited_tool_and_assistant_plan_as_the_fields_that_changed(
    open_workspace: OpenWorkspace, tmp_path: Path
) -> None:
    workspace = open_workspace("source")
    tool = workspace.create_tool(calculator())
    assistant = workspace.create_assistant(helper())
    pull(workspace, tmp_path)
    tool_file = tmp_path / "tools" / "calculator.json"
    write(tool_file, {**read(tool_file), "func": "return $a * $b;"})
    assistant_file = tmp_path / "assistants" / "Helper.json"
    data = read(assistant_file)
    data["details"]["instruction"] = "Be thorough."
    write(assistant_file, data)

    planned = plan(workspace, tmp_path)
    apply(workspace, planned)

    assert [c.line for c in planned.changes] == [
        "~ tools/calculator: func changed",
        "~ assistants/Helper: details.instruction changed",
    ]
    assert workspace.get_tool(tool.id).func == "return $a * $b;"
    assert workspace.get_assistant(assistant.id).details["instruction"] == "Be thorough."
    assert plan(workspace, tmp_path).empty


def test_a_name_unsafe_as_a_file_name_round_trips(
    open_workspace: OpenWorkspace, tmp_path: Path
) -> None:
    source = open_workspace("source")
    source.create_chatflow(docs_flow("Q&A: v2/beta?"))
    target = open_workspace("target")

    pull(source, tmp_path)
    apply(target, plan(target, tmp_path))

    assert [p.name for p in (tmp_path / "chatflows").iterdir()] == ["Q&A%3A v2%2Fbeta%3F.json"]
    assert [f.name for f in target.chatflows] == ["Q&A: v2/beta?"]


def test_a_bad_file_stops_the_plan_before_any_change(
    open_workspace: OpenWorkspace, tmp_path: Path
) -> None:
    workspace = open_workspace("source")
    (tmp_path / "chatflows").mkdir()
    write(tmp_path / "chatflows" / "Good.json", docs_flow().to_flowise())
    (tmp_path / "chatflows" / "Bad.json").write_text('{"nodes": 3}', encoding="utf-8")

    with pytest.raises(PlanError, match=r"chatflows/Bad\.json: 'nodes' must be a list"):
        plan(workspace, tmp_path)
    assert workspace.chatflows == []


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    node_index=st.integers(min_value=0, max_value=2),
    name=st.text(min_size=1, max_size=12),
    value=_JSON_VALUES,
)
def test_any_one_edited_input_plans_as_exactly_that_node_and_input(
    tmp_path_factory: pytest.TempPathFactory, node_index: int, name: str, value: object
) -> None:
    folder = tmp_path_factory.mktemp("flows")
    workspace = Workspace()
    workspace.create_chatflow(docs_flow())
    pull(workspace, folder)
    file = folder / "chatflows" / "Docs QA.json"
    data = read(file)
    node = data["nodes"][node_index]
    if node["data"]["inputs"].get(name, object()) == value:
        return  # not an edit
    node["data"]["inputs"][name] = value
    write(file, data)

    planned = plan(workspace, folder)
    apply(workspace, planned)

    assert [c.line for c in planned.changes] == [
        f"~ chatflows/Docs QA: nodes changed {node['id']} (inputs {name})"
    ]
    assert workspace.chatflows[0].node(node["id"]).inputs[name] == value
    assert plan(workspace, folder).empty


def test_a_flow_names_the_custom_tools_it_uses_and_gets_the_targets_ids(
    open_workspace: OpenWorkspace, tmp_path: Path
) -> None:
    source = open_workspace("source")
    tool = source.create_tool(calculator())
    source.create_chatflow(tool_flow(tool.id))
    target = open_workspace("target")

    pull(source, tmp_path)
    planned = plan(target, tmp_path)
    apply(target, planned)

    text = (tmp_path / "chatflows" / "Uses a tool.json").read_text(encoding="utf-8")
    assert tool.id not in text
    assert text.count('"selectedTool": "tool:calculator"') == 2
    (copy,) = target.tools
    assert copy.id != tool.id
    (flow,) = target.chatflows
    assert flow.node("customTool_0").inputs["selectedTool"] == copy.id
    nested = flow.node("toolAgent_0").inputs["agentTools"][0]["agentSelectedToolConfig"]
    assert nested["selectedTool"] == copy.id
    assert plan(target, tmp_path).empty


def test_a_tool_neither_the_folder_nor_the_target_has_is_a_plan_error(
    open_workspace: OpenWorkspace, tmp_path: Path
) -> None:
    source = open_workspace("source")
    tool = source.create_tool(calculator())
    source.create_chatflow(tool_flow(tool.id))
    pull(source, tmp_path)
    (tmp_path / "tools" / "calculator.json").unlink()
    target = open_workspace("target")

    with pytest.raises(PlanError) as caught:
        plan(target, tmp_path)

    assert caught.value.problems == (
        "chatflows/Uses a tool: node 'customTool_0' uses tool 'calculator', which neither the "
        "folder (tools/) nor the target has",
        "chatflows/Uses a tool: node 'toolAgent_0' uses tool 'calculator', which neither the "
        "folder (tools/) nor the target has",
    )
    target.create_tool(calculator())
    assert [c.line for c in plan(target, tmp_path).changes] == ["+ chatflows/Uses a tool"]


def test_pull_writes_an_entity_back_to_the_file_that_holds_it(
    open_workspace: OpenWorkspace, tmp_path: Path
) -> None:
    workspace = open_workspace("source")
    workspace.create_tool(calculator())
    (tmp_path / "tools").mkdir()
    marketplace_style = tmp_path / "tools" / "Calculator Tool.json"
    write(marketplace_style, {"name": "calculator", "description": "old", "func": "return 0;"})

    result = pull(workspace, tmp_path)

    assert result.written == ["tools/Calculator Tool.json"]
    assert [p.name for p in (tmp_path / "tools").iterdir()] == ["Calculator Tool.json"]
    assert read(marketplace_style)["func"] == "return $a + $b;"
