"""What the fuzz tests share: their two budgets, seed flows and tools, mutations of Flowise
exports, nasty values, and JSON helpers that never recurse (so that they work on the 10,000
levels deep structures the tests feed in).

Budgets are hypothesis profiles, chosen by the ``FLOWKIT_FUZZ_PROFILE`` variable:
``fuzz-ci`` (the default: the small fixed budget ``make test`` runs) or ``fuzz-long``
(``make fuzz``). Each test asks :func:`budget` for its share of the profile.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from flowise_data import flowise_edge, flowise_node
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from flowkit import Chatflow, FlowType, FlowValidationError, Tool

T = TypeVar("T")

# ---- budgets --------------------------------------------------------------------------------

PROFILE_VARIABLE = "FLOWKIT_FUZZ_PROFILE"
_CHECKS = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
    HealthCheck.function_scoped_fixture,  # tmp_path and monkeypatch are reused on purpose
    HealthCheck.filter_too_much,
]
settings.register_profile("fuzz-ci", max_examples=150, deadline=None, suppress_health_check=_CHECKS)
settings.register_profile(
    "fuzz-long", max_examples=5000, deadline=None, suppress_health_check=_CHECKS
)
PROFILE = os.environ.get(PROFILE_VARIABLE, "fuzz-ci")
FUZZ = settings.get_profile(PROFILE)  # an unknown name fails here, naming the choices


def budget(share: float = 1.0) -> settings:
    """The profile's settings with ``share`` of its examples (at least 5)."""
    return settings(FUZZ, max_examples=max(5, round(FUZZ.max_examples * share)))


# ---- JSON helpers (iterative) ---------------------------------------------------------------

JsonPath = tuple[str | int, ...]


def json_paths(doc: Any) -> list[JsonPath]:
    """Every path to a value inside ``doc`` (dict keys and list indexes), parents first."""
    found: list[JsonPath] = []
    pending: list[tuple[JsonPath, Any]] = [((), doc)]
    while pending:
        prefix, value = pending.pop()
        if isinstance(value, dict):
            items: list[tuple[str | int, Any]] = list(value.items())
        elif isinstance(value, list):
            items = list(enumerate(value))
        else:
            continue
        for key, inner in items:
            found.append((*prefix, key))
            pending.append(((*prefix, key), inner))
    return found


def parent_of(doc: Any, path: JsonPath) -> Any:
    for key in path[:-1]:
        doc = doc[key]
    return doc


def copy_json(value: Any) -> Any:
    """Deep-copy dicts and lists without recursion (other values are shared)."""
    if not isinstance(value, dict | list):
        return value
    top: Any = {} if isinstance(value, dict) else []
    pending = [(value, top)]
    while pending:
        source, target = pending.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, inner in items:
            if isinstance(inner, dict | list):
                inner_copy: Any = {} if isinstance(inner, dict) else []
                pending.append((inner, inner_copy))
                inner = inner_copy
            if isinstance(target, list):
                target.append(inner)
            else:
                target[key] = inner
    return top


def json_difference(a: Any, b: Any) -> str | None:
    """Where ``a`` and ``b`` differ (types, key order, values; NaN equals NaN), or None.

    Compares without recursion, so any depth works.
    """
    pending: list[tuple[JsonPath, Any, Any]] = [((), a, b)]
    while pending:
        path, x, y = pending.pop()
        if type(x) is not type(y):
            return f"at {list(path)}: {type(x).__name__} != {type(y).__name__}"
        if isinstance(x, dict):
            if list(x) != list(y):
                return f"at {list(path)}: keys {list(x)[:10]!r} != {list(y)[:10]!r}"
            pending.extend(((*path, k), x[k], y[k]) for k in x)
        elif isinstance(x, list):
            if len(x) != len(y):
                return f"at {list(path)}: {len(x)} items != {len(y)}"
            pending.extend(((*path, i), p, q) for i, (p, q) in enumerate(zip(x, y, strict=True)))
        elif isinstance(x, float) and math.isnan(x):
            if not math.isnan(y):
                return f"at {list(path)}: nan != {y!r}"
        elif x != y:
            return f"at {list(path)}: {short(x)} != {short(y)}"
    return None


