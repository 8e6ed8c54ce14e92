"""Other entities referenced by name: a flow's node names the tool, assistant or flow it
uses; a server knows them by id.

Flowise keeps those ids in a node's inputs (an agent flow's tool config keeps them under the
same keys, deeper), and ids differ from one server to the next. So a pulled file writes a
name instead, after a prefix that says what it names (:data:`REFERENCES`):

* ``"selectedTool": "tool:calculator"`` (a Custom Tool node; the tool's name);
* ``"selectedAssistant": "assistant:Helper"`` (an OpenAI Assistant node; ``details.name``);
* ``"selectedChatflow": "flow:chatflows/Docs QA"`` (a Chatflow Tool node, and the flow
  selections of Execute Flow, Agent as Tool, ...; the flow's folder and name, since names
  are unique within a folder only).

``apply`` puts back the id the target has by that name, once the folder's own entities are
there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowkit.gitops.folder import Document

__all__ = [
    "ASSISTANT",
    "FLOW",
    "REFERENCES",
    "TOOL",
    "Reference",
    "Unresolved",
    "named",
    "referenced",
    "resolved",
    "written_name",
]


@dataclass(frozen=True)
class Reference:
    """One kind of entity a node may select by id.

    :param entity: the entity kind (``"tool"``, ``"assistant"``, ``"chatflow"``).
    :param prefix: what a file writes before the name (``"tool:"``).
    :param keys: the keys, at any depth of a node's ``data``, that hold such an id.
    :param noun: how messages name it (``"tool"``, ``"flow"``, ...).
    """

    entity: str
    prefix: str
    keys: frozenset[str]
    noun: str


TOOL = Reference("tool", "tool:", frozenset({"selectedTool"}), "tool")
ASSISTANT = Reference("assistant", "assistant:", frozenset({"selectedAssistant"}), "assistant")
FLOW = Reference(
    "chatflow",
    "flow:",
    frozenset({"selectedChatflow", "selectedFlow", "executeFlowSelectedFlow", "selectedAgentflow"}),
    "flow",
)
REFERENCES: tuple[Reference, ...] = (TOOL, ASSISTANT, FLOW)
"""Every reference a flow's nodes may hold, in the order ``apply`` creates their entities."""

_BY_KEY = {key: reference for reference in REFERENCES for key in reference.keys}
_BY_ENTITY = {reference.entity: reference for reference in REFERENCES}


def written_name(document: Document) -> tuple[Reference, str]:
    """The reference that selects ``document``'s entity, and the name a flow writes for it
    after the prefix: a flow's ``folder/name``, a tool's or an assistant's name."""
    reference = _BY_ENTITY[document.kind.entity]
    return reference, document.label if reference is FLOW else document.name


@dataclass(frozen=True)
class Unresolved:
    """A name a flow uses that the target has no id for (yet).

    :param node_id: the node that uses it.
    :param reference: what it names.
    :param name: the name.
    """

    node_id: str
    reference: Reference
    name: str

    @property
    def problem(self) -> str:
        """One line: ``node 'customTool_0' uses tool 'calculator', which the target has not``."""
        return (
            f"node {self.node_id!r} uses {self.reference.noun} {self.name!r}, which the target "
            "has not"
        )


_Visit = Callable[[str, dict[str, Any], str, Reference, str], None]


def _each(data: dict[str, Any], visit: _Visit) -> None:
    """Call ``visit(node_id, container, key, reference, value)`` for every non-empty string
    under a reference key in a flow's nodes (no recursion)."""
    nodes = data.get("nodes")
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict):
            continue
        pending: list[Any] = [node.get("data")]
        while pending:
            item = pending.pop()
            if isinstance(item, dict):
                for key, inner in item.items():
                    reference = _BY_KEY.get(key)
                    if reference is not None and isinstance(inner, str) and inner:
                        visit(str(node.get("id")), item, key, reference, inner)
                    elif isinstance(inner, dict | list):
                        pending.append(inner)
            elif isinstance(item, list):
                pending.extend(inner for inner in item if isinstance(inner, dict | list))


def named(data: dict[str, Any], names: Mapping[Reference, Mapping[str, str]]) -> list[str]:
    """Replace, in place, every referenced id in a flow's folder data by its prefixed name.

    :param names: per reference, id -> name, of the workspace the flow comes from.
    :returns: one warning per id the workspace has no such entity for (left as it is: it
        may name something flowkit does not carry, a built-in tool, a deleted flow).
    """
    warnings: list[str] = []

    def visit(
        node_id: str, container: dict[str, Any], key: str, ref: Reference, value: str
    ) -> None:
        name = names.get(ref, {}).get(value)
        if name is not None:
            container[key] = ref.prefix + name
        elif not value.startswith(ref.prefix):
            warnings.append(f"node {node_id!r}: no {ref.noun} has id {value!r}, kept as is")

    _each(data, visit)
    return warnings


def referenced(data: dict[str, Any]) -> list[tuple[str, Reference, str]]:
    """Return ``(node id, reference, name)`` for every name a flow's folder data uses."""
    found: list[tuple[str, Reference, str]] = []

    def visit(
        node_id: str, _container: dict[str, Any], _key: str, ref: Reference, value: str
    ) -> None:
        if value.startswith(ref.prefix):
            found.append((node_id, ref, value.removeprefix(ref.prefix)))

    _each(data, visit)
    return found


def resolved(data: dict[str, Any], ids: Mapping[Reference, Mapping[str, str]]) -> list[Unresolved]:
    """Replace, in place, every prefixed name in a flow's folder data by the target's id,
    and by ``""`` a name the target has no id for (a flow ``apply`` creates later).

    :param ids: per reference, name -> id, of the target workspace.
    :returns: the names the target has no id for, each with its node.
    """
    missing: list[Unresolved] = []

    def visit(
        node_id: str, container: dict[str, Any], key: str, ref: Reference, value: str
    ) -> None:
        if not value.startswith(ref.prefix):
            return
        name = value.removeprefix(ref.prefix)
        found = ids.get(ref, {}).get(name)
        if found is None:
            missing.append(Unresolved(node_id, ref, name))
            container[key] = ""
        else:
            container[key] = found

    _each(data, visit)
    return missing
