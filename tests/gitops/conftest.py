"""Workspaces for the flows-as-code tests: in memory and in a real SQLite file."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flowkit import Chatflow, Workspace
from flowkit.model import Assistant, Tool

OpenWorkspace = Callable[[str], Workspace]


@pytest.fixture(params=["memory", "sqlite"])
def open_workspace(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenWorkspace]:
    """Open a workspace by name: in memory, or a SQLite file per name under ``tmp_path``
    (each closed at the end of the test)."""
    opened: list[Workspace] = []

    def open_one(name: str) -> Workspace:
        if request.param == "memory":
            workspace = Workspace()
        else:
            workspace = Workspace.open(tmp_path / f"{name}.db")
        opened.append(workspace)
        return workspace

    yield open_one
    for workspace in opened:
        close = getattr(workspace, "close", None)
        if callable(close):
            close()


def docs_flow(name: str = "Docs QA", credential: str | None = "openai") -> Chatflow:
    """A small chain: prompt and chat model into an LLM chain; the model has a credential."""
    flow = Chatflow(name=name)
    prompt = flow.add_node(
        "promptTemplate", category="Prompts", inputs={"template": "Answer: {question}"}
    )
    model = flow.add_node(
        "chatOpenAI",
        category="Chat Models",
        inputs={"modelName": "gpt-4o-mini", "temperature": 0.9},
        credential=credential,
    )
    chain = flow.add_node("llmChain", category="Chains")
    flow.connect(prompt, chain, "prompt")
    flow.connect(model, chain, "model")
    return flow


def calculator() -> Tool:
    """A custom tool."""
    return Tool(name="calculator", description="adds numbers", func="return $a + $b;")


def helper() -> Assistant:
    """A custom assistant."""
    return Assistant(details={"name": "Helper", "instruction": "Be brief."})


def read(path: Path) -> Any:
    """The JSON of a file."""
    return json.loads(path.read_text(encoding="utf-8"))


def write(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path``."""
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def set_input(path: Path, node_id: str, name: str, value: Any) -> None:
    """Change one input of one node in a pulled chatflow file."""
    data = read(path)
    for node in data["nodes"]:
        if node["id"] == node_id:
            node["data"]["inputs"][name] = value
    write(path, data)


def tool_flow(tool_id: str, name: str = "Uses a tool") -> Chatflow:
    """A flow whose Custom Tool node selects the tool with id ``tool_id``, and an agent flow
    style config deeper down that selects it too."""
    flow = Chatflow(name=name)
    tool = flow.add_node("customTool", category="Tools", inputs={"selectedTool": tool_id})
    agent = flow.add_node(
        "toolAgent",
        category="Agents",
        inputs={"agentTools": [{"agentSelectedToolConfig": {"selectedTool": tool_id}}]},
    )
    flow.connect(tool, agent, "tools")
    return flow
