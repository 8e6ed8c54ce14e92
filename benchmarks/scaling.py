"""How flowkit's cost grows with flow size: 10 to 100,000 nodes, three shapes, one run.

Run: ``.venv/bin/python benchmarks/scaling.py [--quick] [--max-nodes N]``

Flows are generated directly as Flowise ``flowData`` objects (nodes with Flowise-pattern ids
``<name>_<n>``, position, ``type: customNode``, and ``data`` with id, label, name, category,
inputs, outputs, inputAnchors and outputAnchors; edges with Flowise's handles and ids), in
three shapes, each ending ``... -> memoryVectorStore_0 -> conversationalRetrievalQAChain_0``
so that ``validate``, ``resolve_stop_node`` and ``run_order(ending node)`` cover every node:

* chain: one long path;
* fan: one hub feeding every middle node, all of which feed the vector store (fan-out and
  fan-in of the whole flow at two nodes);
* diamond ladder: layers of width 2, each node feeding both nodes of the next layer, so the
  number of paths doubles with every layer (2^50,000 at 100,000 nodes): a naive recursive
  walk (as Flowise's starting-node search does) never ends.

Nodes are listed ending node first, then from the end of the flow back to its start, and the
vector store last (``--order forward`` lists them start to end): an algorithm whose cost
depends on meeting nodes in a friendly order shows it here.

Measured per shape and size: ``Chatflow.from_flowise``, ``to_flowise``, ``graph.validate``,
``graph.run_order(ending node)``, ``graph.resolve_stop_node``, ``telemetry.flow_graph``, and
the caller-thread cost of ``signals.send(prediction_sent, flow, ...)`` with a connected
:class:`~flowkit.telemetry.Telemetry` (sink discarding every batch): its first call after a
change to the flow (builds the anonymized snapshot: O(n)) and the cached call (O(1)).

The targets: every operation grows linearly: over 1,000 -> 100,000 nodes, the mean growth of
its time per 10x in nodes at most 20 (linear is 10, n log n about 12, n^1.5 about 32) and no
single step (10 -> 100 -> ... -> 100,000) above 40. The cached prediction call is shown for
information. Then the peak memory of the largest diamond ladder: tracemalloc's peak during
from_flowise + validate + run_order + flow_graph, and the process's peak RSS.

The script exits 0 when it ran to the end, whatever the figures (``--strict``: 3 on a MISS).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import itertools
import json
import math
import os
import platform
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks._common`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import (
    DiscardSink,
    Timing,
    best,
    fmt_bytes,
    frozen_heap,
    peak_rss_bytes,
    print_table,
    time_each,
)
from flowkit import Chatflow, ChatType, Prediction, __version__, graph, signals
from flowkit.telemetry import Telemetry, TelemetrySettings, flow_graph

SIZES = (10, 100, 1_000, 10_000, 100_000)
QUICK_MAX = 10_000
JUDGED_FROM = 1_000  # the mean growth is taken over the steps from this size up
MEAN_GROWTH_TARGET = 20.0
STEP_GROWTH_TARGET = 40.0
REPEATS = 3

# ---- generated Flowise flows -----------------------------------------------------------------

# (name, label, category, type) of Flowise components; the body of every shape cycles
# through the first list, which has no vector store and no node that could end a flow on
# its own (an ending node needs no outgoing edge; every body node has one).
BODY_COMPONENTS: tuple[tuple[str, str, str, str], ...] = (
    ("textFile", "Text File", "Document Loaders", "Document"),
    (
        "recursiveCharacterTextSplitter",
        "Recursive Character Text Splitter",
        "Text Splitters",
        "RecursiveCharacterTextSplitter",
    ),
    ("openAIEmbeddings", "OpenAI Embeddings", "Embeddings", "OpenAIEmbeddings"),
    ("promptTemplate", "Prompt Template", "Prompts", "PromptTemplate"),
    ("chatOpenAI", "ChatOpenAI", "Chat Models", "ChatOpenAI"),
    ("bufferMemory", "Buffer Memory", "Memory", "BufferMemory"),
    ("customTool", "Custom Tool", "Tools", "CustomTool"),
    ("llmChain", "LLM Chain", "Chains", "LLMChain"),
)
VECTOR_STORE = ("memoryVectorStore", "In-Memory Vector Store", "Vector Stores", "Memory")
ENDING = (
    "conversationalRetrievalQAChain",
    "Conversational Retrieval QA Chain",
    "Chains",
    "ConversationalRetrievalQAChain",
)
SHAPES = ("chain", "fan", "diamond")
SHAPE_TITLES = {"chain": "chain", "fan": "wide fan", "diamond": "diamond ladder (width 2)"}


@dataclass
class FlowSpec:
    """A generated flow: its ``flowData`` and the ids the operations are asked about."""

    shape: str
    nodes: int
    data: dict[str, Any]
    vector_store: str
    ending: str

    @property
    def edges(self) -> int:
        return len(self.data["edges"])


class _Builder:
    """Makes Flowise node and edge objects with ``<name>_<n>`` ids."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []
        self._by_id: dict[str, dict[str, Any]] = {}

    def node(self, component: tuple[str, str, str, str], x: int, y: int) -> str:
        name, label, category, kind = component
        n = self.numbers.get(name, 0)
        self.numbers[name] = n + 1
        node_id = f"{name}_{n}"
        position = {"x": 400.0 * x + 0.5, "y": 550.0 * y + 0.25}
        self.nodes.append(
            {
                "width": 300,
                "height": 400,
                "id": node_id,
                "position": position,
                "type": "customNode",
                "data": {
                    "id": node_id,
                    "label": label,
                    "version": 1,
                    "name": name,
                    "type": kind,
                    "baseClasses": [kind, "Runnable"],
                    "category": category,
                    "description": f"{label} (generated for the scaling benchmark)",
                    "inputParams": [
                        {
                            "label": "Note",
                            "name": "note",
                            "type": "string",
                            "optional": True,
                            "id": f"{node_id}-input-note-string",
                        }
                    ],
                    "inputAnchors": [
                        {
                            "label": "Input",
                            "name": "input",
                            "type": "Runnable",
                            "list": True,
                            "id": f"{node_id}-input-input-Runnable",
                        }
                    ],
                    "inputs": {"input": "", "note": ""},
                    "outputAnchors": [
                        {
                            "id": f"{node_id}-output-{name}-{kind}|Runnable",
                            "name": name,
                            "label": label,
                            "type": f"{kind} | Runnable",
                        }
                    ],
                    "outputs": {},
                    "selected": False,
                },
                "selected": False,
                "positionAbsolute": dict(position),
                "dragging": False,
            }
        )
        self._by_id[node_id] = self.nodes[-1]
        return node_id

    def edge(self, source: str, target: str) -> None:
        source_data = self._by_id[source]["data"]
        target_data = self._by_id[target]["data"]
        source_handle = source_data["outputAnchors"][0]["id"]
        target_handle = target_data["inputAnchors"][0]["id"]
        self.edges.append(
            {
                "source": source,
                "sourceHandle": source_handle,
                "target": target,
                "targetHandle": target_handle,
                "type": "buttonedge",
                "id": f"{source}-{source_handle}-{target}-{target_handle}",
                "data": {"label": ""},
            }
        )
        # What Flowise writes into the target's inputs: one reference, or a list of them.
        reference = f"{{{{{source}.data.instance}}}}"
        inputs = target_data["inputs"]
        current = inputs["input"]
        if current == "":
            inputs["input"] = reference
        elif isinstance(current, list):
            current.append(reference)
        else:
            inputs["input"] = [current, reference]


