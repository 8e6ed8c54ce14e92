"""Carrying out a plan: the creates, updates and deletes that make a workspace match a
folder, through the Workspace's public methods (so every signal is sent, on any backend)."""

from __future__ import annotations

import copy
from collections.abc import Generator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from flowkit.gitops.folder import Document, flow_kind, to_assistant, to_chatflow, to_tool
from flowkit.gitops.plan import Action, Change, Plan, PlanError
from flowkit.gitops.pull import Readable
from flowkit.gitops.references import (
    ASSISTANT,
    FLOW,
    TOOL,
    Reference,
    referenced,
    resolved,
    written_name,
)
from flowkit.model import Assistant, Chatflow, Tool

__all__ = ["Applied", "Step", "Writable", "apply", "apply_steps", "drive"]

_T = TypeVar("_T")


class Writable(Readable, Protocol):
    """What applying needs: a Workspace's listings, create, update and delete methods."""

    def list_chatflows(self) -> list[Chatflow]: ...
    def list_tools(self) -> list[Tool]: ...
    def list_assistants(self) -> list[Assistant]: ...
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
    """Carry out ``planned`` on ``workspace``, change by change, in the plan's order (a flow
    that another flow of the plan uses goes first).

    A plan is made by :func:`~flowkit.gitops.plan` against the same workspace; applying a
    fresh plan of the same folder again finds nothing to do. The tools, assistants and flows
    a flow's nodes name get the workspace's ids, those created here included; flows that
    use each other in a circle are saved first without the ids not there yet, then updated
    with them. Stops at the first change that fails, raising its error: the changes before
    it are done (the next plan shows what is left).

    :returns: the changes carried out, each with the entity's id (a flow updated again for a
        circle keeps its one entry).
    :raises PlanError: when a flow uses a tool or assistant the workspace has not (gone
        since planning).
    :raises FlowkitError: whatever the workspace raises for a change (``NotFoundError`` when
        an entity went away since planning, ``FlowValidationError`` for an invalid flow, a
        Flowise API error, ...).
    """
    return drive(workspace, apply_steps(planned))


Step = tuple[str, tuple[Any, ...]]
"""One call a plan's application makes on the workspace: a method name and its arguments
(``("create_tool", (tool,))``); what it returns is sent back into the steps."""


def drive(workspace: object, steps: Generator[Step, Any, _T]) -> _T:
    """Run ``steps`` on a sync workspace: each step is its method called with the step's
    arguments, its result sent back. :returns: what the steps return."""
    try:
        name, args = next(steps)
        while True:
            name, args = steps.send(getattr(workspace, name)(*args))
    except StopIteration as stop:
        result: _T = stop.value
        return result


def apply_steps(planned: Plan) -> Generator[Step, Any, list[Applied]]:
    """:func:`apply` as the workspace calls it makes, for a sync or an async driver (see
    :func:`drive`): one code path for :class:`~flowkit.Workspace` and
    :class:`~flowkit.AsyncWorkspace`."""
    done: list[Applied] = []
    ids: dict[Reference, dict[str, str]] | None = None
    again: list[tuple[Change, str]] = []
    for change in _referenced_first(planned.changes):
        sent, later = change, False
        if change.document.kind.entity == "chatflow" and change.action is not Action.DELETE:
            if ids is None:  # once the folder's tools and assistants are there (they come first)
                ids = _ids_from(
                    (yield ("list_chatflows", ())),
                    (yield ("list_tools", ())),
                    (yield ("list_assistants", ())),
                )
            sent, later = _with_ids(change, ids)
        entity_id = yield from _carry_out(sent)
        done.append(Applied(sent, entity_id))
        if ids is not None and change.action is not Action.DELETE:
            _remember(ids, change.document, entity_id)
        if later:
            again.append((change, entity_id))
    for change, entity_id in again:  # flows in a circle: every id is known now
        update = replace(change, action=Action.UPDATE, target_id=entity_id)
        yield from _carry_out(_with_ids(update, ids or {})[0])
    return done


