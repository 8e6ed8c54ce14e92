"""Flows that select other flows (Chatflow Tool, Execute Flow, ...) and OpenAI assistants by
id: a pulled file names them (``flow:chatflows/Docs QA``, ``assistant:Helper``), and apply
puts back the target's ids, for flows created in the same apply too, circles included."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowkit import Chatflow, Workspace
from flowkit.gitops import PlanError, apply, plan, pull

from .conftest import OpenWorkspace, docs_flow, helper, read, write


def user_flow(name: str, *, flow_id: str = "", assistant_id: str = "") -> Chatflow:
    """A tool agent whose Chatflow Tool selects ``flow_id`` (deeper down too, as an agent
    flow's tool config does), beside an OpenAI Assistant node selecting ``assistant_id``."""
    flow = Chatflow(name=name)
    agent = flow.add_node(
        "toolAgent",
        category="Agents",
        inputs={"agentTools": [{"agentSelectedToolConfig": {"selectedChatflow": flow_id}}]},
    )
    tool = flow.add_node("ChatflowTool", category="Tools", inputs={"selectedChatflow": flow_id})
    flow.connect(tool, agent, "tools")
    flow.add_node("openAIAssistant", category="Agents", inputs={"selectedAssistant": assistant_id})
    return flow


def selections(flow: Chatflow) -> tuple[str, str, str]:
    """What the flow's nodes select: the tool's flow, the nested flow, the assistant."""
    nested = flow.node("toolAgent_0").inputs["agentTools"][0]["agentSelectedToolConfig"]
    return (
        flow.node("ChatflowTool_0").inputs["selectedChatflow"],
        nested["selectedChatflow"],
        flow.node("openAIAssistant_0").inputs["selectedAssistant"],
    )


def by_name(workspace: Workspace) -> dict[str, Chatflow]:
    return {flow.name: flow for flow in workspace.chatflows}


def test_a_flow_names_the_flow_and_assistant_it_selects_and_gets_the_targets_ids(
    open_workspace: OpenWorkspace, tmp_path: Path
) -> None:
    source = open_workspace("source")
    docs = source.create_chatflow(docs_flow())
    assistant = source.create_assistant(helper())
    source.create_chatflow(user_flow("Uses others", flow_id=docs.id, assistant_id=assistant.id))
    target = open_workspace("target")

    pull(source, tmp_path)
    apply(target, plan(target, tmp_path))

    text = (tmp_path / "chatflows" / "Uses others.json").read_text(encoding="utf-8")
    assert docs.id not in text
    assert assistant.id not in text
    assert text.count('"selectedChatflow": "flow:chatflows/Docs QA"') == 2
    assert text.count('"selectedAssistant": "assistant:Helper"') == 1
    flows = by_name(target)
    (target_assistant,) = target.assistants
    assert flows["Docs QA"].id != docs.id
    assert selections(flows["Uses others"]) == (
        flows["Docs QA"].id,
        flows["Docs QA"].id,
        target_assistant.id,
    )
    assert plan(target, tmp_path).empty


def test_flows_that_select_each_other_are_created_then_given_each_others_ids(
    open_workspace: OpenWorkspace, tmp_path: Path
) -> None:
    source = open_workspace("source")
    first = source.create_chatflow(user_flow("A"))
    second = source.create_chatflow(user_flow("B", flow_id=first.id))
    again = source.get_chatflow(first.id)
    again.node("ChatflowTool_0").inputs["selectedChatflow"] = second.id
    source.update_chatflow(again)
    target = open_workspace("target")

    pull(source, tmp_path)
    applied = apply(target, plan(target, tmp_path))

    flows = by_name(target)
    assert [a.change.document.label for a in applied] == ["chatflows/A", "chatflows/B"]
    assert flows["A"].node("ChatflowTool_0").inputs["selectedChatflow"] == flows["B"].id
    assert flows["B"].node("ChatflowTool_0").inputs["selectedChatflow"] == flows["A"].id
    assert plan(target, tmp_path).empty


def test_a_flow_is_created_after_the_flow_it_selects_whatever_their_names(
    open_workspace: OpenWorkspace, tmp_path: Path
) -> None:
    source = open_workspace("source")
    used = source.create_chatflow(docs_flow("Zeta"))
    source.create_chatflow(user_flow("Alpha", flow_id=used.id))
    target = open_workspace("target")

    pull(source, tmp_path)
    applied = apply(target, plan(target, tmp_path))

    assert [a.change.document.label for a in applied] == ["chatflows/Zeta", "chatflows/Alpha"]
    flows = by_name(target)
    assert selections(flows["Alpha"])[0] == flows["Zeta"].id
    assert plan(target, tmp_path).empty


@pytest.mark.parametrize(
    ("selected", "says"),
    [
        (
            "flow:chatflows/Nowhere",
            "node 'ChatflowTool_0' uses flow 'chatflows/Nowhere', which neither the folder "
            "(chatflows/) nor the target has",
        ),
        ("flow:Docs QA", "a flow is named by its folder and name, e.g. 'flow:chatflows/Docs QA'"),
        (
            "assistant:Nobody",
            "node 'ChatflowTool_0' uses assistant 'Nobody', which neither the folder "
            "(assistants/) nor the target has",
        ),
    ],
)
def test_a_name_that_neither_side_has_is_a_plan_error_naming_the_node(
    tmp_path: Path, selected: str, says: str
) -> None:
    source = Workspace()
    source.create_chatflow(user_flow("Uses"))
    pull(source, tmp_path)
    file = tmp_path / "chatflows" / "Uses.json"
    data = read(file)
    for node in data["nodes"]:
        if node["id"] == "ChatflowTool_0":
            key = "selectedAssistant" if selected.startswith("assistant:") else "selectedChatflow"
            node["data"]["inputs"][key] = selected
    write(file, data)

    with pytest.raises(PlanError) as raised:
        plan(Workspace(), tmp_path)

    assert any(says in problem for problem in raised.value.problems), raised.value.problems


def test_an_id_the_source_does_not_know_is_kept_with_a_warning(tmp_path: Path) -> None:
    source = Workspace()
    source.create_chatflow(user_flow("Uses", flow_id="deleted-long-ago"))

    pulled = pull(source, tmp_path)

    assert (
        "chatflows/Uses: node 'ChatflowTool_0': no flow has id 'deleted-long-ago', kept as is"
        in pulled.warnings
    )
    assert '"selectedChatflow": "deleted-long-ago"' in (
        tmp_path / "chatflows" / "Uses.json"
    ).read_text(encoding="utf-8")
