"""Flowise's node catalog, and the node Flowise's editor makes from it.

A node a Flowise server can run carries more than its inputs: the list of its input
parameters (``data.inputParams``), the inputs that take another node (``inputAnchors``), its
outputs (``outputAnchors``, whose ids are the edges' handles), its base classes and version.
Flowise's editor writes all of it when a component is dropped on the canvas (``initNode`` in
Flowise's UI); :func:`flowise_node` does the same from the catalog, so a flow built in code
runs on a server as one built in the editor does.

The catalog is data: ``data/flowise-nodes.json.gz``, what a Flowise 3.1.4 server answers on
``GET /api/v1/nodes`` (every component's definition: inputs, outputs, credential, base
classes), less the icon and file paths; ``scripts/flowise_nodes.py`` regenerates it from a
running server. It is read once, on first use (nothing at import time).

Agent flow (v2) components (category ``Agent Flows``) are made as Flowise's agent flow
canvas makes them: node type ``agentFlow``, one output anchor per output named by its index
(``<node>-output-0``), none for inputs (an edge's target handle is the node id), and a
numbered label (``LLM 0``).
"""

from __future__ import annotations

import difflib
import gzip
import json
import re
import threading
from collections.abc import Mapping
from importlib import resources
from typing import Any

from flowkit.errors import FlowValidationError, NotFoundError
from flowkit.model.enums import AGENT_FLOW_CATEGORY
from flowkit.model.jsondata import clone

__all__ = [
    "PARAM_TYPES",
    "NodeCatalog",
    "flowise_node",
    "node_catalog",
]

PARAM_TYPES = frozenset(
    {
        "asyncOptions",
        "asyncMultiOptions",
        "options",
        "multiOptions",
        "array",
        "datagrid",
        "string",
        "number",
        "boolean",
        "password",
        "json",
        "code",
        "date",
        "file",
        "folder",
        "tabs",
        "conditionFunction",
        "timePicker",
        "weekDaysPicker",
        "monthDaysPicker",
        "datePicker",
    }
)
"""Input types Flowise 3.1.4's editor shows as parameters (``inputParams``); an input of any
other type (``BaseChatModel``, ``Document``, ...) takes another node (``inputAnchors``)."""


_FIRST_KEYS = ("label", "version", "name", "type", "baseClasses", "category", "description")