def is_plain_json(value: Any) -> bool:
    """Whether ``value`` holds only what JSON text can: dicts with str keys, lists, str,
    int, float, bool and None (no tuples, bytes, ...)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if type(item) is dict:
            if not all(type(k) is str for k in item):
                return False
            pending.extend(item.values())
        elif type(item) is list:
            pending.extend(item)
        elif type(item) not in (str, int, float, bool, type(None)):
            return False
    return True


def short(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters."""
    try:
        text = repr(value)
    except ValueError:  # an int with more digits than Python converts to text
        text = f"<{type(value).__name__} too large to show>"
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


def deep_value(depth: int, shape: str) -> Any:
    """A value with ``depth`` nested lists or dicts (``shape``: list, dict or mixed), built
    without recursion."""
    value: Any = "bottom"
    for level in range(depth):
        use_dict = shape == "dict" or (shape == "mixed" and level % 2 == 1)
        value = {"d": value} if use_dict else [value]
    return value


def deep_text(depth: int, shape: str) -> str:
    """The JSON text of :func:`deep_value` (built as text: ``json.dumps`` would recurse)."""
    opens: list[str] = []
    closes: list[str] = []
    for level in range(depth):
        use_dict = shape == "dict" or (shape == "mixed" and level % 2 == 1)
        opens.append('{"d": ' if use_dict else "[")
        closes.append("}" if use_dict else "]")
    return "".join(reversed(opens)) + '"bottom"' + "".join(closes)


# ---- checking what a loader did -------------------------------------------------------------


def assert_refusal(exc: BaseException) -> FlowValidationError:
    """Assert that ``exc`` is a FlowValidationError that names its problems."""
    if not isinstance(exc, FlowValidationError):
        raise AssertionError(
            f"only FlowValidationError may escape, got {type(exc).__name__}: {short(exc, 300)}"
        ) from exc
    assert str(exc).strip(), "a FlowValidationError without a message"
    assert exc.problems, "a FlowValidationError without problems"
    for problem in exc.problems:
        assert isinstance(problem, str), f"a problem that is not a string: {problem!r}"
        assert problem.strip(), f"an empty problem in {exc.problems!r}"
    return exc


def load_or_refuse(load: Callable[[Any], T], source: Any) -> T | None:
    """``load(source)``, or None when it refused with a well-formed FlowValidationError."""
    try:
        return load(source)
    except Exception as exc:
        assert_refusal(exc)
        return None


# ---- nasty values ---------------------------------------------------------------------------

NASTY_STRINGS = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",  # lone surrogates: legal in a Python str and in JSON text, not in UTF-8
    "\udfff",
    "x\udc80y",
    "\u202eevil\u202c",  # right-to-left override
    "\u2067\u05e9\u05dc\u05d5\u05dd\u2069",
    "\u200f",
    "\u200b",
    "\U0001f99c\U0001f517",  # emoji
    "\U0001f469\u200d\U0001f469\u200d\U0001f467",  # one family, five code points
    "\ufeff",
    "e\u0301",
    "Z\u0324\u0354\u0367\u0311\u0353",
    "\n",
    "\r\n",
    "\t",
    "'",
    '"',
    "\\",
    "{{chatOpenAI_0.instance}}",
    "__proto__",
    "constructor",
    "-",
    "-input-",
    "-output-",
    "None",
    "null",
    "NaN",
    "Infinity",
    "1e999",
    "\u2028",
    "\x85",
    "\ufb01",
    "\u0130",
    "\xdf",
    "chatOpenAI_0",
    "llmChain_0",
)
"""Strings that have broken parsers before: NUL, lone surrogates, RTL marks, emoji, ..."""

any_text = st.text(st.characters(exclude_categories=()), max_size=12)  # surrogates included
unicode_text = st.one_of(
    st.sampled_from(NASTY_STRINGS),
    any_text,
    st.lists(st.sampled_from(NASTY_STRINGS), min_size=2, max_size=4).map("".join),
)
# Ids worth keeping a flow working with: never empty.
unicode_ids = unicode_text.filter(bool)


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_VALID_NASTY = tuple(s for s in NASTY_STRINGS if s and _is_unicode(s))
valid_unicode_ids = st.one_of(
    st.sampled_from(_VALID_NASTY),
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12),
    st.lists(st.sampled_from(_VALID_NASTY), min_size=2, max_size=4).map("".join),
)
"""Ids a flow can have: never empty, no lone surrogates (pydantic, so flowkit, refuses them
in every str field)."""

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63, max_value=2**300),
    st.floats(allow_nan=True, allow_infinity=True),
    unicode_text,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(unicode_text, inner, max_size=3),
    max_leaves=8,
)
wrong_values = st.one_of(
    json_values,
    st.just(float("nan")),
    st.just(float("inf")),
    st.just(10**4000),  # under the 4300 digits int() takes; damaged_text goes over
    st.builds(list),  # fresh each time: later mutations change it in place
    st.builds(dict),
    st.builds(lambda: {"": None}),
)
"""Anything that may stand where a Flowise value should: every JSON type, NaN, huge ints."""

