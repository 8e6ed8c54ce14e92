"""The workspace file (SQLite) against memory, side by side in one run.

Run: ``.venv/bin/python benchmarks/sqlite_workspace.py [--quick]``

Pairs that are compared directly are timed alternately, call by call, so that a
burst of load on a shared machine slows both sides alike.

1. Saving a chatflow to the file (``SQLiteStore.replace``: the ``chat_flow`` row and a new
   revision, one transaction) against serializing it to Flowise JSON
   (``json.dumps(flow.to_flowise())``), for 10-, 100- and 1,000-node flows. Goal: <= 2x.
2. Create, get, update and predict on the SQLite workspace against the in-memory one, per
   flow size (``Workspace()`` against a Workspace on ``SQLiteStore``, both running flows of
   step components in which every node runs; through the stores, without predict, on a
   flowkit without ``Workspace.open``).
3. Opening a file of 10,000 chatflows and listing them (graphs parsed lazily), against
   listing them and parsing every graph.
4. Get by id from a file of 100 flows and from one of 10,000: the ratio should be ~1.

Each figure is the median of several runs, in microseconds or milliseconds; the ratios are
measured in the same run. Exits 0 when it ran to the end, whatever the figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: import the flowkit of this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flowkit.model import Chatflow
from flowkit.storage.sqlite import SQLiteStore

SIZES = (10, 100, 1000)


def chain_flow(size: int, name: str = "bench") -> Chatflow:
    """``size`` nodes in a line, each with Flowise-like inputs."""
    flow = Chatflow(name=name)
    previous = None
    for n in range(size):
        node = flow.add_node(
            "llmChain",
            category="Chains",
            inputs={"prompt": f"step {n}: answer the question {{question}}", "temperature": 0.7},
        )
        if previous is not None:
            flow.connect(previous, node, "input")
        previous = node
    return flow


def median_us(fn: Callable[[], object], runs: int) -> float:
    """The median time of ``fn`` over ``runs`` calls, in microseconds (gc off while timing)."""
    times = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    finally:
        gc.enable()
    return statistics.median(times) * 1e6


def interleaved_us(
    first: Callable[[], object], second: Callable[[], object], runs: int
) -> tuple[float, float]:
    """Median times of ``first`` and ``second`` in microseconds, called alternately, so that
    a burst of load on a shared machine slows both alike (gc off while timing)."""
    times: tuple[list[float], list[float]] = ([], [])
    gc.collect()
    gc.disable()
    try:
        for _ in range(runs):
            for fn, into in ((first, times[0]), (second, times[1])):
                start = time.perf_counter()
                fn()
                into.append(time.perf_counter() - start)
    finally:
        gc.enable()
    return statistics.median(times[0]) * 1e6, statistics.median(times[1]) * 1e6


def table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


@contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="flowkit-bench-") as name:
        yield Path(name)


def runs_for(size: int, quick: bool) -> int:
    base = {10: 400, 100: 100, 1000: 20}[size]
    return max(5, base // 4) if quick else base


# ---- 1. save vs Flowise JSON ---------------------------------------------------------------


def save_vs_json(quick: bool) -> list[str]:
    print("== 1. saving a chatflow to the file vs serializing it to Flowise JSON ==")
    rows, verdicts = [], []
    with folder() as tmp, SQLiteStore(tmp / "save.db") as store:
        for size in SIZES:
            flow = chain_flow(size)
            store.save(flow)
            runs = runs_for(size, quick)
            reference, saved = interleaved_us(
                lambda f=flow: json.dumps(f.to_flowise()), lambda f=flow: store.replace(f), runs
            )
            ratio = saved / reference
            verdict = "ok" if ratio <= 2 else "MISS"
            rows.append([f"{size}", f"{reference:,.0f}", f"{saved:,.0f}", f"{ratio:.2f}x", verdict])
            verdicts.append(f"save {size} nodes: {ratio:.2f}x Flowise JSON ({verdict})")
    table(["nodes", "json.dumps(to_flowise) us", "SQLite save us", "ratio", "goal <=2x"], rows)
    return verdicts


# ---- 2. workspace operations ---------------------------------------------------------------


def _workspaces(tmp: Path) -> tuple[Any, Any, str] | None:
    """The in-memory and the file workspace, both running flows with the step components."""
    try:
        from flowkit import Workspace
        from flowkit.backends.local import LocalBackend
        from flowkit.runtime import builtin_registry
    except ImportError:
        return None
    if not hasattr(Workspace, "open"):
        return None
    registry = builtin_registry()
    registry.register("benchStep", _step)
    registry.register("benchAnswer", _answer)
    memory = Workspace(LocalBackend(components=registry))
    durable = Workspace(LocalBackend(store=SQLiteStore(tmp / "ops.db"), components=registry))
    return memory, durable, "Workspace() vs a Workspace on SQLiteStore (as Workspace.open)"


def _step(inputs: dict[str, Any], context: Any) -> str:
    return f"{inputs.get('input', '')}."


def _answer(inputs: dict[str, Any], context: Any) -> dict[str, str]:
    return {"text": f"{context.question}: {len(str(inputs.get('input', '')))}"}


def predictable_flow(size: int) -> Chatflow:
    """``size - 1`` step nodes in a line feeding an answer node: every node runs."""
    flow = Chatflow(name="bench")
    previous = None
    for n in range(size):
        name = "benchAnswer" if n == size - 1 else "benchStep"
        node = flow.add_node(name, category="Chains", inputs={"note": f"step {n}"})
        if previous is not None:
            flow.connect(previous, node, "input")
        previous = node
    return flow


def workspace_ops(quick: bool) -> list[str]:
    print("\n== 2. create, get, update, predict: SQLite vs memory ==")
    verdicts = []
    with folder() as tmp:
        pair = _workspaces(tmp)
        if pair is None:
            print("(this flowkit has no Workspace.open: comparing the stores; predict left out)")
            verdicts += _store_ops(tmp, quick)
            return verdicts
        memory, durable, label = pair
        print(label)
        rows = []
        try:
            for size in SIZES:
                runs = runs_for(size, quick)
                row = [f"{size}"]
                ratios = []
                for op in ("create", "get", "update", "predict"):
                    calls = max(5, runs // 4) if op == "predict" else runs
                    mem, file = interleaved_us(
                        _op(memory, op, size, calls), _op(durable, op, size, calls), calls
                    )
                    row += [f"{mem:,.0f}", f"{file:,.0f}", f"{file / mem:.1f}x"]
                    ratios.append(f"{op} {file / mem:.1f}x")
                rows.append(row)
                verdicts.append(f"{size} nodes, file vs memory: {', '.join(ratios)}")
        finally:
            durable.close()
        headers = ["nodes"]
        for op in ("create", "get", "update", "predict"):
            headers += [f"{op} mem us", f"{op} file us", "ratio"]
        table(headers, rows)
    return verdicts


def _op(ws: Any, op: str, size: int, runs: int) -> Callable[[], object]:
    """Set ``op`` up on ``ws`` and return one call of it."""
    if op == "create":
        flows = iter([predictable_flow(size) for _ in range(runs)])
        return lambda: ws.create_chatflow(next(flows))
    saved = ws.create_chatflow(predictable_flow(size))
    if op == "get":
        return lambda: len(ws.get_chatflow(saved.id).nodes)
    if op == "update":
        return lambda: ws.update_chatflow(saved)
    if op == "predict":
        ws.predict(saved.id, "warm up")
        return lambda: ws.predict(saved.id, "what is flowkit?")
    raise ValueError(op)


def _store_ops(tmp: Path, quick: bool) -> list[str]:
    rows = []
    with SQLiteStore(tmp / "ops.db") as store:
        for size in SIZES:
            runs = runs_for(size, quick)
            rows.append(_store_row(store, size, runs))
    headers = ["nodes"]
    for op in ("create", "get", "update"):
        headers += [f"{op} mem us", f"{op} file us", "ratio"]
    table(headers, rows)
    return []


def _store_row(store: SQLiteStore, size: int, runs: int) -> list[str]:
    """The in-memory reference keeps deep copies in a dict, as a memory store does."""
    kept: dict[str, Chatflow] = {}
    flows = [chain_flow(size) for _ in range(runs)]
    to_memory = iter(flows)
    to_file = iter(flows)

    def mem_create() -> None:
        flow = next(to_memory)
        kept[flow.id] = flow.model_copy(deep=True)

    one = flows[0]
    figures = [
        median_us(mem_create, runs),
        median_us(lambda: store.save(next(to_file)), runs),
        median_us(lambda: len(kept[one.id].model_copy(deep=True).nodes), runs),
        median_us(lambda: len(store.get(Chatflow, one.id).nodes), runs),
        median_us(lambda: kept.__setitem__(one.id, one.model_copy(deep=True)), runs),
        median_us(lambda: store.replace(one), runs),
    ]
    row = [f"{size}"]
    for mem, file in zip(figures[::2], figures[1::2], strict=True):
        row += [f"{mem:,.0f}", f"{file:,.0f}", f"{file / mem:.1f}x"]
    return row


# ---- 3. a file of 10,000 chatflows ---------------------------------------------------------


def build_file(path: Path, count: int, size: int = 10) -> None:
    template = chain_flow(size).to_flowise()
    with SQLiteStore(path) as store:
        for n in range(count):
            store.save(Chatflow.from_flowise(template, name=f"flow {n}"))


def open_and_list(quick: bool) -> list[str]:
    count = 2_000 if quick else 10_000
    print(f"\n== 3. opening a file of {count:,} chatflows (10 nodes each) and listing them ==")
    with folder() as tmp:
        path = tmp / "many.db"
        start = time.perf_counter()
        build_file(path, count)
        print(f"(built in {time.perf_counter() - start:.1f}s)")
        runs = 3 if quick else 5

        def open_list() -> int:
            with SQLiteStore(path) as store:
                return len(store.list(Chatflow))

        def open_list_parse() -> int:
            with SQLiteStore(path) as store:
                return sum(len(f.nodes) for f in store.list(Chatflow))

        lazy = median_us(open_list, runs) / 1000
        eager = median_us(open_list_parse, runs) / 1000
        table(
            ["what", "ms"],
            [
                ["open + list (graphs parsed lazily)", f"{lazy:,.1f}"],
                ["open + list + parse every graph", f"{eager:,.1f}"],
                ["ratio parse-all / lazy", f"{eager / lazy:.1f}x"],
            ],
        )
        verdicts = [
            f"open + list {count:,} flows: {lazy:,.0f} ms ({eager / lazy:.1f}x cheaper "
            "than parsing every graph)"
        ]
        verdicts += get_by_id(path, tmp, count, quick)
    return verdicts


# ---- 4. get by id vs file size -------------------------------------------------------------


def get_by_id(many: Path, tmp: Path, count: int, quick: bool) -> list[str]:
    print(f"\n== 4. get by id: a file of 100 flows vs one of {count:,} ==")
    few = tmp / "few.db"
    build_file(few, 100)
    runs = 200 if quick else 1000
    with SQLiteStore(few) as small, SQLiteStore(many) as large:
        probes = []
        for store in (small, large):
            ids = [f.id for f in store.list(Chatflow)]
            probes.append(iter([ids[(i * 7919) % len(ids)] for i in range(runs)]))
        figures = interleaved_us(
            lambda: small.get(Chatflow, next(probes[0])),
            lambda: large.get(Chatflow, next(probes[1])),
            runs,
        )
    ratio = figures[1] / figures[0]
    table(
        ["file", "get us"],
        [
            ["100 flows", f"{figures[0]:,.0f}"],
            [f"{count:,} flows", f"{figures[1]:,.0f}"],
            ["ratio", f"{ratio:.2f}x"],
        ],
    )
    return [f"get by id, {count:,} vs 100 flows: {ratio:.2f}x"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, 2,000 flows")
    args = parser.parse_args(argv)
    verdicts = save_vs_json(args.quick)
    verdicts += workspace_ops(args.quick)
    verdicts += open_and_list(args.quick)
    print("\n== summary ==")
    for line in verdicts:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
