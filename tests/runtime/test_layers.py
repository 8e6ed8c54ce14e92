"""The runtime's modules import one way: no module imports another that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

RUNTIME = Path(__file__).resolve().parents[2] / "flowkit" / "runtime"


def imports_of(path: Path) -> set[str]:
    """The flowkit.runtime modules ``path`` imports, anywhere in it (functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found |= {n for n in names if n.startswith("flowkit.runtime.") and n.count(".") == 2}
    return found


def test_runtime_modules_form_no_import_cycle() -> None:
    graph: nx.DiGraph[str] = nx.DiGraph()
    for path in RUNTIME.glob("*.py"):
        if path.name == "__init__.py":
            continue
        module = f"flowkit.runtime.{path.stem}"
        graph.add_node(module)
        graph.add_edges_from((module, target) for target in imports_of(path))

    assert len(graph) >= 7
    assert list(nx.simple_cycles(graph)) == []


def test_runtime_modules_do_not_import_inside_functions() -> None:
    for path in RUNTIME.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = [n for n in ast.walk(func) if isinstance(n, ast.Import | ast.ImportFrom)]
                assert inner == [], f"{path.name}: {func.name} imports inside a function"
