"""Computing a plan: what ``apply`` would change to make a workspace match a folder.

A plan compares, kind by kind and name by name, the folder's files with the workspace's
entities in folder form (credential ids read back as names, server ids left out), so
equal means equal as a file. Nothing is changed while planning.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from flowkit.diff import diff_chatflows
from flowkit.errors import FlowkitError, FlowValidationError
from flowkit.gitops.credentials import Credentials, credentials_of, resolved
from flowkit.gitops.folder import (
    ASSISTANTS,
    KINDS,
    TOOLS,
    Document,
    FolderError,
    Key,
    read_folder,
    to_assistant,
    to_chatflow,
    to_tool,
    tool_document,
)
from flowkit.gitops.pull import Readable, duplicates, workspace_documents
from flowkit.gitops.references import ASSISTANT, TOOL, Reference, referenced
from flowkit.model import Chatflow

__all__ = ["Action", "Change", "Plan", "PlanError", "plan"]


class PlanError(FlowkitError):
    """No plan can be made: the folder or the workspace holds something ``apply`` could not
    carry out (a bad file, two entities with one name, a credential the target has not).

    :attr:`problems` holds every problem found, each naming its file or entity.
    """

    def __init__(self, problems: list[str] | tuple[str, ...]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


class Action(StrEnum):
    """What a change does, written as the first character of its plan line."""

    CREATE = "+"
    UPDATE = "~"
    DELETE = "-"


@dataclass(frozen=True)
class Change:
    """One line of a plan.

    :param action: create, update or delete.
    :param document: the folder's document (create, update) or the workspace's (delete).
    :param detail: for an update, what differs (nodes and edges of a flow, fields of a tool
        or assistant).
    :param target_id: the entity's id in the workspace (update, delete).
    :param resolved: for create and update, the document's data with credential names
        replaced by the target's ids: what ``apply`` sends.
    """

    action: Action
    document: Document
    detail: str = ""
    target_id: str | None = None
    resolved: dict[str, Any] | None = None

    @property
    def line(self) -> str:
        """The plan line: ``+ chatflows/Docs QA``, ``~ tools/x: func changed``, ..."""
        text = f"{self.action.value} {self.document.label}"
        return f"{text}: {self.detail}" if self.detail else text


@dataclass(frozen=True)
class Plan:
    """What ``apply`` would change, in the order it would change it: creates and updates by
    kind (tools, assistants, then flows), then deletes in the reverse kind order.

    :param changes: the changes.
    :param kept: labels of workspace entities no file names, kept because ``prune`` was off.
    :param warnings: what could not be carried over from the workspace (dangling ids, ...).
    """

    changes: tuple[Change, ...]
    kept: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Whether applying would change nothing."""
        return not self.changes

    def count(self, action: Action) -> int:
        """Return how many changes do ``action``."""
        return sum(1 for change in self.changes if change.action is action)

    @property
    def summary(self) -> str:
        """One line: ``Plan: 1 to create, 2 to update, 0 to delete.`` or ``No changes.``"""
        if self.empty:
            return "No changes: the workspace matches the folder."
        return (
            f"Plan: {self.count(Action.CREATE)} to create, {self.count(Action.UPDATE)} to "
            f"update, {self.count(Action.DELETE)} to delete."
        )


def plan(
    workspace: Readable,
    folder: str | Path,
    *,
    prune: bool = False,
    credentials: Credentials | None = None,
) -> Plan:
    """Compute what :func:`~flowkit.gitops.apply` would change to make ``workspace`` match
    ``folder``. Reads both, changes neither.

    Identity is kind and name: a file and an entity of the same kind and name are the same
    entity (an update when they differ); a file alone is a create; an entity alone is a
    delete with ``prune``, else it is kept and listed in :attr:`Plan.kept`.

    :param credentials: the workspace's credentials (default: :func:`credentials_of`).
    :raises PlanError: listing every problem at once: a file that cannot be read or loaded,
        two files with one kind and name, several workspace entities with the kind and name
        of a file or of an entity a flow uses (naming their ids: which one?), a credential
        named in a file that the workspace has not, a tool, assistant or flow a flow uses
        that neither the folder nor the workspace has (naming the node). Entities sharing a
        name that no file has are no problem: they are kept, or each deleted with ``prune``.
    """
    book = credentials if credentials is not None else credentials_of(workspace)
    try:
        wanted = read_folder(Path(folder))
    except FolderError as exc:
        raise PlanError(exc.problems) from None
    found = workspace_documents(workspace, book)
    used, problems = _used(wanted, found)
    problems = duplicates(found, [*wanted, *(key for key in used if key not in wanted)]) + problems
    current = {key: twins[0] for key, twins in found.items()}
    changes: list[Change] = []
    for key, document in _ordered(wanted):
        data = copy.deepcopy(document.data)
        missing = resolved(data, document.kind.entity, book)
        problems.extend(f"{document.label}: {problem}" for problem in missing)
        remote = current.get(key)
        if remote is None:
            changes.append(Change(Action.CREATE, document, resolved=data))
            continue
        try:
            detail = _difference(remote.document, document)
        except FlowValidationError as exc:
            problems.append(f"{document.label}: {'; '.join(exc.problems)}")
            continue
        if detail is not None:
            changes.append(Change(Action.UPDATE, document, detail, remote.id, data))
    if problems:
        raise PlanError(problems)
    gone = [(key, twins) for key, twins in _ordered(found) if key not in wanted]
    kept: list[str] = []
    for _key, twins in reversed(gone):
        for remote in twins:  # entities sharing a name the folder lacks: each one goes
            if prune:
                changes.append(Change(Action.DELETE, remote.document, target_id=remote.id))
            else:
                kept.append(remote.document.label)
    warnings = tuple(w for twins in found.values() for remote in twins for w in remote.warnings)
    return Plan(tuple(changes), tuple(sorted(kept)), warnings)