def _ids_from(
    flows: list[Chatflow], tools: list[Tool], assistants: list[Assistant]
) -> dict[Reference, dict[str, str]]:
    """Per reference, name -> id, of what the workspace holds now."""
    by_name: dict[str, str] = {}
    for assistant in assistants:
        name = assistant.details.get("name")
        if isinstance(name, str):
            by_name[name] = assistant.id
    return {
        TOOL: {tool.name: tool.id for tool in tools},
        ASSISTANT: by_name,
        FLOW: {f"{flow_kind(flow.type).folder}/{flow.name}": flow.id for flow in flows},
    }


def _remember(ids: dict[Reference, dict[str, str]], document: Document, entity_id: str) -> None:
    """Note the id an entity of the folder now has in the workspace."""
    reference, name = written_name(document)
    ids[reference][name] = entity_id


def _with_ids(change: Change, ids: Mapping[Reference, Mapping[str, str]]) -> tuple[Change, bool]:
    """``change`` with the names its flow uses replaced by the target's ids, and whether a
    flow it uses is yet to be made (its selection left blank until then).

    :raises PlanError: when the target has no tool or assistant of a name used.
    """
    data = copy.deepcopy(change.resolved if change.resolved is not None else change.document.data)
    missing = resolved(data, ids)
    gone = [m for m in missing if m.reference is not FLOW]
    if gone:
        raise PlanError([f"{change.document.label}: {m.problem}" for m in gone])
    return replace(change, resolved=data), bool(missing)


def _referenced_first(changes: tuple[Change, ...]) -> list[Change]:
    """The plan's changes, each flow after the flows of the plan it uses (unless they use
    each other in a circle); everything else keeps its place."""
    slots = [
        i
        for i, c in enumerate(changes)
        if c.document.kind.entity == "chatflow" and c.action is not Action.DELETE
    ]
    labels = {changes[i].document.label for i in slots}
    uses = {
        i: {name for _, ref, name in referenced(changes[i].document.data) if ref is FLOW} & labels
        for i in slots
    }
    ordered: list[int] = []
    placed: set[str] = set()
    pending = list(slots)
    while pending:
        ready = [i for i in pending if uses[i] <= placed | {changes[i].document.label}]
        batch = ready or pending[:1]  # a circle: the first goes, updated afterwards
        ordered += batch
        placed.update(changes[i].document.label for i in batch)
        pending = [i for i in pending if i not in batch]
    result = list(changes)
    for slot, index in zip(slots, ordered, strict=True):
        result[slot] = changes[index]
    return result


def _carry_out(change: Change) -> Generator[Step, Any, str]:
    """The calls one change makes; returns the entity's id."""
    document = change.document
    entity = document.kind.entity
    if change.action is Action.DELETE:
        target = str(change.target_id)
        yield (f"delete_{entity}", (target,))
        return target
    sent = replace(document, data=change.resolved if change.resolved is not None else document.data)
    target_id = change.target_id if change.action is Action.UPDATE else None
    built: Chatflow | Tool | Assistant
    if entity == "chatflow":
        built = to_chatflow(sent, id=target_id)
        if target_id is not None:
            # The folder holds the graph; the record's own settings (deployed, apiConfig,
            # chatbotConfig, ...) are the target's, and an update keeps them.
            current: Chatflow = yield ("get_chatflow", (target_id,))
            for field in type(current).model_fields:
                if field not in _FROM_FOLDER:
                    setattr(built, field, getattr(current, field))
    elif entity == "tool":
        built = to_tool(sent, id=target_id)
    else:
        built = to_assistant(sent, id=target_id)
    saved: Chatflow | Tool | Assistant = yield (
        f"{'update' if target_id else 'create'}_{entity}",
        (built,),
    )
    return saved.id


_FROM_FOLDER = frozenset({"id", "name", "type", "flow_extra", "updated_at"})
"""Chatflow fields a folder decides; every other field of an updated flow is kept."""