python_only_values = st.one_of(
    st.binary(max_size=8),
    st.tuples(st.integers(), st.text(max_size=3)),
    st.frozensets(st.integers(), max_size=3),
    st.just(object()),
)
"""Values a mapping (not JSON text) can carry."""

FLOWISE_KEYS = (
    "id",
    "data",
    "type",
    "position",
    "parentNode",
    "source",
    "target",
    "sourceHandle",
    "targetHandle",
    "label",
    "name",
    "category",
    "inputs",
    "credential",
    "outputs",
    "nodes",
    "edges",
    "flowData",
    "viewport",
    "createdDate",
    "updatedDate",
    "schema",
    "func",
    "description",
    "usecases",
)
flowish = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FLOWISE_KEYS) | unicode_text, inner, max_size=6)
    ),
    max_leaves=40,
)
"""Random JSON shaped like Flowise's: its keys at every level, any values under them."""


# ---- seeds ----------------------------------------------------------------------------------


def _flow(nodes: list[dict[str, Any]], edges: list[tuple[str, str, str]]) -> dict[str, Any]:
    return {
        "nodes": nodes,
        "edges": [flowise_edge(*edge) for edge in edges],
        "viewport": {"x": 10, "y": 20, "zoom": 0.75},
    }


def seed_chatflows() -> dict[str, dict[str, Any]]:
    """Small valid flows of every kind, written here so that the fuzz runs without the
    marketplace: a chain, a retrieval flow with a sticky note, a looping agent flow, a
    multi-agent flow and a diamond."""
    node = flowise_node
    return {
        "llm-chain": _flow(
            [
                node("chatOpenAI_0", "chatOpenAI", "Chat Models", inputs={"temperature": 0.9}),
                node("promptTemplate_0", "promptTemplate", "Prompts", inputs={"template": "{q}"}),
                node("llmChain_0", "llmChain", "Chains", inputs={"model": "{{chatOpenAI_0}}"}),
            ],
            [
                ("chatOpenAI_0", "llmChain_0", "model"),
                ("promptTemplate_0", "llmChain_0", "prompt"),
            ],
        ),
        "retrieval": _flow(
            [
                node("textFile_0", "textFile", "Document Loaders"),
                node("openAIEmbeddings_0", "openAIEmbeddings", "Embeddings"),
                node("faiss_0", "faiss", "Vector Stores", inputs={"fileUpload": True}),
                node("chatOpenAI_0", "chatOpenAI", "Chat Models"),
                node("retrievalQAChain_0", "retrievalQAChain", "Chains"),
                node("stickyNote_0", "stickyNote", "Utilities", node_type="stickyNote"),
            ],
            [
                ("textFile_0", "faiss_0", "document"),
                ("openAIEmbeddings_0", "faiss_0", "embeddings"),
                ("faiss_0", "retrievalQAChain_0", "vectorStoreRetriever"),
                ("chatOpenAI_0", "retrievalQAChain_0", "model"),
            ],
        ),
        "agentflow": _flow(
            [
                node("startAgentflow_0", "startAgentflow", "Agent Flows"),
                node("llmAgentflow_0", "llmAgentflow", "Agent Flows"),
                node("conditionAgentflow_0", "conditionAgentflow", "Agent Flows"),
                node("loopAgentflow_0", "loopAgentflow", "Agent Flows"),
                node("directReplyAgentflow_0", "directReplyAgentflow", "Agent Flows"),
            ],
            [
                ("startAgentflow_0", "llmAgentflow_0", "input"),
                ("llmAgentflow_0", "conditionAgentflow_0", "input"),
                ("conditionAgentflow_0", "loopAgentflow_0", "input"),
                ("loopAgentflow_0", "llmAgentflow_0", "input"),
                ("conditionAgentflow_0", "directReplyAgentflow_0", "input"),
            ],
        ),
        "multiagent": _flow(
            [
                node("chatOpenAI_0", "chatOpenAI", "Chat Models"),
                node("supervisor_0", "supervisor", "Multi Agents"),
                node("worker_0", "worker", "Multi Agents", outputs={"output": "EndingNode"}),
            ],
            [("chatOpenAI_0", "supervisor_0", "model"), ("supervisor_0", "worker_0", "supervisor")],
        ),
        "diamond": _flow(
            [
                node("a_0", "a", "Chat Models"),
                node("b_0", "b", "Tools"),
                node("c_0", "c", "Tools"),
                node("d_0", "d", "Tools"),
                node("toolAgent_0", "toolAgent", "Agents"),
            ],
            [
                ("a_0", "b_0", "x"),
                ("a_0", "c_0", "x"),
                ("b_0", "d_0", "y"),
                ("c_0", "d_0", "z"),
                ("d_0", "toolAgent_0", "tools"),
            ],
        ),
    }