def _used(wanted: dict[Key, Document], found: dict[Key, list[Any]]) -> tuple[list[Key], list[str]]:
    """The keys of the tools, assistants and flows the folder's flows use, and one problem
    per one that neither the folder nor the workspace has."""
    used: list[Key] = []
    problems: list[str] = []
    for document in wanted.values():
        if document.kind.entity != "chatflow":
            continue
        for node_id, reference, name in referenced(document.data):
            key = _key_of(reference, name)
            if key is None:
                problems.append(
                    f"{document.label}: node {node_id!r} uses flow {name!r}: a flow is "
                    f"named by its folder and name, e.g. 'flow:chatflows/Docs QA'"
                )
                continue
            used.append(key)
            if key not in wanted and key not in found:
                problems.append(
                    f"{document.label}: node {node_id!r} uses {reference.noun} {name!r}, which "
                    f"neither the folder ({key[0]}/) nor the target has"
                )
    return list(dict.fromkeys(used)), problems


def _key_of(reference: Reference, name: str) -> Key | None:
    """The folder key a referenced name stands for (``None``: a flow name without folder)."""
    if reference is TOOL:
        return (TOOLS.folder, name)
    if reference is ASSISTANT:
        return (ASSISTANTS.folder, name)
    folder, slash, flow_name = name.partition("/")
    if not slash or folder not in {kind.folder for kind in KINDS if kind.entity == "chatflow"}:
        return None
    return (folder, flow_name)


def _ordered(items: dict[Key, Any]) -> list[tuple[Key, Any]]:
    """``items`` in :data:`KINDS` order, then by name."""
    rank = {kind.folder: index for index, kind in enumerate(KINDS)}
    return sorted(items.items(), key=lambda item: (rank[item[0][0]], item[0][1]))


def _difference(current: Document, wanted: Document) -> str | None:
    """Return what differs between the workspace's and the folder's document (``None`` when
    they are equal as files, after both are read through the model).

    :raises FlowValidationError: when the folder's document cannot be loaded.
    """
    entity = wanted.kind.entity
    if entity == "chatflow":
        before, after = to_chatflow(current), to_chatflow(wanted)
        if before.to_flowise() == after.to_flowise():
            return None
        return _describe_flow(before, after)
    if entity == "tool":
        old = tool_document(to_tool(current)).data
        new = tool_document(to_tool(wanted)).data
        fields = _changed_keys(old, new)
        return f"{', '.join(fields)} changed" if fields else None
    old_a, new_a = to_assistant(current), to_assistant(wanted)
    fields = [
        f"details.{k}" if k in old_a.details or k in new_a.details else k
        for k in _changed_keys(old_a.details, new_a.details)
    ]
    for name in ("credential", "icon_src", "type"):
        if getattr(old_a, name) != getattr(new_a, name):
            fields.append({"icon_src": "iconSrc"}.get(name, name))
    return f"{', '.join(fields)} changed" if fields else None


def _changed_keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [k for k in dict.fromkeys([*old, *new]) if old.get(k) != new.get(k)]


def _describe_flow(before: Chatflow, after: Chatflow) -> str:
    """Name the nodes added, removed and changed (with the inputs that changed) and the
    edges added and removed, with :func:`flowkit.diff.diff_chatflows`."""
    difference = diff_chatflows(before, after)
    changed = [f"{c.node_id} ({c.describe().split(': ', 1)[1]})" for c in difference.nodes_changed]
    parts = [
        f"{label} {', '.join(items)}"
        for label, items in (
            ("nodes added", list(difference.nodes_added)),
            ("nodes removed", list(difference.nodes_removed)),
            ("nodes changed", changed),
            ("edges added", [f"{e.source} -> {e.target}" for e in difference.edges_added]),
            ("edges removed", [f"{e.source} -> {e.target}" for e in difference.edges_removed]),
        )
        if items
    ]
    if "flow_extra" in difference.flow_fields:
        parts.append("flowData keys beside nodes and edges changed")
    return "; ".join(parts) or "changed"
