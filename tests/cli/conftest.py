"""Fixtures for the ``flowkit`` command: a clean working directory, a subprocess runner,
and small flow files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import clean_environ

from .helpers import Result, Run, edge, node, write_json


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run every test in an empty folder of its own, so no ``.env`` of the repository or
    the developer's machine is found."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def run_flowkit(flowkit_home: Path, workdir: Path) -> Run:
    """Run ``python -m flowkit ARGS`` with ``FLOWKIT_HOME`` at the test's empty home, the
    opt-out and destination variables removed, and the test's folder as working directory;
    keyword arguments are extra environment variables."""

    def run(*args: str, timeout: float = 60.0, **env: str) -> Result:
        environ = clean_environ()
        environ.update(FLOWKIT_HOME=str(flowkit_home), PYTHONIOENCODING="utf-8", **env)
        done = subprocess.run(
            [sys.executable, "-m", "flowkit", *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=environ,
            cwd=workdir,
            timeout=timeout,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def good_flow(tmp_path: Path) -> Path:
    """A valid flowData file: loader -> store -> chain <- model."""
    return write_json(
        tmp_path / "good.json",
        {
            "nodes": [
                node("textFile_0", "textFile", "Document Loaders"),
                node("faiss_0", "faiss", "Vector Stores"),
                node("chatOpenAI_0", "chatOpenAI", "Chat Models"),
                node("retrievalQAChain_0", "retrievalQAChain", "Chains"),
            ],
            "edges": [
                edge("textFile_0", "faiss_0"),
                edge("faiss_0", "retrievalQAChain_0"),
                edge("chatOpenAI_0", "retrievalQAChain_0"),
            ],
        },
    )


@pytest.fixture
def dangling_flow(tmp_path: Path) -> Path:
    """A flowData file with an edge to a node that does not exist."""
    return write_json(
        tmp_path / "dangling.json",
        {
            "nodes": [
                node("chatOpenAI_0", "chatOpenAI", "Chat Models"),
                node("llmChain_0", "llmChain", "Chains"),
            ],
            "edges": [
                edge("chatOpenAI_0", "llmChain_0", "e1"),
                edge("llmChain_0", "ghost_3", "e7"),
            ],
        },
    )


@pytest.fixture
def cyclic_flow(tmp_path: Path) -> Path:
    """A loadable flowData file that is not a valid chatflow (a cycle, no ending node)."""
    return write_json(
        tmp_path / "cyclic.json",
        {
            "nodes": [
                node("llmChain_0", "llmChain", "Chains"),
                node("llmChain_1", "llmChain", "Chains"),
            ],
            "edges": [edge("llmChain_0", "llmChain_1"), edge("llmChain_1", "llmChain_0")],
        },
    )