def seed_tools() -> dict[str, dict[str, Any]]:
    """Tool exports: the marketplace shape, an API record with a list schema, extra keys."""
    return {
        "export": {
            "name": "send_message",
            "description": "Send a message to a channel",
            "color": "linear-gradient(rgb(1,2,3), rgb(4,5,6))",
            "iconSrc": "https://example.com/icon.svg",
            "schema": '[{"id":0,"property":"text","description":"message","type":"string"}]',
            "func": "return $text;",
        },
        "record": {
            "id": "2a1c0b8e-0d3c-4b5e-9f0a-1b2c3d4e5f60",
            "name": "lookup",
            "description": "",
            "color": None,
            "iconSrc": None,
            "schema": [{"property": "q", "type": "string", "required": True}],
            "func": None,
            "createdDate": "2024-05-01T10:00:00.000Z",
            "workspaceId": "w1",
        },
    }


def marketplace_seeds(files: list[Path]) -> dict[str, dict[str, Any]]:
    """The marketplace exports, parsed once, by file stem."""
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in files}


# ---- mutations ------------------------------------------------------------------------------


def _dicts(items: Any) -> list[dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _str_ids(items: Any) -> list[str]:
    return [i["id"] for i in _dicts(items) if isinstance(i.get("id"), str)]


def ancestors(edges: list[dict[str, Any]], node_id: str) -> list[str]:
    """The node ids that reach ``node_id`` through ``edges`` (without recursion)."""
    parents: dict[str, list[str]] = {}
    for edge in edges:
        source, target = edge.get("source"), edge.get("target")
        if isinstance(source, str) and isinstance(target, str):
            parents.setdefault(target, []).append(source)
    seen: dict[str, None] = {}
    pending = list(parents.get(node_id, []))
    while pending:
        current = pending.pop()
        if current not in seen:
            seen[current] = None
            pending.extend(parents.get(current, []))
    return list(seen)


def rename_node(doc: dict[str, Any], old: str, new: str) -> None:
    """Give node ``old`` the id ``new`` everywhere an id refers to it (not inside handles)."""
    for node in _dicts(doc.get("nodes")):
        if node.get("id") == old:
            node["id"] = new
            data = node.get("data")
            if isinstance(data, dict) and data.get("id") == old:
                data["id"] = new
        if node.get("parentNode") == old:
            node["parentNode"] = new
    for edge in _dicts(doc.get("edges")):
        for end in ("source", "target"):
            if edge.get(end) == old:
                edge[end] = new


MUTATIONS = (
    "retype",
    "delete",
    "unicode",
    "huge",
    "python-value",
    "duplicate-node",
    "duplicate-edge",
    "dangling",
    "drop-node",
    "cycle",
    "self-loop",
    "rename",
)


def mutate(draw: st.DrawFn, doc: Any, kinds: tuple[str, ...] = MUTATIONS) -> str:
    """Apply one random mutation to ``doc`` in place and say what it was."""
    kind = draw(st.sampled_from(kinds))
    paths = json_paths(doc)
    nodes = _dicts(doc.get("nodes")) if isinstance(doc, dict) else []
    edges = _dicts(doc.get("edges")) if isinstance(doc, dict) else []
    node_ids = _str_ids(nodes)
    if kind in ("retype", "unicode", "huge", "python-value") and paths:
        if kind == "huge":
            strings = [p for p in paths if isinstance(parent_of(doc, p)[p[-1]], str)]
            paths = strings or paths
        path = draw(st.sampled_from(paths))
        value: Any = {
            "retype": wrong_values,
            "unicode": unicode_text,
            "python-value": python_only_values,
            "huge": st.sampled_from([1_000, 100_000, 1_000_000]).map(lambda n: "x" * n),
        }[kind]
        parent_of(doc, path)[path[-1]] = draw(value)
        return f"{kind} at {list(path)}"
    if kind == "delete" and paths:
        path = draw(st.sampled_from(paths))
        del parent_of(doc, path)[path[-1]]
        return f"delete {list(path)}"
    if kind == "duplicate-node" and nodes:
        copy = copy_json(draw(st.sampled_from(nodes)))
        doc["nodes"].insert(draw(st.integers(0, len(doc["nodes"]))), copy)
        return f"duplicate node {copy.get('id')!r}"
    if kind == "duplicate-edge" and edges:
        copy = copy_json(draw(st.sampled_from(edges)))
        doc["edges"].append(copy)
        return f"duplicate edge {copy.get('id')!r}"
    if kind == "dangling" and edges:
        edge = draw(st.sampled_from(edges))
        end = draw(st.sampled_from(["source", "target"]))
        edge[end] = draw(unicode_ids.filter(lambda i: i not in node_ids))
        return f"dangling {end} {edge[end]!r}"
    if kind == "drop-node" and nodes:
        dropped = draw(st.sampled_from(nodes))
        doc["nodes"] = [n for n in doc["nodes"] if n is not dropped]
        return f"drop node {dropped.get('id')!r}"
    if kind == "cycle" and edges:
        edge = draw(st.sampled_from(edges))
        source = edge.get("source")
        above = ancestors(edges, source) if isinstance(source, str) else []
        edge["target"] = draw(st.sampled_from(above)) if above else source
        return f"rewire {edge.get('id')!r} to {edge['target']!r}"
    if kind == "self-loop" and node_ids and isinstance(doc.get("edges"), list):
        node_id = draw(st.sampled_from(node_ids))
        doc["edges"].append({"source": node_id, "target": node_id, "id": f"{node_id}-loop"})
        return f"self-loop on {node_id!r}"
    if kind == "rename" and node_ids:
        old = draw(st.sampled_from(node_ids))
        new = draw(unicode_text)
        rename_node(doc, old, new)
        return f"rename {old!r} to {new!r}"
    return f"{kind} (nothing to change)"


@st.composite
def mutated(
    draw: st.DrawFn,
    seeds: dict[str, dict[str, Any]],
    *,
    most: int = 3,
    kinds: tuple[str, ...] = MUTATIONS,
) -> tuple[str, Any, list[str]]:
    """A seed (its name, the mutated copy, what was done to it) with 0 to ``most``
    mutations."""
    name = draw(st.sampled_from(sorted(seeds)))
    doc = copy_json(seeds[name])
    done = [mutate(draw, doc, kinds) for _ in range(draw(st.integers(0, most)))]
    return name, doc, done


# ---- wrappers and forms -------------------------------------------------------------------

WRAPPERS = ("flowData", "record-text", "record-dict", "template")
FORMS = ("dict", "text", "text-ascii", "bytes", "bytes-utf16", "path", "path-str")


def json_text(doc: Any, *, ascii_only: bool = False) -> str | None:
    """The JSON text of ``doc``, or None when it has none (bytes, huge ints, ...)."""
    try:
        return json.dumps(doc, ensure_ascii=ascii_only)
    except (TypeError, ValueError):
        return None


def wrap(flow_data: Any, wrapper: str) -> Any:
    """``flow_data`` as Flowise ships it: as is, in an API record, or as a template."""
    if wrapper == "record-text":
        text = json_text(flow_data, ascii_only=True)
        return {
            "id": "0e4f2c1a-7b3d-4c5e-8f9a-0b1c2d3e4f50",
            "name": "Fuzzed",
            "flowData": text if text is not None else flow_data,
            "deployed": False,
            "createdDate": "2024-05-01T10:00:00.000Z",
        }
    if wrapper == "record-dict":
        return {"id": "5d6e7f80-1a2b-4c3d-9e8f-7a6b5c4d3e2f", "flowData": flow_data}
    if wrapper == "template" and isinstance(flow_data, dict):
        return {"description": "fuzzed", "usecases": ["Fuzz"], **flow_data}
    return flow_data


def as_source(doc: Any, form: str, folder: Path) -> Any:
    """``doc`` given to a loader as a mapping, JSON text, bytes or a file (falls back to the
    mapping when ``doc`` has no JSON text)."""
    if form == "dict":
        return doc
    text = json_text(doc, ascii_only=form == "text-ascii")
    if text is None:
        return doc
    if form in ("text", "text-ascii"):
        return text
    # A str with lone surrogates becomes invalid UTF-8: a loader must refuse it cleanly.
    data = (
        text.encode("utf-16", "surrogatepass")
        if form == "bytes-utf16"
        else text.encode("utf-8", "surrogatepass")
    )
    if form.startswith("bytes"):
        return data
    path = folder / "fuzzed flow \U0001f99c.json"
    path.write_bytes(data)
    return path if form == "path" else str(path)


def iter_sample(items: list[T], most: int) -> Iterator[T]:
    """At most ``most`` of ``items``, spread over the list (first and last included)."""
    if len(items) <= most:
        yield from items
        return
    step = (len(items) - 1) / (most - 1)
    for i in range(most):
        yield items[round(i * step)]


# ---- flows built in code --------------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
json_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
"""Small JSON values (NaN excluded: it never equals itself)."""
component_names = st.lists(
    st.sampled_from(["chatOpenAI", "LlamaIndex", "faiss", "x", "0", "v2"]), min_size=1, max_size=3
).map("_".join)
_input_values = st.dictionaries(st.text(max_size=8), json_values, max_size=3)
_data_fields: st.SearchStrategy[dict[str, Any]] = st.dictionaries(
    st.sampled_from(["version", "description", "outputs"]), json_values
)
_target_inputs = st.lists(st.sampled_from(["model", "memory", "tools"]), max_size=2, unique=True)
_categories = st.sampled_from([None, "Chains", "Chat Models", "Vector Stores", "Agents", "Tools"])


@st.composite
def built_flows(draw: st.DrawFn) -> Chatflow:
    """A flow made with the builder: random components, inputs, sticky notes and edges,
    parallel edges between the same pair through different target inputs among them."""
    flow = Chatflow(name=draw(st.text(max_size=10)))
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.integers(0, 4)) == 0:
            flow.add_node(
                "stickyNote",
                type="stickyNote",
                category="Utilities",
                inputs={"note": draw(st.text(max_size=20))},
            )
            continue
        flow.add_node(
            draw(component_names),
            category=draw(_categories),
            label=draw(st.none() | st.text(max_size=10)),
            inputs=draw(_input_values),
            credential=draw(st.none() | st.text(min_size=1, max_size=8)),
            **draw(_data_fields),
        )
    ids = [n.id for n in flow.nodes]
    for _ in range(draw(st.integers(0, 8))):
        source, target = draw(st.sampled_from(ids)), draw(st.sampled_from(ids))
        for target_input in draw(_target_inputs):
            if not any(
                e.source == source and e.target == target and e.target_input == target_input
                for e in flow.edges
            ):
                flow.connect(source, target, target_input)
    return flow


