"""The layers of docs/architecture.md, enforced: the import-linter contract in pyproject.toml
holds on flowkit, fails on a deliberately bad import, and the lower layers import nothing
inside a function to dodge a cycle."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
LOWER_LAYERS = [
    *sorted((ROOT / "flowkit" / "model").glob("*.py")),
    *(ROOT / "flowkit" / f"{name}.py" for name in ("graph", "flowise", "environment", "errors")),
]


def lint_imports(config: Path, cwd: Path, pythonpath: Path | None = None) -> tuple[int, str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    done = subprocess.run(
        [str(LINT_IMPORTS), str(config), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def layer_names() -> tuple[list[list[str]], list[list[str]]]:
    """The contract's top-level layers and the model's, each a list of sibling names."""
    contracts = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]
    by_id = {c["id"]: c for c in contracts["contracts"]}

    def split(layers: list[str]) -> list[list[str]]:
        return [[name.strip() for name in layer.split("|")] for layer in layers]

    return split(by_id["layers"]["layers"]), split(by_id["model"]["layers"])


def skeleton(folder: Path) -> Path:
    """A stand-in ``flowkit`` with one empty module per layer name, each importing the one
    below it (a clean graph), and a copy of pyproject.toml; returns the copy's path."""
    top, model = layer_names()
    package = folder / "flowkit"
    (package / "model").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "model" / "__init__.py").write_text("", encoding="utf-8")
    for layers, prefix, where in (
        (top, "flowkit", package),
        (model, "flowkit.model", package / "model"),
    ):
        for upper, lower in zip(layers, [*layers[1:], []], strict=True):
            for name in upper:
                if (where / name).is_dir():
                    continue
                below = "".join(f"import {prefix}.{n}\n" for n in lower)
                (where / f"{name}.py").write_text(below, encoding="utf-8")
    config = folder / "pyproject.toml"
    shutil.copy(PYPROJECT, config)
    return config


def test_contract_holds_on_flowkit() -> None:
    code, output = lint_imports(PYPROJECT, ROOT)

    assert code == 0, output


def test_contract_fails_on_an_upward_import_and_passes_once_it_is_removed(
    tmp_path: Path,
) -> None:
    config = skeleton(tmp_path)
    enums = tmp_path / "flowkit" / "model" / "enums.py"
    clean, clean_output = lint_imports(config, tmp_path, tmp_path)
    enums.write_text("import flowkit.workspace\n", encoding="utf-8")

    broken, broken_output = lint_imports(config, tmp_path, tmp_path)
    enums.write_text("", encoding="utf-8")
    fixed, fixed_output = lint_imports(config, tmp_path, tmp_path)

    assert clean == 0, clean_output
    assert broken == 1, broken_output
    assert "flowkit.model.enums -> flowkit.workspace" in broken_output
    assert fixed == 0, fixed_output


def test_contract_fails_when_siblings_import_each_other(tmp_path: Path) -> None:
    config = skeleton(tmp_path)
    (tmp_path / "flowkit" / "graph.py").write_text("import flowkit.flowise\n", encoding="utf-8")

    code, output = lint_imports(config, tmp_path, tmp_path)

    assert code == 1
    assert "flowkit.graph -> flowkit.flowise" in output


@pytest.mark.parametrize("path", LOWER_LAYERS, ids=lambda p: p.name)
def test_lower_layers_import_nothing_inside_a_function(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    late = [
        f"{path.name}:{inner.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(node)
        if isinstance(inner, ast.Import | ast.ImportFrom)
    ]

    assert late == [], f"move these imports to the top of the module: {late}"