def generate(shape: str, nodes: int, order: str = "reverse") -> FlowSpec:
    """Return a ``flowData`` of ``nodes`` nodes (at least 4) in ``shape``.

    :param order: ``"reverse"``: the ending node first, then the rest from the end of the
        flow back to its start, the vector store last; ``"forward"``: start to end.
    """
    if nodes < 4:
        raise ValueError("a generated flow has at least 4 nodes")
    b = _Builder()
    body = nodes - 2  # + the vector store and the ending node
    last: list[str]
    if shape == "chain":
        previous = None
        for i in range(body):
            current = b.node(BODY_COMPONENTS[i % len(BODY_COMPONENTS)], i, 0)
            if previous is not None:
                b.edge(previous, current)
            previous = current
        assert previous is not None
        last, width = [previous], body
    elif shape == "fan":
        hub = b.node(BODY_COMPONENTS[2], 0, 0)  # openAIEmbeddings_0 feeds all the others
        last = []
        for i in range(body - 1):
            leaf = b.node(BODY_COMPONENTS[i % len(BODY_COMPONENTS)], 1, i)
            b.edge(hub, leaf)
            last.append(leaf)
        width = 2
    elif shape == "diamond":
        layer: list[str] = []
        column = 0
        if body % 2:  # an odd body starts with one source feeding the first layer
            layer = [b.node(BODY_COMPONENTS[0], 0, 0)]
            column = 1
        for i in range(body // 2):
            pair = [
                b.node(BODY_COMPONENTS[(2 * i + lane) % len(BODY_COMPONENTS)], column + i, lane)
                for lane in (0, 1)
            ]
            for source in layer:
                for target in pair:
                    b.edge(source, target)
            layer = pair
        last, width = layer, column + body // 2
    else:
        raise ValueError(f"unknown shape {shape!r}")
    store = b.node(VECTOR_STORE, width, 0)
    for source in last:
        b.edge(source, store)
    ending = b.node(ENDING, width + 1, 0)
    b.edge(store, ending)
    node_list, edge_list = b.nodes, b.edges
    if order == "reverse":
        middle = node_list[:-2]
        node_list = [node_list[-1], *reversed(middle), node_list[-2]]
        edge_list = list(reversed(edge_list))
    elif order != "forward":
        raise ValueError(f"unknown order {order!r}")
    data = {"nodes": node_list, "edges": edge_list, "viewport": {"x": 0, "y": 0, "zoom": 0.5}}
    return FlowSpec(shape, nodes, data, store, ending)


# ---- the operations --------------------------------------------------------------------------

QUESTION = "What is in the handbook about holidays?"
ANSWER = "You get 25 days a year."
CHAT_ID = "6f1c2a4e-0d1b-4a51-9a43-2f1f7a9c1e11"


@dataclass(frozen=True)
class Op:
    """One measured operation (its call is made by :func:`calls_of`)."""

    key: str
    title: str
    work: int  # node-units per timed run: calls = max(1, work // nodes)
    judged: bool = True


OPS: tuple[Op, ...] = (
    Op("from_flowise", "Chatflow.from_flowise(flowData)", 5_000),
    Op("to_flowise", "flow.to_flowise()", 5_000),
    Op("validate", "graph.validate(flow)", 10_000),
    Op("run_order", "graph.run_order(flow, ending)", 10_000),
    Op("resolve_stop_node", "graph.resolve_stop_node(flow)", 50_000),
    Op("flow_graph", "telemetry.flow_graph(flow)", 20_000),
    Op("prediction_first", "signals.send(prediction_sent, ...), first call after a change", 2_000),
    Op(
        "prediction_cached",
        "signals.send(prediction_sent, ...), again at the same revision (cached snapshot)",
        0,
        judged=False,
    ),
)
CACHED_CALLS = {"full": 2_000, "quick": 500}


def calls_for(op: Op, nodes: int, mode: str) -> int:
    if op.key == "prediction_cached":
        return CACHED_CALLS[mode]
    work = op.work if mode == "full" else op.work // 5
    return max(1, work // nodes)


@contextlib.contextmanager
def connected_telemetry(home: Path) -> Iterator[Telemetry]:
    """A connected Telemetry whose sink discards, that delivers only when flushed.

    ``batch_size`` and ``flush_interval`` are raised so that its background thread stays
    asleep while the caller is timed (it is flushed, untimed, between runs): its work (the
    payload check of each batch) would otherwise hold the GIL and count against the caller.
    """
    client = Telemetry(
        sink=DiscardSink(),
        settings=TelemetrySettings(home=home),
        batch_size=1_000_000,
        flush_interval=3_600.0,
    ).connect()
    try:
        yield client
    finally:
        client.shutdown(30)


def prediction_sender(flow: Chatflow) -> Callable[[], None]:
    """One call = what ``Workspace.predict`` does after answering: ``signals.send(...)``."""
    result = Prediction(text=ANSWER, chat_id=CHAT_ID)
    send, signal, external = signals.send, signals.prediction_sent, ChatType.EXTERNAL

    def call() -> None:
        send(
            signal,
            flow,
            workspace=None,
            chat_id=CHAT_ID,
            chat_type=external,
            question=QUESTION,
            result=result,
        )

    return call


def calls_of(
    spec: FlowSpec, flow: Chatflow, telemetry: Telemetry
) -> dict[str, tuple[Callable[[], object], Callable[[], object] | None]]:
    """The call (and untimed per-call setup, if any) of each operation on one flow."""
    data, ending = spec.data, spec.ending
    send = prediction_sender(flow)
    counter = [0]

    def change() -> None:
        # A new revision (O(1)), then let the background thread finish the last event.
        counter[0] += 1
        flow.name = f"scaling {spec.shape} {spec.nodes} #{counter[0]}"
        telemetry.flush(120)

    return {
        "from_flowise": (lambda: Chatflow.from_flowise(data), None),
        "to_flowise": (flow.to_flowise, None),
        "validate": (lambda: graph.validate(flow), None),
        "run_order": (lambda: graph.run_order(flow, ending), None),
        "resolve_stop_node": (lambda: graph.resolve_stop_node(flow), None),
        "flow_graph": (lambda: flow_graph(flow), None),
        "prediction_first": (send, change),
        "prediction_cached": (send, None),
    }


def check(spec: FlowSpec, flow: Chatflow) -> None:
    """Make sure the operations do cover the whole flow (untimed; their warm-up call)."""
    n, e = spec.nodes, spec.edges
    assert len(flow.nodes) == n, len(flow.nodes)
    assert len(flow.edges) == e, len(flow.edges)
    graph.validate(flow)
    assert graph.ending_nodes(flow) == [flow.node(spec.ending)]
    order = graph.run_order(flow, spec.ending)
    assert len(order) == n, len(order)
    assert order[-1] == spec.ending, order[-1]
    assert graph.resolve_stop_node(flow) == spec.vector_store
    shape = flow_graph(flow)
    assert len(shape["nodes"]) == n
    assert len(shape["edges"]) == e
    assert shape["nodes"] == [node["id"] for node in spec.data["nodes"]]  # ids sent unchanged
    exported = flow.to_flowise()
    assert exported == spec.data, "to_flowise(from_flowise(x)) != x"


# ---- measuring -------------------------------------------------------------------------------


@dataclass
class Series:
    """One operation on one shape: the runs at every size."""

    op: Op
    shape: str
    runs: dict[int, list[Timing]] = field(default_factory=dict)

    def seconds(self, nodes: int, cpu: bool = False) -> float:
        """Best time of one call, in seconds (``cpu``: the calling thread's CPU time)."""
        runs = self.runs[nodes]
        if cpu:
            return min(t.cpu_ns / t.calls for t in runs) / 1e9
        return min(t.wall_ns / t.calls for t in runs) / 1e9

    def sizes(self) -> list[int]:
        return sorted(self.runs)

    def steps(self) -> list[tuple[int, int, float]]:
        """(from, to, growth of the time per call) for each pair of successive sizes."""
        sizes = self.sizes()
        return [(a, b, self.seconds(b) / self.seconds(a)) for a, b in itertools.pairwise(sizes)]

    def judged_steps(self) -> list[tuple[int, int, float]]:
        """The steps the mean growth is taken over: from 1,000 nodes up (else the last)."""
        steps = self.steps()
        upper = [s for s in steps if s[0] >= JUDGED_FROM]
        return upper or steps[-1:]

    def mean_growth(self, cpu: bool = False) -> float:
        """Geometric mean growth per 10x over :meth:`judged_steps`."""
        steps = self.judged_steps()
        if not steps:
            return float("nan")
        a, b = steps[0][0], steps[-1][1]
        decades = math.log10(b / a)
        return float((self.seconds(b, cpu) / self.seconds(a, cpu)) ** (1 / decades))

    def max_step(self) -> float:
        return max((g for _, _, g in self.steps()), default=float("nan"))

    def passed(self) -> bool:
        return self.mean_growth() <= MEAN_GROWTH_TARGET and self.max_step() <= STEP_GROWTH_TARGET


@dataclass
class Memory:
    """What tracemalloc saw for one flow (bytes)."""

    nodes: int
    edges: int
    json_bytes: int  # the flowData as compact JSON text (what a file of it would hold)
    peak: int  # peak during from_flowise + validate + run_order + flow_graph
    held: int  # still allocated after them (the flow, its run order and its flow_graph)


def measure_shape(
    shape: str,
    sizes: list[int],
    mode: str,
    order: str,
    telemetry: Telemetry,
    memory: list[Memory] | None = None,
) -> dict[str, Series]:
    """Time every operation at every size of ``shape``.

    :param memory: when given, the largest size's warm-up of from_flowise, validate,
        run_order and flow_graph runs under tracemalloc, and its figures are appended here.
    """
    print(f"\n== {SHAPE_TITLES[shape]} ==", flush=True)
    series = {op.key: Series(op, shape) for op in OPS}
    for nodes in sizes:
        started = time.perf_counter()
        # The cyclic GC is paused from here on: its passes over the millions of young
        # objects a large flow allocates would cost more than loading it.
        gc.collect()
        gc.disable()
        try:
            traced = memory is not None and nodes == sizes[-1]
            spec, flow = warm_up(shape, nodes, order, memory if traced else None)
            edges = spec.edges
            calls = calls_of(spec, flow, telemetry)
            for key in ("prediction_first", "prediction_cached"):
                fn, setup = calls[key]
                if setup is not None:
                    setup()
                fn()
            telemetry.flush(120)
            with frozen_heap(collect=False):
                for _ in range(REPEATS):  # rounds interleave the operations
                    for op in OPS:
                        fn, setup = calls[op.key]
                        count = calls_for(op, nodes, mode)
                        if setup is None:
                            telemetry.flush(120)
                        run = time_each(fn, count, setup)  # collects, times, re-enables GC
                        gc.disable()
                        series[op.key].runs.setdefault(nodes, []).append(run)
                telemetry.flush(120)
            del spec, flow, calls
        finally:
            gc.enable()
        print(
            f"\n{nodes:,} nodes, {edges:,} edges "
            f"({time.perf_counter() - started:.1f}s in all); us per call, each run "
            "[best of 3]:",
            flush=True,
        )
        for op in OPS:
            runs = series[op.key].runs[nodes]
            shown = "  ".join(f"{t.us_per_call:12,.1f}" for t in runs)
            print(f"  {op.key:18} x{runs[0].calls:<5} {shown}   [{best(runs).us_per_call:12,.1f}]")
    print_growth(series)
    return series


def warm_up(
    shape: str, nodes: int, order: str, memory: list[Memory] | None
) -> tuple[FlowSpec, Chatflow]:
    """Generate the flow, load it, and call every operation once, checking its result.

    :param memory: when given, from_flowise, validate, run_order and flow_graph run under
        tracemalloc (started after the input was generated), and its figures are appended
        here.
    """
    spec = generate(shape, nodes, order)
    if memory is None:
        flow = Chatflow.from_flowise(spec.data)
    else:
        json_bytes = len(json.dumps(spec.data, separators=(",", ":")).encode())
        tracemalloc.start()
        try:
            flow = Chatflow.from_flowise(spec.data)
            graph.validate(flow)
            run_order = graph.run_order(flow, spec.ending)
            snapshot = flow_graph(flow)
            current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert len(run_order) == nodes
        assert len(snapshot["nodes"]) == nodes
        memory.append(Memory(nodes, spec.edges, json_bytes, peak, current))
        del run_order, snapshot
    check(spec, flow)
    return spec, flow


def print_growth(series: dict[str, Series]) -> None:
    sizes = next(iter(series.values())).sizes()
    print("\ntime per node (us) at each size, growth of the time per call between sizes:")
    headers = ["operation"]
    for i, n in enumerate(sizes):
        headers.append(f"{n:,}")
        if i + 1 < len(sizes):
            headers.append("growth")
    rows: list[list[object]] = []
    for s in series.values():
        row: list[object] = [s.op.key]
        for i, n in enumerate(sizes):
            row.append(f"{s.seconds(n) / n * 1e6:.3f}")
            if i + 1 < len(sizes):
                row.append(f"x{s.seconds(sizes[i + 1]) / s.seconds(n):.1f}")
        rows.append(row)
    print_table(headers, rows)


# ---- summary ---------------------------------------------------------------------------------


def summary(all_series: list[Series]) -> bool:
    ok = True
    rows: list[list[object]] = []
    for s in all_series:
        steps = s.steps()
        judged = s.judged_steps()
        span = f"{judged[0][0]:,}->{judged[-1][1]:,}" if judged else "-"
        if s.op.judged:
            verdict = "PASS" if s.passed() else "MISS"
            ok = ok and s.passed()
        else:
            verdict = "(info)"
        rows.append(
            [
                f"{s.op.key} / {s.shape}",
                f"{s.seconds(s.sizes()[-1]) / s.sizes()[-1] * 1e6:.3f}",
                span,
                f"{s.mean_growth():.1f}",
                f"{s.max_step():.1f}",
                " ".join(f"{g:.1f}" for _, _, g in steps),
                f"{s.mean_growth(cpu=True):.1f}",
                verdict,
            ]
        )
    print("\n== summary ==")
    print(
        f"target: mean growth per 10x <= {MEAN_GROWTH_TARGET:.0f} over the span, every step "
        f"<= {STEP_GROWTH_TARGET:.0f} (linear = 10),\n"
        "  on wall time. 'cpu mean': the same mean on the calling thread's CPU time\n"
        "  (thread_time_ns), for information: on a shared machine, time spent descheduled\n"
        "  inflates wall time, not CPU time."
    )
    print_table(
        [
            "operation / shape",
            f"us/node @{all_series[0].sizes()[-1]:,}",
            "span",
            "mean/10x",
            "max step",
            "steps",
            "cpu mean",
            "result",
        ],
        rows,
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"sizes up to {QUICK_MAX:,} only")
    parser.add_argument("--max-nodes", type=int, default=None, help="largest size to measure")
    parser.add_argument(
        "--order",
        choices=("reverse", "forward"),
        default="reverse",
        help="node order in the generated files (default: ending node first, end to start)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 3 when a target is missed")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    limit = QUICK_MAX if args.quick else SIZES[-1]
    if args.max_nodes is not None:
        limit = min(limit, args.max_nodes)
    sizes = [n for n in SIZES if n <= limit]
    if len(sizes) < 2:
        parser.error(f"--max-nodes must allow at least two sizes of {SIZES}")

    print("flowkit scaling: cost per node from 10 to 100,000 nodes")
    print(
        f"mode={mode}  sizes={', '.join(f'{n:,}' for n in sizes)}  order={args.order}  "
        f"python={platform.python_version()}  flowkit={__version__}  "
        f"machine={platform.machine()} cpus={_cpus()}"
    )
    print(
        "method: each shape and size is generated as a Flowise flowData object. Warm-up: one\n"
        "  call of every operation, its result checked (validate passes, run_order(ending)\n"
        "  returns every node, the stop node is the vector store, flow_graph has every node\n"
        "  and edge with its id unchanged, to_flowise gives the input back). Then 3 rounds;\n"
        "  each round times every operation in turn over N calls (N = a fixed amount of work\n"
        "  / nodes, at least 1) with perf_counter_ns, the cyclic GC collected and disabled\n"
        "  while timing (objects living through the size frozen out of the collection),\n"
        "  results kept until the clock stopped. Reported: the best of the 3 runs, per call\n"
        "  and per node.\n"
        "  prediction_sent: signals.send(prediction_sent, flow, workspace=None, chat_id=...,\n"
        "  chat_type=EXTERNAL, question=..., result=...) with a connected Telemetry whose sink\n"
        "  discards; its background thread is flushed (untimed) before each run, and before\n"
        "  each first-call (after the untimed change that gives the flow a new revision:\n"
        "  flow.name = ...). growth = time per call at 10x nodes / time per call.\n"
        "operations:"
    )
    for op in OPS:
        print(f"  {op.key:18} {op.title}")
    started = time.perf_counter()
    all_series: list[Series] = []
    memory: list[Memory] = []
    with tempfile.TemporaryDirectory(prefix="flowkit-scaling-") as tmp:
        with connected_telemetry(Path(tmp)) as telemetry:
            for shape in SHAPES:
                traced = memory if shape == "diamond" else None
                series = measure_shape(shape, sizes, mode, args.order, telemetry, traced)
                all_series.extend(series.values())
            stats = telemetry.stats
        print(
            f"\ntelemetry: enqueued={stats.enqueued} delivered={stats.delivered} "
            f"dropped={stats.dropped} failed={stats.failed}"
        )
    ok = summary(all_series)

    largest = sizes[-1]
    print(f"\n== peak memory, {largest:,}-node diamond ladder ==")
    print(
        "method: tracemalloc (Python allocations), started once the flowData was generated:\n"
        "  its peak during Chatflow.from_flowise + validate + run_order(ending) + flow_graph\n"
        "  (the warm-up of that size, the cyclic GC paused; tracemalloc slows them ~10x);\n"
        "  peak RSS of the whole process (getrusage ru_maxrss) after every measurement."
    )
    for m in memory:
        print(
            f"  flowData ({m.nodes:,} nodes, {m.edges:,} edges) as JSON text: "
            f"{fmt_bytes(m.json_bytes)}"
        )
        print(
            f"  tracemalloc peak during the four operations: {fmt_bytes(m.peak)} "
            f"({m.peak / m.nodes:,.0f} bytes/node); held after them: {fmt_bytes(m.held)}"
        )
    rss = peak_rss_bytes()
    print(f"  process peak RSS: {fmt_bytes(rss) if rss is not None else 'unknown'}")
    print(f"\nelapsed: {time.perf_counter() - started:.1f}s")
    return 3 if args.strict and not ok else 0


def _cpus() -> str:
    with contextlib.suppress(AttributeError):
        return str(len(os.sched_getaffinity(0)))
    return str(os.cpu_count())


if __name__ == "__main__":
    sys.exit(main())
