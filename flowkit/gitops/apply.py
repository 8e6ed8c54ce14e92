"""Carrying out a plan: the creates, updates and deletes that make a workspace match a
folder, through the Workspace's public methods (so every signal is sent, on any backend)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Protocol

from flowkit.gitops.folder import Document, to_assistant, to_chatflow, to_tool
from flowkit.gitops.plan import Action, Change, Plan, PlanError
from flowkit.gitops.pull import Readable
from flowkit.gitops.references import tools_resolved
from flowkit.model import Assistant, Chatflow, Tool

__all__ = ["Applied", "Writable", "apply"]


class Writable(Readable, Protocol):
    """What applying needs: a Workspace's create, update and delete methods."""

    def get_chatflow(self, chatflow_id: str) -> Chatflow: ...
    def create_chatflow(self, flow: Chatflow) -> Chatflow: ...
    def update_chatflow(self, flow: Chatflow) -> Chatflow: ...
    def delete_chatflow(self, chatflow_id: str) -> object: ...
    def create_tool(self, tool: Tool) -> Tool: ...
    def update_tool(self, tool: Tool) -> Tool: ...
    def delete_tool(self, tool_id: str) -> object: ...
    def create_assistant(self, assistant: Assistant) -> Assistant: ...
    def update_assistant(self, assistant: Assistant) -> Assistant: ...
    def delete_assistant(self, assistant_id: str) -> object: ...


@dataclass(frozen=True)
class Applied:
    """One change carried out.

    :param change: the plan's change.
    :param id: the entity's id in the workspace (the new one, for a create).
    """

    change: Change
    id: str


def apply(workspace: Writable, planned: Plan) -> list[Applied]:
    """Carry out ``planned`` on ``workspace``, change by change, in the plan's order.

    A plan is made by :func:`~flowkit.gitops.plan` against the same workspace; applying a
    fresh plan of the same folder again finds nothing to do. Stops at the first change that
    fails, raising its error: the changes before it are done (the next plan shows what is
    left).

    :returns: the changes carried out, each with the entity's id.
    :raises PlanError: when a flow uses a tool the workspace has not (gone since planning).
    :raises FlowkitError: whatever the workspace raises for a change (``NotFoundError`` when
        an entity went away since planning, ``FlowValidationError`` for an invalid flow, a
        Flowise API error, ...).
    """
    done: list[Applied] = []
    tool_ids: dict[str, str] | None = None
    for change in planned.changes:
        if change.document.kind.entity == "chatflow" and change.action is not Action.DELETE:
            if tool_ids is None:  # once the folder's tools are there (they come first)
                tool_ids = {tool.name: tool.id for tool in workspace.tools}
            change = _with_tools(change, tool_ids)
        done.append(Applied(change, _carry_out(workspace, change)))
    return done


def _with_tools(change: Change, tool_ids: dict[str, str]) -> Change:
    """``change`` with the tool names its flow uses replaced by the target's tool ids."""
    data = copy.deepcopy(change.resolved if change.resolved is not None else change.document.data)
    problems = tools_resolved(data, tool_ids)
    if problems:
        raise PlanError([f"{change.document.label}: {problem}" for problem in problems])
    return replace(change, resolved=data)


def _carry_out(workspace: Writable, change: Change) -> str:
    document = change.document
    entity = document.kind.entity
    if change.action is Action.DELETE:
        target = str(change.target_id)
        {
            "chatflow": workspace.delete_chatflow,
            "tool": workspace.delete_tool,
            "assistant": workspace.delete_assistant,
        }[entity](target)
        return target
    sent = replace(document, data=change.resolved if change.resolved is not None else document.data)
    target_id = change.target_id if change.action is Action.UPDATE else None
    if entity == "chatflow":
        return _save_flow(workspace, sent, target_id)
    if entity == "tool":
        tool = to_tool(sent, id=target_id)
        saved_tool = workspace.update_tool(tool) if target_id else workspace.create_tool(tool)
        return saved_tool.id
    assistant = to_assistant(sent, id=target_id)
    saved = (
        workspace.update_assistant(assistant)
        if target_id
        else workspace.create_assistant(assistant)
    )
    return saved.id


def _save_flow(workspace: Writable, document: Document, target_id: str | None) -> str:
    flow = to_chatflow(document, id=target_id)
    if target_id is None:
        return workspace.create_chatflow(flow).id
    # The folder holds the graph; the record's own settings (deployed, apiConfig,
    # chatbotConfig, ...) are the target's, and an update keeps them.
    current = workspace.get_chatflow(target_id)
    for field in type(current).model_fields:
        if field not in _FROM_FOLDER:
            setattr(flow, field, getattr(current, field))
    return workspace.update_chatflow(flow).id


_FROM_FOLDER = frozenset({"id", "name", "type", "flow_extra", "updated_at"})
"""Chatflow fields a folder decides; every other field of an updated flow is kept."""
