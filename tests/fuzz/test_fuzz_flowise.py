"""Fuzzing the Flowise loaders: mutated marketplace exports and seed flows, random and
damaged JSON, deep nesting, huge strings, unicode, duplicate and dangling ids, cycles.

What every example checks:

- ``Chatflow.from_flowise`` and ``Tool.from_flowise`` load, or raise ``FlowValidationError``
  with a message and its problems; no other exception escapes (no ``KeyError``,
  ``TypeError``, ``RecursionError``, ``UnicodeError``, pydantic ``ValidationError``...).
- What loads round-trips: ``to_flowise()`` of it, loaded again, exports the same.
- A loaded flow's questions (``check``, ``ending_nodes``, ``run_order``, ``upstream``,
  ``resolve_stop_node``) raise nothing but ``FlowkitError``.
- ``Workspace.create_chatflow`` saves a flow, sending ``chatflow_created`` once, exactly when
  ``check()`` passes; a workspace that refused one is unchanged and sent no signal.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from conftest import marketplace_files
from hypothesis import event, given, note
from hypothesis import strategies as st

from flowkit import (
    Chatflow,
    FlowkitError,
    FlowType,
    FlowValidationError,
    Tool,
    Workspace,
    signals,
)
from flowkit.flowise import MAX_DEPTH

from .strategies import (
    FORMS,
    MUTATIONS,
    WRAPPERS,
    ancestors,
    as_source,
    assert_refusal,
    budget,
    copy_json,
    deep_text,
    deep_value,
    flowish,
    is_plain_json,
    iter_sample,
    json_difference,
    json_paths,
    load_or_refuse,
    marketplace_seeds,
    mutated,
    parent_of,
    rename_node,
    seed_chatflows,
    seed_tools,
    short,
    valid_unicode_ids,
    wrap,
    wrong_values,
)

SEED_CHATFLOWS = seed_chatflows()
SEED_TOOLS = seed_tools()
MARKETPLACE_CHATFLOWS = marketplace_seeds(marketplace_files("chatflows"))
MARKETPLACE_TOOLS = marketplace_seeds(marketplace_files("tools"))
ALL_CHATFLOWS = {**SEED_CHATFLOWS, **MARKETPLACE_CHATFLOWS}
ALL_TOOLS = {**SEED_TOOLS, **MARKETPLACE_TOOLS}
CHATFLOW_TYPED = sorted(  # seeds whose flows are plain CHATFLOWs (cycles are errors there)
    name
    for name, doc in ALL_CHATFLOWS.items()
    if Chatflow.from_flowise(doc).type is FlowType.CHATFLOW
)

MOST_NODES_ASKED = 40
"""``run_order`` and friends are asked of at most this many nodes per flow."""


# ---- the checks -------------------------------------------------------------------------------


def ask(question: Any, *args: Any) -> Any:
    """``question(*args)``; a FlowkitError with a message gives None, any other exception
    fails the test."""
    try:
        answer = question(*args)
    except Exception as exc:
        if not isinstance(exc, FlowkitError):
            raise AssertionError(
                f"{getattr(question, '__name__', question)} raised {type(exc).__name__}, "
                f"not a FlowkitError: {short(exc, 300)}"
            ) from exc
        message = f"{type(exc).__name__}: {exc}"
    else:
        return answer
    assert message.split(":", 1)[1].strip(), f"{message} has no message"
    return None


@contextlib.contextmanager
def recorded_signals() -> Iterator[list[tuple[str, int]]]:
    """Record ``(signal name, id(sender))`` for every flowkit signal sent in the block."""
    sent: list[tuple[str, int]] = []
    with contextlib.ExitStack() as stack:
        for signal in signals.SIGNALS:

            def receiver(sender: object, *, _name: str = signal.name, **kwargs: Any) -> None:
                sent.append((_name, id(sender)))

            stack.enter_context(signal.connected_to(receiver))
        yield sent


def check_round_trip(flow: Chatflow) -> dict[str, Any]:
    exported = flow.to_flowise()
    again = Chatflow.from_flowise(exported)  # what flowkit exported, it must read back
    difference = json_difference(again.to_flowise(), exported)
    assert difference is None, f"to_flowise() changed after a reload: {difference}"
    return exported


def check_questions(flow: Chatflow) -> None:
    ask(flow.check)
    ask(flow.ending_nodes)
    ask(flow.vector_store_nodes)
    ask(flow.resolve_stop_node)
    for node_id in iter_sample(list(flow.iter_node_ids()), MOST_NODES_ASKED):
        order = ask(flow.run_order, node_id)
        above = ask(flow.upstream, node_id)
        ask(flow.resolve_stop_node, node_id)
        assert order is not None, f"run_order({node_id!r}) refused a node of the flow"
        assert above is not None, f"upstream({node_id!r}) refused a node of the flow"
        assert len(set(order)) == len(order), f"run_order repeats a node: {order!r}"
        assert set(order) == {*above, node_id}, "run_order and upstream disagree"
        members = flow.graph.subgraph(order)
        if nx.is_directed_acyclic_graph(members):
            place = {n: i for i, n in enumerate(order)}
            assert order[-1] == node_id
            for u, v in members.edges():
                assert place[u] < place[v], f"run_order puts {v!r} before {u!r}"
    with pytest.raises(FlowkitError):
        flow.run_order("\x00 no such node \x00")


def check_workspace(flow: Chatflow) -> None:
    """Saving ``flow`` succeeds exactly when it validates; a refusal changes nothing."""
    valid = _validates(flow)
    event("workspace saved it" if valid else "workspace refused it")
    workspace = Workspace(strict_signals=True)
    workspace.create_chatflow(Chatflow.from_flowise(SEED_CHATFLOWS["llm-chain"]))
    before = [f.id for f in workspace.chatflows]
    with recorded_signals() as sent:
        try:
            workspace.create_chatflow(flow)
        except Exception as exc:
            refusal: FlowValidationError | None = assert_refusal(exc)
        else:
            refusal = None
    if refusal is not None:
        assert not valid, f"create_chatflow refused a valid flow: {refusal}"
        assert [f.id for f in workspace.chatflows] == before, "a refusal changed it"
        assert sent == [], f"a refusal sent {sent}"
        return
    assert valid, "create_chatflow saved a flow that does not validate"
    assert [f.id for f in workspace.chatflows] == [*before, flow.id]
    assert sent == [("chatflow_created", id(flow))]


def _validates(flow: Chatflow) -> bool:
    try:
        flow.check()
    except FlowValidationError:
        return False
    return True


def check_chatflow_source(
    source: Any, flow_data: Any = None, keywords: dict[str, Any] | None = None
) -> Chatflow | None:
    """Load ``source``; when it loads, check round trip, questions and workspace.

    :param flow_data: the ``flowData`` inside ``source`` when the test knows it: its nodes
        and edges, when JSON, must come back exactly.
    :param keywords: ``id``, ``name``, ``type`` for ``from_flowise``.
    """
    flow = load_or_refuse(lambda s: Chatflow.from_flowise(s, **(keywords or {})), source)
    event("chatflow refused" if flow is None else "chatflow loaded")
    if flow is None:
        return None
    exported = check_round_trip(flow)
    if isinstance(flow_data, dict) and "flowData" not in flow_data and is_plain_json(flow_data):
        for key in ("nodes", "edges"):
            difference = json_difference(exported[key], flow_data[key])
            assert difference is None, f"{key} changed on load: {difference}"
    check_questions(flow)
    check_workspace(flow)
    return flow


def check_tool_source(source: Any) -> Tool | None:
    tool = load_or_refuse(Tool.from_flowise, source)
    event("tool refused" if tool is None else "tool loaded")
    if tool is None:
        return None
    exported = tool.to_flowise()
    difference = json_difference(Tool.from_flowise(exported).to_flowise(), exported)
    assert difference is None, f"to_flowise() changed after a reload: {difference}"
    assert isinstance(tool.schema_properties, list)
    workspace = Workspace(strict_signals=True)
    with recorded_signals() as sent:
        workspace.create_tool(tool)
    assert sent == [("tool_created", id(tool))]
    return tool


# ---- mutated exports --------------------------------------------------------------------------


RECORD_KEYS = ("id", "name", "type", "createdDate", "updatedDate", "flowData", "deployed")
flow_field_values = st.one_of(
    wrong_values,
    st.sampled_from(["", "CHATFLOW", "AGENTFLOW", "MULTIAGENT", "chatflow", "2024-05-01", "0"]),
)
record_changes = st.dictionaries(st.sampled_from(RECORD_KEYS), flow_field_values, max_size=2)
"""Changes to an API record's own fields (id, name, type, dates, flowData itself)."""
keyword_arguments = st.dictionaries(
    st.sampled_from(["id", "name", "type"]), st.none() | flow_field_values, max_size=2
)
"""``from_flowise``'s ``id``, ``name`` and ``type`` keywords, any value."""


