"""How Flowise's editor wires two nodes: the handles an edge names, the reference the
target's input gets, and the output a node with several gives.

Pure functions over :class:`~flowkit.model.parts.Node`: :meth:`Chatflow.connect` and
:meth:`Chatflow.remove_edge` use them. A node carrying Flowise's ``inputAnchors`` /
``outputAnchors`` (as loaded nodes and :meth:`Chatflow.add_flowise_node`'s do) is wired by
its anchors' ids; any other by ``<node>-input-<name>`` and ``<node>-output-<name>``.
"""

from __future__ import annotations

from flowkit.errors import FlowValidationError
from flowkit.model.parts import Node

__all__ = [
    "agent_flow_edge_data",
    "agent_flow_source_handle",
    "anchor_id",
    "check_output",
    "choose_output",
    "chosen_output",
    "input_reference",
    "is_agent_flow",
    "link_input",
    "output_names",
    "source_handle",
    "target_handle",
    "unlink_input",
]


def anchor_id(node: Node, key: str, name: str | None) -> str | None:
    anchors = node.data_extra.get(key)
    if not isinstance(anchors, list):
        return None
    entries = [a for a in anchors if isinstance(a, dict)]
    found = [a for a in entries if isinstance(a.get("id"), str)]
    if name is None:
        return str(found[0]["id"]) if len(found) == 1 else None
    for anchor in entries:
        anchor_id = anchor.get("id")
        if isinstance(anchor_id, str) and anchor.get("name") == name:
            return anchor_id
        # A node with several outputs keeps them as the options of one entry, which need
        # not have an id of its own (Flowise's ``{"name": "output", "type": "options"}``).
        options = anchor.get("options")
        for option in options if isinstance(options, list) else []:
            if isinstance(option, dict) and option.get("name") == name:
                chosen = option.get("id") or anchor_id
                if isinstance(chosen, str):
                    return chosen
    return None


def input_reference(source_id: str) -> str:
    """How a Flowise input names the node that feeds it."""
    return "{{" + source_id + ".data.instance}}"


def is_list_input(node: Node, name: str) -> bool:
    anchors = node.data_extra.get("inputAnchors")
    return isinstance(anchors, list) and any(
        isinstance(a, dict) and a.get("name") == name and a.get("list") is True for a in anchors
    )


def link_input(node: Node, name: str, source_id: str) -> None:
    """Make ``node.inputs[name]`` name ``source_id``, as Flowise's editor does on connect."""
    reference = input_reference(source_id)
    current = node.inputs.get(name)
    if isinstance(current, list):
        if reference not in current:
            current.append(reference)
    elif is_list_input(node, name):
        node.inputs[name] = [reference] if current in (None, "") else [current, reference]
    else:
        node.inputs[name] = reference


def unlink_input(node: Node, name: str, source_id: str) -> None:
    """Undo :func:`link_input` when the edge goes: only the reference itself is removed."""
    reference = input_reference(source_id)
    current = node.inputs.get(name)
    if current == reference:
        node.inputs[name] = ""
    elif isinstance(current, list) and reference in current:
        current.remove(reference)


def chosen_output(node: Node) -> str | None:
    """The output a node with several gives (``data.outputs.output``), when it names one."""
    outputs = node.data_extra.get("outputs")
    chosen = outputs.get("output") if isinstance(outputs, dict) else None
    return chosen if isinstance(chosen, str) and chosen else None


def output_names(node: Node) -> list[str]:
    """The output names a node's ``outputAnchors`` declare (options included)."""
    anchors = node.data_extra.get("outputAnchors")
    names: list[str] = []
    for anchor in anchors if isinstance(anchors, list) else []:
        if not isinstance(anchor, dict):
            continue
        options = anchor.get("options")
        if isinstance(options, list):
            names += [str(o["name"]) for o in options if isinstance(o, dict) and "name" in o]
        elif "name" in anchor:
            names.append(str(anchor["name"]))
    return names


def check_output(node: Node, output: str) -> None:
    """:raises FlowValidationError: when the node declares its outputs and ``output`` is not
    one of them."""
    names = output_names(node)
    if names and output not in names:
        raise FlowValidationError(
            f"node {node.id!r} has no output {output!r}; its outputs: {', '.join(names)}"
        )


def choose_output(node: Node, output: str) -> None:
    """Make ``output`` the one a node with several gives, as picking it in Flowise's editor
    does (a node without a choice of outputs is left alone)."""
    outputs = node.data_extra.get("outputs")
    if isinstance(outputs, dict) and "output" in outputs:
        outputs["output"] = output


def source_handle(node: Node, output: str | None) -> str:
    name = output if output is not None else chosen_output(node)
    return anchor_id(node, "outputAnchors", name) or f"{node.id}-output-{output or node.name}"


def target_handle(node: Node, input_name: str | None) -> str:
    if input_name is None:
        return f"{node.id}-input"
    return anchor_id(node, "inputAnchors", input_name) or f"{node.id}-input-{input_name}"


# ---- agent flows (v2) --------------------------------------------------------------------

_CONDITIONS = frozenset({"conditionAgentflow", "conditionAgentAgentflow"})
"""Agent flow nodes whose edges carry the index of the output they leave by as a label."""


def is_agent_flow(node: Node) -> bool:
    """Whether a node is drawn by Flowise's agent flow (v2) canvas (node type ``agentFlow``)."""
    return node.type == "agentFlow"


def agent_flow_source_handle(node: Node, output: str | None) -> str:
    """The handle an agent flow edge leaves ``node`` by: its output anchor ``output`` (an
    output's index, ``"0"``, ``"1"``, ... for a node with several), else its first.

    :raises FlowValidationError: when ``output`` is not one of the node's outputs.
    """
    anchors = node.data_extra.get("outputAnchors")
    ids = [
        str(a["id"])
        for a in (anchors if isinstance(anchors, list) else [])
        if isinstance(a, dict) and isinstance(a.get("id"), str)
    ]
    if output is None:
        return ids[0] if ids else f"{node.id}-output-{node.name}"
    for anchor_id in ids:
        if anchor_id.endswith(f"-output-{output}"):
            return anchor_id
    names = ", ".join(repr(i.rpartition("-output-")[2]) for i in ids) or "none"
    raise FlowValidationError(f"node {node.id!r} has no output {output!r}; its outputs: {names}")


def agent_flow_edge_data(source: Node, target: Node, source_handle: str) -> dict[str, object]:
    """The ``data`` Flowise 3.1's agent flow canvas gives an edge: both nodes' colours, a
    label for an edge leaving a condition (its output's index) or a human input
    (``proceed`` for the first output, ``reject`` for the second), and whether it leaves a
    human input node."""
    data: dict[str, object] = {
        "sourceColor": source.data_extra.get("color"),
        "targetColor": target.data_extra.get("color"),
    }
    index = source_handle.rpartition("-")[2]
    if source.name in _CONDITIONS:
        data["edgeLabel"] = index if index.isdigit() else "0"
    elif source.name == "humanInputAgentflow":
        data["edgeLabel"] = "proceed" if index == "0" else "reject"
    data["isHumanInput"] = source.name == "humanInputAgentflow"
    return data