@st.composite
def recorded_flows(draw: st.DrawFn) -> Chatflow:
    """A built flow with every field of a Flowise API record set at random as well."""
    flow = draw(built_flows())
    flow.type = draw(st.sampled_from(list(FlowType)))
    flow.deployed = draw(st.none() | st.booleans())
    flow.is_public = draw(st.none() | st.booleans())
    flow.apikeyid = draw(st.none() | st.text(max_size=8))
    flow.chatbot_config = draw(st.none() | st.text(max_size=12))
    flow.api_config = draw(st.none() | st.text(max_size=12))
    flow.category = draw(st.none() | st.text(max_size=8))
    flow.flow_extra = draw(st.dictionaries(st.sampled_from(["viewport", "x", "ü"]), json_values))
    flow.record_extra = draw(
        st.dictionaries(st.sampled_from(["workspaceId", "speechToText", "analytic"]), json_values)
    )
    return flow


tools = st.builds(
    Tool,
    name=st.text(min_size=1, max_size=10),
    description=st.text(max_size=10),
    color=st.none() | st.text(max_size=6),
    icon_src=st.none() | st.text(max_size=6),
    input_schema=st.none() | st.text(max_size=10) | st.lists(json_values, max_size=3),
    func=st.none() | st.text(max_size=10),
    extra=st.dictionaries(st.sampled_from(["workspaceId", "updatedDate", "é"]), json_values),
)
"""Tools built in code, every field at random."""