@st.composite
def mutated_sources(draw: st.DrawFn, seeds: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A mutated seed (``doc``), wrapped (``wrapped``) with changed record fields, the
    ``form`` to give it in and ``from_flowise`` ``keywords``."""
    name, doc, done = draw(mutated(seeds))
    wrapper = draw(st.sampled_from(WRAPPERS))
    wrapped = wrap(doc, wrapper)
    changes = draw(record_changes) if wrapper.startswith("record") else {}
    if isinstance(wrapped, dict):
        wrapped.update(changes)
    note(f"seed {name!r}, mutations {done}, wrapped as {wrapper}, changes {short(changes)}")
    form, keywords = draw(st.sampled_from(FORMS)), draw(keyword_arguments)
    return {"doc": doc, "wrapped": wrapped, "form": form, "keywords": keywords}


def _check_mutated_chatflow(case: dict[str, Any], folder: Path) -> None:
    note(f"given as {case['form']}, keywords {short(case['keywords'])}")
    source = as_source(case["wrapped"], case["form"], folder)
    check_chatflow_source(source, flow_data=case["doc"], keywords=case["keywords"])


@budget()
@given(case=mutated_sources(SEED_CHATFLOWS))
def test_mutated_seed_chatflow_loads_or_is_refused_cleanly(
    case: dict[str, Any], tmp_path: Path
) -> None:
    _check_mutated_chatflow(case, tmp_path)


@budget()
@given(case=mutated_sources(MARKETPLACE_CHATFLOWS))
def test_mutated_marketplace_chatflow_loads_or_is_refused_cleanly(
    case: dict[str, Any], tmp_path: Path
) -> None:
    _check_mutated_chatflow(case, tmp_path)


TOOL_MUTATIONS = ("retype", "delete", "unicode", "huge", "python-value")


@budget(0.5)
@given(case=mutated(SEED_TOOLS, kinds=TOOL_MUTATIONS), form=st.sampled_from(FORMS))
def test_mutated_seed_tool_loads_or_is_refused_cleanly(
    case: tuple[str, Any, list[str]], form: str, tmp_path: Path
) -> None:
    name, doc, done = case
    note(f"seed {name!r}, mutations {done}, given as {form}")
    check_tool_source(as_source(doc, form, tmp_path))


@budget(0.5)
@given(case=mutated(MARKETPLACE_TOOLS, kinds=TOOL_MUTATIONS), form=st.sampled_from(FORMS))
def test_mutated_marketplace_tool_loads_or_is_refused_cleanly(
    case: tuple[str, Any, list[str]], form: str, tmp_path: Path
) -> None:
    name, doc, done = case
    note(f"seed {name!r}, mutations {done}, given as {form}")
    check_tool_source(as_source(doc, form, tmp_path))


# ---- random and damaged JSON ------------------------------------------------------------------


@budget()
@given(
    doc=flowish | st.fixed_dictionaries({"nodes": flowish, "edges": flowish}),
    wrapper=st.sampled_from(WRAPPERS),
    form=st.sampled_from(FORMS),
)
def test_random_json_loads_or_is_refused_cleanly(
    doc: Any, wrapper: str, form: str, tmp_path: Path
) -> None:
    source = as_source(wrap(doc, wrapper), form, tmp_path)

    check_chatflow_source(source, flow_data=doc)
    check_tool_source(source)


@st.composite
def damaged_text(draw: st.DrawFn) -> bytes:
    """The JSON text of a seed flow or tool with its bytes cut, dropped, repeated or
    replaced."""
    seeds = {**ALL_CHATFLOWS, **ALL_TOOLS}
    data = json.dumps(seeds[draw(st.sampled_from(sorted(seeds)))]).encode()
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, len(data)))
        end = draw(st.integers(start, min(len(data), start + 64)))
        how = draw(st.sampled_from(["cut", "drop", "repeat", "replace"]))
        if how == "cut":
            data = data[:start]
        elif how == "drop":
            data = data[:start] + data[end:]
        elif how == "repeat":
            data = data[:end] + data[start:end] + data[end:]
        else:
            new = draw(st.binary(min_size=1, max_size=4) | st.just(b"1" * 5000))
            data = data[:start] + new + data[end:]
    return data


@budget()
@given(data=damaged_text(), as_text=st.booleans())
def test_damaged_json_text_loads_or_is_refused_cleanly(data: bytes, as_text: bool) -> None:
    source: str | bytes = data.decode("utf-8", "replace") if as_text else data
    if as_text and not source.lstrip().startswith(("{", "[")):
        source = "{" + source  # else a str is a path; paths have their own test
    check_chatflow_source(source)
    check_tool_source(source)


# ---- deep nesting and huge strings ------------------------------------------------------------

DEEP_PLACES = {
    "inputs": ("nodes", 0, "data", "inputs", "deep"),
    "data": ("nodes", 0, "data", "deep"),
    "node": ("nodes", 0, "deep"),
    "position": ("nodes", 0, "position"),
    "edge": ("edges", 0, "data"),
    "flowData": ("deep",),
}
MARK = "\x00deep\x00"


@budget(0.3)
@given(
    seed=st.sampled_from(sorted(SEED_CHATFLOWS)),
    depth=st.sampled_from([MAX_DEPTH - 6, MAX_DEPTH - 5, MAX_DEPTH - 4, 1_000, 10_000, 30_000])
    | st.integers(MAX_DEPTH - 20, MAX_DEPTH + 20),
    shape=st.sampled_from(["list", "dict", "mixed"]),
    place=st.sampled_from(sorted(DEEP_PLACES)),
    form=st.sampled_from(["dict", "text", "bytes", "path", "record-text"]),
)
def test_deep_nesting_is_refused_past_the_limit_and_round_trips_below(
    seed: str, depth: int, shape: str, place: str, form: str, tmp_path: Path
) -> None:
    doc = copy_json(SEED_CHATFLOWS[seed])
    path = DEEP_PLACES[place]
    parent_of(doc, path)[path[-1]] = MARK
    levels = len(path) + depth  # the dicts and lists around the bottom value
    if form == "dict":
        parent_of(doc, path)[path[-1]] = deep_value(depth, shape)
        source: Any = doc
    else:
        text = json.dumps(doc).replace(json.dumps(MARK), deep_text(depth, shape))
        if form == "record-text":
            source = {"id": "deep", "name": "Deep", "flowData": text}
        elif form == "text":
            source = text
        else:
            source = text.encode()
            if form == "path":
                source_path = tmp_path / "deep.json"
                source_path.write_bytes(source)
                source = source_path

    flow = check_chatflow_source(source)

    if levels > MAX_DEPTH:
        assert flow is None, f"{levels} levels loaded, over the limit of {MAX_DEPTH}"
        with pytest.raises(FlowValidationError, match="nested too deeply"):
            Chatflow.from_flowise(source)
    elif place != "position" or isinstance(deep_value(1, shape), dict):
        assert flow is not None, f"{levels} levels refused, within the limit of {MAX_DEPTH}"


@budget(0.3)
@given(
    depth=st.sampled_from([10, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 10_000, 100_000]),
    shape=st.sampled_from(["list", "dict", "mixed"]),
    key=st.sampled_from(["schema", "extra", "schema-text"]),
    form=st.sampled_from(["dict", "text"]),
)
def test_deeply_nested_tool_is_refused_or_loads_and_answers(
    depth: int, shape: str, key: str, form: str
) -> None:
    doc = copy_json(SEED_TOOLS["export"])
    if key == "schema-text":  # deep JSON inside the schema string: loads, then is parsed
        doc["schema"] = deep_text(depth, shape)
        source: Any = doc if form == "dict" else json.dumps(doc)
    else:
        doc[key] = MARK
        if form == "dict":
            doc[key] = [deep_value(depth - 1, shape)]
            source = doc
        else:
            source = json.dumps(doc).replace(json.dumps(MARK), f"[{deep_text(depth - 1, shape)}]")

    tool = check_tool_source(source)

    if key != "schema-text":
        assert (tool is None) == (depth + 1 > MAX_DEPTH)


HUGE = 1_000_000


@budget(0.2)
@given(
    case=mutated(ALL_CHATFLOWS, most=1, kinds=("rename", "unicode")),
    fill=st.sampled_from(["x", "\U0001f99c", "\x00", "\ud800", "\u202e", "{"]),
    places=st.integers(1, 3),
    form=st.sampled_from(["dict", "text", "bytes"]),
    data=st.data(),
)
def test_huge_strings_load_or_are_refused_cleanly(
    case: tuple[str, Any, list[str]], fill: str, places: int, form: str, data: st.DataObject
) -> None:
    name, doc, done = case
    strings = [p for p in json_paths(doc) if isinstance(parent_of(doc, p)[p[-1]], str)]
    for path in data.draw(st.lists(st.sampled_from(strings), min_size=places, max_size=places)):
        parent_of(doc, path)[path[-1]] = fill * HUGE
    note(f"seed {name!r}, {done}, then {places} strings of 1M {fill!r}")

    check_chatflow_source(as_source(doc, form, Path()), flow_data=doc)


# ---- ids: unicode, duplicates, dangling, cycles -------------------------------------------------


@st.composite
def renamed(draw: st.DrawFn) -> tuple[str, dict[str, Any], dict[str, str]]:
    """A seed flow whose every node id is replaced, consistently, by a distinct unicode id."""
    name = draw(st.sampled_from(sorted(ALL_CHATFLOWS)))
    doc = copy_json(ALL_CHATFLOWS[name])
    old_ids = [n["id"] for n in doc["nodes"]]
    new_ids = draw(
        st.lists(valid_unicode_ids, min_size=len(old_ids), max_size=len(old_ids), unique=True)
    )
    # Through placeholders, so that a new id may be another node's old one.
    for number, old in enumerate(old_ids):
        rename_node(doc, old, f"\x00{number}")
    for number, new in enumerate(new_ids):
        rename_node(doc, f"\x00{number}", new)
    return name, doc, dict(zip(old_ids, new_ids, strict=True))


@budget(0.5)
@given(case=renamed(), form=st.sampled_from(["dict", "text", "text-ascii"]))
def test_unicode_node_ids_keep_the_flow_working(
    case: tuple[str, dict[str, Any], dict[str, str]], form: str
) -> None:
    name, doc, new_id = case
    original = Chatflow.from_flowise(ALL_CHATFLOWS[name])

    flow = check_chatflow_source(as_source(doc, form, Path()), flow_data=doc)

    assert flow is not None, "renaming node ids made a loadable flow unloadable"
    assert [n.id for n in flow.nodes] == [new_id[n] for n in original.iter_node_ids()]
    assert _validates(flow) == _validates(original)
    assert [n.id for n in flow.ending_nodes()] == [new_id[n.id] for n in original.ending_nodes()]
    for node_id in iter_sample(list(original.iter_node_ids()), MOST_NODES_ASKED):
        expected = [new_id[n] for n in original.run_order(node_id)]
        assert flow.run_order(new_id[node_id]) == expected


@budget(0.5)
@given(
    name=st.sampled_from(CHATFLOW_TYPED),
    data=st.data(),
    form=st.sampled_from(["dict", "text"]),
)
def test_cycle_or_self_loop_loads_and_is_refused_by_the_workspace(
    name: str, data: st.DataObject, form: str
) -> None:
    doc = copy_json(ALL_CHATFLOWS[name])
    edge = data.draw(st.sampled_from(doc["edges"]), label="edge rewired")
    above = ancestors(doc["edges"], edge["source"])
    edge["target"] = data.draw(st.sampled_from(above), label="to") if above else edge["source"]

    flow = check_chatflow_source(as_source(doc, form, Path()), flow_data=doc)

    assert flow is not None, "a cycle is a flow's problem, not a file's: it must load"
    with pytest.raises(FlowValidationError) as caught:
        flow.check()
    named = f"connects node {edge['source']!r} to itself" if not above else "cycle through"
    assert any(named in p for p in caught.value.problems), caught.value.problems
    for node_id in flow.iter_node_ids():  # the loop order still answers
        assert node_id in flow.run_order(node_id)


@st.composite
def broken_ids(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A seed flow with a duplicate node id, a duplicate edge id or a dangling edge, and the
    sentence its refusal must contain."""
    doc = copy_json(ALL_CHATFLOWS[draw(st.sampled_from(sorted(ALL_CHATFLOWS)))])
    node_ids = [n["id"] for n in doc["nodes"]]
    how = draw(st.sampled_from(["node", "edge", "dangling"] if doc["edges"] else ["node"]))
    if how == "node":
        node = copy_json(draw(st.sampled_from(doc["nodes"])))
        new_id = draw(valid_unicode_ids | st.sampled_from(node_ids))
        rename_node(doc, node["id"], new_id)  # the id may be unicode, the flow unchanged
        node["id"] = new_id
        doc["nodes"].insert(draw(st.integers(0, len(doc["nodes"]))), node)
        return doc, f"duplicate node id {new_id!r}"
    edge = copy_json(draw(st.sampled_from(doc["edges"])))
    if how == "edge":
        doc["edges"].insert(draw(st.integers(0, len(doc["edges"]))), edge)
        return doc, f"duplicate edge id {edge['id']!r}"
    end = draw(st.sampled_from(["source", "target"]))
    edge[end] = draw(valid_unicode_ids.filter(lambda i: i not in node_ids))
    edge["id"] = draw(valid_unicode_ids | st.just(edge["id"] + "-dangling"))
    doc["edges"].append(edge)
    return doc, f"edge {edge['id']!r} points to unknown node {edge[end]!r}"


@budget(0.5)
@given(case=broken_ids(), form=st.sampled_from(["dict", "text", "text-ascii"]))
def test_duplicate_or_dangling_ids_are_refused_naming_them(
    case: tuple[dict[str, Any], str], form: str
) -> None:
    doc, expected = case

    with pytest.raises(FlowValidationError) as caught:
        Chatflow.from_flowise(as_source(doc, form, Path()))

    assert any(expected in p for p in assert_refusal(caught.value).problems), (
        expected,
        caught.value.problems,
    )


def test_the_fuzz_has_seeds_of_every_kind() -> None:
    """The self-contained seeds load, validate and cover every mutation's preconditions."""
    kinds = {Chatflow.from_flowise(doc).type for doc in SEED_CHATFLOWS.values()}

    assert kinds == {FlowType.CHATFLOW, FlowType.AGENTFLOW, FlowType.MULTIAGENT}
    for doc in SEED_CHATFLOWS.values():
        Chatflow.from_flowise(doc).check()
    for doc in SEED_TOOLS.values():
        Tool.from_flowise(doc)
    assert set(MUTATIONS) >= set(TOOL_MUTATIONS)
