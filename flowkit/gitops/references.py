"""Tools referenced by name: a flow's node names the custom tool it uses, a server knows it
by id.

Flowise's Custom Tool node keeps the tool's id in ``inputs.selectedTool`` (an agent flow's
tool config keeps it under the same key, deeper). Tool ids differ from one server to the
next, so a pulled file writes ``"tool:<name>"`` (:data:`PREFIX` then the tool's name) and
``apply`` puts back the id the target has by that name, once the folder's own tools are
created there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["PREFIX", "TOOL_KEY", "referenced_tools", "tools_named", "tools_resolved"]

PREFIX = "tool:"
"""How a file names a custom tool: ``"tool:calculator"``."""

TOOL_KEY = "selectedTool"
"""The key, at any depth of a node's ``data``, that holds a custom tool's id."""


def _each(data: dict[str, Any], visit: Callable[[str, dict[str, Any], str], None]) -> None:
    """Call ``visit(node_id, container, value)`` for every non-empty string under
    :data:`TOOL_KEY` in a flow's nodes (no recursion)."""
    nodes = data.get("nodes")
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict):
            continue
        pending: list[Any] = [node.get("data")]
        while pending:
            item = pending.pop()
            if isinstance(item, dict):
                for key, inner in item.items():
                    if key == TOOL_KEY and isinstance(inner, str) and inner:
                        visit(str(node.get("id")), item, inner)
                    elif isinstance(inner, dict | list):
                        pending.append(inner)
            elif isinstance(item, list):
                pending.extend(inner for inner in item if isinstance(inner, dict | list))


def tools_named(data: dict[str, Any], names: Mapping[str, str]) -> list[str]:
    """Replace, in place, every tool id in a flow's folder data by ``"tool:<name>"``.

    :param names: tool id -> name, of the workspace the flow comes from.
    :returns: one warning per id the workspace has no tool for (left as it is: it may name
        a built-in tool, not a custom one).
    """
    warnings: list[str] = []

    def visit(node_id: str, container: dict[str, Any], value: str) -> None:
        name = names.get(value)
        if name is not None:
            container[TOOL_KEY] = PREFIX + name
        elif not value.startswith(PREFIX):
            warnings.append(f"node {node_id!r}: no custom tool has id {value!r}, kept as is")

    _each(data, visit)
    return warnings


def referenced_tools(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Return ``(node id, tool name)`` for every tool a flow's folder data names."""
    found: list[tuple[str, str]] = []

    def visit(node_id: str, _container: dict[str, Any], value: str) -> None:
        if value.startswith(PREFIX):
            found.append((node_id, value.removeprefix(PREFIX)))

    _each(data, visit)
    return found


def tools_resolved(data: dict[str, Any], ids: Mapping[str, str]) -> list[str]:
    """Replace, in place, every ``"tool:<name>"`` in a flow's folder data by the tool's id.

    :param ids: tool name -> id, of the target workspace.
    :returns: one problem per name the target has no tool for, naming the node.
    """
    problems: list[str] = []

    def visit(node_id: str, container: dict[str, Any], value: str) -> None:
        if not value.startswith(PREFIX):
            return
        name = value.removeprefix(PREFIX)
        tool_id = ids.get(name)
        if tool_id is None:
            problems.append(f"node {node_id!r} uses tool {name!r}, which the target has not")
        else:
            container[TOOL_KEY] = tool_id

    _each(data, visit)
    return problems
