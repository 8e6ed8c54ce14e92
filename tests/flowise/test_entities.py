"""Every shared chatflow and tool export, and an assistant, through a workspace on a real
Flowise: created (with the server's id), read back equal, updated, deleted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import marketplace_files

from flowkit import Assistant, Chatflow, FlowType, Tool, Workspace, signals
from flowkit.client import FlowiseClient
from flowkit.errors import NotFoundError

CHATFLOWS = marketplace_files("chatflows")
TOOLS = marketplace_files("tools")


def _graph(flow: Chatflow) -> dict[str, Any]:
    exported = flow.to_flowise()
    return {"nodes": exported["nodes"], "edges": exported["edges"]}


def _an_input(flow: Chatflow) -> tuple[str, str]:
    """A (node id, input name) of the flow with a string value, to change."""
    for node in flow.nodes:
        for name, value in node.inputs.items():
            if isinstance(value, str) and not value.startswith("{{"):
                return node.id, name
    raise AssertionError(f"{flow.name}: no string input to change")


def test_there_are_exports_to_try() -> None:
    assert len(CHATFLOWS) >= 24, "the marketplace's 24 chatflows are vendored in tests/data"
    assert len(TOOLS) >= 13, "the marketplace's 13 tools are vendored in tests/data"


@pytest.mark.parametrize("path", CHATFLOWS, ids=[p.stem for p in CHATFLOWS])
def test_a_chatflow_export_round_trips_through_the_server(workspace: Workspace, path: Path) -> None:
    flow = Chatflow.from_flowise(path)
    sent: list[Any] = []
    receiver = signals.chatflow_created.connect(
        lambda sender, **kw: sent.append(sender), weak=False
    )
    try:
        created = workspace.create_chatflow(flow)
    finally:
        signals.chatflow_created.disconnect(receiver)

    try:
        assert created.id != flow.id
        assert sent == [created]
        read = workspace.get_chatflow(created.id)
        assert _graph(read) == _graph(flow)
        assert (read.name, read.type) == (flow.name, flow.type)

        node_id, name = _an_input(read)
        read.node(node_id).inputs[name] = "changed by flowkit"
        workspace.update_chatflow(read)
        again = workspace.get_chatflow(created.id)
        assert again.node(node_id).inputs[name] == "changed by flowkit"
        assert _graph(again) == _graph(read)
    finally:
        workspace.delete_chatflow(created.id)

    with pytest.raises(NotFoundError):
        workspace.get_chatflow(created.id)


@pytest.mark.parametrize("path", TOOLS, ids=[p.stem for p in TOOLS])
def test_a_tool_export_round_trips_through_the_server(workspace: Workspace, path: Path) -> None:
    tool = Tool.from_flowise(path)

    created = workspace.create_tool(tool)
    try:
        assert created.id != tool.id
        read = workspace.get_tool(created.id)
        for field in ("name", "description", "color", "icon_src", "func"):
            assert getattr(read, field) == getattr(tool, field), field
        assert read.schema_properties == tool.schema_properties

        read.description = "changed by flowkit"
        workspace.update_tool(read)
        assert workspace.get_tool(created.id).description == "changed by flowkit"
    finally:
        deleted = workspace.delete_tool(created.id)

    assert deleted.description == "changed by flowkit"
    with pytest.raises(NotFoundError):
        workspace.get_tool(created.id)


def test_a_custom_assistant_without_credential_round_trips(
    workspace: Workspace, client: FlowiseClient
) -> None:
    assistant = Assistant(details={"name": "flowkit helper", "instruction": "Be brief."})

    created = workspace.create_assistant(assistant)
    try:
        assert created.id != assistant.id
        assert created.credential is None
        read = workspace.get_assistant(created.id)
        assert read.details == assistant.details
        assert created.id in [a.id for a in workspace.list_assistants()]

        read.details = {**read.details, "instruction": "Be briefer."}
        workspace.update_assistant(read)
        assert client.get_assistant(created.id).details["instruction"] == "Be briefer."
    finally:
        workspace.delete_assistant(created.id)

    with pytest.raises(NotFoundError):
        workspace.get_assistant(created.id)


def test_listing_shows_what_was_created(workspace: Workspace) -> None:
    flow = workspace.create_chatflow(Chatflow.from_flowise(CHATFLOWS[0]))
    try:
        assert flow.id in [f.id for f in workspace.list_chatflows()]
    finally:
        workspace.delete_chatflow(flow)

    assert flow.id not in [f.id for f in workspace.list_chatflows()]


def test_variables_and_credentials_through_the_client(
    client: FlowiseClient, mock_credential: str
) -> None:
    variable = client.create_variable("flowkit_var", "1")
    try:
        changed = client.update_variable(variable.model_copy(update={"value": "2"}))
        assert changed.value == "2"
        assert [v.value for v in client.list_variables() if v.id == variable.id] == ["2"]
    finally:
        client.delete_variable(variable.id)

    names = {c.id: c.name for c in client.list_credentials()}
    assert names[mock_credential] == "flowkit-mock-openai"


@pytest.mark.parametrize("flow_type", list(FlowType), ids=[t.value for t in FlowType])
def test_every_flow_type_is_created_listed_and_read_back(
    client: FlowiseClient, flow_type: FlowType
) -> None:
    flow = Chatflow(name=f"flowkit {flow_type.value.lower()}", type=flow_type)

    created = client.create_chatflow(flow)
    try:
        assert client.get_chatflow(created.id).type == flow_type
        assert created.id in [f.id for f in client.list_chatflows(flow_type)]
    finally:
        client.delete_chatflow(created.id)