class NodeCatalog:
    """Flowise's component definitions, by component name.

    :param version: the Flowise version the definitions come from.
    :param components: component name -> definition (as ``GET /api/v1/nodes`` gives it).
    """

    def __init__(self, version: str, components: Mapping[str, dict[str, Any]]) -> None:
        self.version = version
        self._components = dict(components)

    def __contains__(self, name: object) -> bool:
        return name in self._components

    def __len__(self) -> int:
        return len(self._components)

    def names(self) -> list[str]:
        """The component names, in the server's order."""
        return list(self._components)

    def definition(self, name: str) -> dict[str, Any]:
        """A copy of the definition of component ``name``.

        :raises NotFoundError: when the catalog has no such component (the message suggests
            close names).
        """
        found = self._components.get(name)
        if found is None:
            raise self.unknown(name, "see flowkit.model.nodedefs.node_catalog().names()")
        copied: dict[str, Any] = clone(found)
        return copied

    def unknown(self, name: str, listing: str) -> NotFoundError:
        """The error for a component ``name`` the catalog does not have: it suggests close
        names, then says where they are all listed (``listing``)."""
        close = difflib.get_close_matches(name, self._components, n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        return NotFoundError(
            f"Flowise {self.version} has no component {name!r}{hint} ({listing})",
            kind="component",
            entity_id=name,
        )


_catalog: NodeCatalog | None = None
_lock = threading.Lock()


def node_catalog() -> NodeCatalog:
    """The catalog shipped with flowkit (read on first call, then kept)."""
    global _catalog
    with _lock:
        if _catalog is None:
            raw = resources.files("flowkit.model").joinpath("data/flowise-nodes.json.gz")
            document = json.loads(gzip.decompress(raw.read_bytes()))
            _catalog = NodeCatalog(str(document["flowise"]), document["components"])
        return _catalog


def flowise_node(
    name: str,
    node_id: str,
    *,
    inputs: Mapping[str, Any] | None = None,
    credential: str | None = None,
    position: Mapping[str, float] | None = None,
    catalog: NodeCatalog | None = None,
) -> dict[str, Any]:
    """Return the Flowise node object the editor makes for component ``name``.

    As Flowise 3.1.4's ``initNode``: every declared input gets its default (``""`` when it
    has none), each input goes to ``inputParams`` or ``inputAnchors`` by its type with the id
    ``<node>-input-<name>-<type>``, the credential comes first among the parameters, and the
    outputs become ``outputAnchors`` (one anchor ``<node>-output-<name>-<base classes>``, or
    one ``options`` anchor listing the outputs of a component with several, the first
    chosen in ``data.outputs``). Each parameter's ``display`` follows its ``show`` / ``hide``
    rules for the inputs given.

    :param inputs: values for the component's declared inputs, over their defaults.
    :param credential: the credential (a server's id, or ``credential:<name>`` in a
        flows-as-code folder).
    :param position: where the node sits on the canvas (``{"x": 0, "y": 0}`` by default).
    :param catalog: the catalog to use (the shipped one by default).
    :raises NotFoundError: when the catalog has no component ``name``.
    :raises FlowValidationError: when an input name is not one the component declares (nor
        the ``<input>Config`` of an input whose options load a configuration, such as an
        agent flow node's ``llmModelConfig``).
    """
    definition = (catalog or node_catalog()).definition(name)
    agent_flow = definition.get("category") == AGENT_FLOW_CATEGORY
    declared: list[dict[str, Any]] = list(definition.pop("inputs", None) or [])
    values = {item["name"]: _default(item) for item in declared}
    configs = {f"{item['name']}Config" for item in declared if item.get("loadConfig")}
    given = dict(inputs or {})
    unknown = [key for key in given if key not in values and key not in configs]
    if unknown:
        raise FlowValidationError(
            f"component {name!r} has no input {', '.join(repr(k) for k in unknown)}; its "
            f"inputs: {', '.join(values) or 'none'}"
        )
    values.update(given)
    params: list[dict[str, Any]] = []
    anchors: list[dict[str, Any]] = []
    for item in declared:
        entry = {**item, "id": f"{node_id}-input-{item['name']}-{item['type']}"}
        (params if item["type"] in PARAM_TYPES else anchors).append(entry)
    credential_def = definition.pop("credential", None)
    if isinstance(credential_def, dict):
        params.insert(
            0,
            {
                **credential_def,
                "id": f"{node_id}-input-{credential_def['name']}-{credential_def['type']}",
            },
        )
    outputs_def = definition.pop("outputs", None)
    output_anchors = (
        _agent_flow_outputs(definition, outputs_def, node_id)
        if agent_flow
        else _output_anchors(definition, outputs_def, node_id)
    )
    for entry in (*params, *anchors):
        _set_display(entry, values)
    data: dict[str, Any] = {"id": node_id}
    data.update((key, definition.pop(key)) for key in _FIRST_KEYS if key in definition)
    data.update(definition)  # badge, tags, hint, ... as the server gave them
    data["inputParams"] = params
    data["inputAnchors"] = anchors
    data["inputs"] = values
    data["outputAnchors"] = output_anchors
    data["outputs"] = (
        {a["name"]: _js_or(a.get("default")) for a in output_anchors}
        if outputs_def is not None
        else {}
    )
    if credential is not None or credential_def is not None:
        data["credential"] = credential if credential is not None else ""
    data["selected"] = False
    if agent_flow:
        data["label"] = _numbered_label(data, node_id)
    return {
        "id": node_id,
        "position": dict(position) if position is not None else {"x": 0, "y": 0},
        "type": "agentFlow" if agent_flow else "customNode",
        "data": data,
    }


def _agent_flow_outputs(
    definition: dict[str, Any], outputs: Any, node_id: str
) -> list[dict[str, Any]]:
    """Flowise's ``createAgentFlowOutputs``: one anchor per output, named by its index."""
    if definition.get("hideOutput"):
        return []
    label, name = definition.get("label"), definition["name"]
    if isinstance(outputs, list) and outputs:
        return [
            {"id": f"{node_id}-output-{index}", "label": label, "name": name}
            for index in range(len(outputs))
        ]
    return [{"id": f"{node_id}-output-{name}", "label": label, "name": name}]


def _numbered_label(data: dict[str, Any], node_id: str) -> str:
    """Flowise's ``getUniqueNodeLabel`` for a node's ``data``: ``LLM 0`` for
    ``llmAgentflow_0`` (the start node and sticky notes keep their label)."""
    label = str(data.get("label", data["name"]))
    if data.get("type") == "StickyNote" or data["name"] == "startAgentflow":
        return label
    suffix = node_id.rpartition("_")[2]
    return f"{label} {suffix}" if suffix.isdigit() else label


def _output_anchors(definition: dict[str, Any], outputs: Any, node_id: str) -> list[dict[str, Any]]:
    """Flowise's ``createStandardOutputs``."""
    if definition.get("hideOutput"):
        return []
    if isinstance(outputs, list) and outputs:
        options = [_output_option(output, node_id) for output in outputs]
        return [
            {
                "name": "output",
                "label": "Output",
                "type": "options",
                "description": outputs[0].get("description") or "",
                "options": options,
                "default": outputs[0]["name"],
            }
        ]
    classes = [str(c) for c in definition.get("baseClasses") or []]
    return [
        {
            "id": f"{node_id}-output-{definition['name']}-{'|'.join(classes)}",
            "name": definition["name"],
            "label": definition.get("type", definition["name"]),
            "description": definition.get("description") or "",
            "type": " | ".join(classes),
        }
    ]


def _output_option(output: dict[str, Any], node_id: str) -> dict[str, Any]:
    """Flowise's ``createOutputOption`` (``isAnchor`` and ``hidden`` only when set)."""
    classes = [str(c) for c in output.get("baseClasses") or []]
    option = {
        "id": f"{node_id}-output-{output['name']}-{'|'.join(classes)}",
        "name": output["name"],
        "label": output.get("label"),
        "description": output.get("description") or "",
        "type": " | ".join(classes),
    }
    for key in ("isAnchor", "hidden"):
        if key in output:
            option[key] = output[key]
    return option


def _js_truthy(value: Any) -> bool:
    """JavaScript's truthiness (``[]`` and ``{}`` are true there)."""
    if value is None or value is False:
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value == value and value != 0  # NaN and 0 are false
    if isinstance(value, str):
        return value != ""
    return True


def _js_or(value: Any) -> Any:
    """``value || ''``."""
    return value if _js_truthy(value) else ""


def _default(item: dict[str, Any]) -> Any:
    """An input's initial value, as ``initializeDefaultNodeData``: ``default || ''``."""
    return clone(_js_or(item.get("default")))


def _set_display(entry: dict[str, Any], values: Mapping[str, Any]) -> None:
    """Flowise's show/hide: ``display`` is false when a ``show`` rule fails or a ``hide``
    rule holds for the inputs; an ``options`` list drops the options hidden so."""
    entry["display"] = _shown(entry, values)
    options = entry.get("options")
    if entry.get("type") == "options" and isinstance(options, list):
        entry["options"] = [
            option
            for option in options
            if not isinstance(option, dict)
            or ("show" not in option and "hide" not in option)
            or _shown(option, values)
        ]


def _shown(rules: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    for kind in ("show", "hide"):
        conditions = rules.get(kind)
        if not isinstance(conditions, dict):
            continue
        for path, expected in conditions.items():
            held = _holds(expected, _ground(values, str(path)))
            if (kind == "show" and not held) or (kind == "hide" and held):
                return False
    return True


def _ground(values: Mapping[str, Any], path: str) -> Any:
    """``lodash.get(inputs, path, '')``, a JSON array string read as the array."""
    current: Any = values
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return ""
    if isinstance(current, str) and current.startswith("[") and current.endswith("]"):
        try:
            return json.loads(current)
        except ValueError:
            return current
    return current


def _js_string(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


def _matches(pattern: str, value: Any) -> bool:
    """``pattern === value || new RegExp(pattern).test(value)``."""
    if pattern == value:
        return True
    try:
        return re.search(pattern, _js_string(value)) is not None
    except re.error:
        return False


def _holds(expected: Any, ground: Any) -> bool:
    """Whether one show/hide condition matches the input's value (Flowise's cases)."""
    if isinstance(ground, list):
        if isinstance(expected, list):
            return any(item in ground for item in expected)
        if isinstance(expected, str):
            return any(_matches(expected, item) for item in ground)
        return expected in ground
    if isinstance(expected, list):
        return ground in expected
    if isinstance(expected, str):
        return _matches(expected, ground)
    if isinstance(expected, bool) or isinstance(ground, bool):
        return expected is ground  # JavaScript's ===: true is not 1
    return bool(expected == ground)
