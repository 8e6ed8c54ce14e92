"""Flows as code between real Flowise servers: a folder pulled from one server applies to a
second, fresh one (credentials resolved by name) and gives equal flows that run there; the
pull -> plan -> edit -> plan -> apply -> plan cycle through ``flowkit`` subprocesses.

Two fresh servers are started for this module (from the cache ``make test-flowise``
installed, with the suite's OpenAI mock), so that both hold only what the tests put there;
``FLOWKIT_FRESH_FLOWISE="URL|KEY URL|KEY"`` reuses two running servers instead (emptied
first).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from flowkit import Chatflow, Tool, Workspace
from flowkit.client import FlowiseClient
from flowkit.gitops import apply, plan, pull

from .conftest import MOCK_CREDENTIAL, RAG_FLOW, Server

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts" / "flowise"
FLOW_NAME = "flowkit gitops RAG"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start(data: Path) -> tuple[str, str]:
    url = subprocess.run(
        ["bash", str(SCRIPTS / "start-flowise.sh"), str(_free_port()), str(data)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout.strip()
    key = subprocess.run(
        ["bash", str(SCRIPTS / "get-apikey.sh"), url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.strip()
    return url, key


def _empty(url: str, key: str) -> None:
    with Workspace.connect(url, api_key=key) as workspace:
        for flow in workspace.chatflows:
            workspace.delete_chatflow(flow.id)
        for tool in workspace.tools:
            workspace.delete_tool(tool.id)
        for assistant in workspace.assistants:
            workspace.delete_assistant(assistant.id)


@pytest.fixture(scope="module")
def fresh(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:
    """Two Flowise servers holding nothing but an ``openAIApi`` credential named
    ``MOCK_CREDENTIAL`` each (two different ids), using the suite's mock."""
    reused = os.environ.get("FLOWKIT_FRESH_FLOWISE", "").split()
    folders: list[Path] = []
    if reused:
        pairs = [tuple(entry.split("|", 1)) for entry in reused]
        for url, key in pairs:
            _empty(url, key)
    else:
        folders = [tmp_path_factory.mktemp(f"flowise-{n}") for n in "ab"]
        with ThreadPoolExecutor(2) as pool:
            pairs = list(pool.map(_start, folders))
    servers = [Server(url, key, server.mock_url) for url, key in pairs]
    try:
        for each in servers:
            with FlowiseClient(each.url, api_key=each.api_key) as client:
                if not any(c.name == MOCK_CREDENTIAL for c in client.list_credentials()):
                    client.create_credential(MOCK_CREDENTIAL, "openAIApi", {"openAIApiKey": "sk"})
        yield servers
    finally:
        for folder in folders:
            subprocess.run(
                ["bash", str(SCRIPTS / "stop-flowise.sh"), str(folder)],
                capture_output=True,
                timeout=60,
                check=False,
            )


def _credential_id(each: Server) -> str:
    with FlowiseClient(each.url, api_key=each.api_key) as client:
        (found,) = [c.id for c in client.list_credentials() if c.name == MOCK_CREDENTIAL]
        return found


def _rag_flow(each: Server) -> Chatflow:
    data: dict[str, Any] = json.loads(RAG_FLOW.read_text(encoding="utf-8"))
    credential = _credential_id(each)
    for node in data["nodes"]:
        inputs = node["data"].get("inputs", {})
        if "basepath" in inputs:
            inputs["basepath"] = each.mock_url
        if node["data"].get("credential"):
            node["data"]["credential"] = credential
    return Chatflow.from_flowise(data, name=FLOW_NAME)


def _tool_flow(tool_id: str) -> Chatflow:
    flow = Chatflow(name="Uses a tool")
    tool = flow.add_node("customTool", category="Tools", inputs={"selectedTool": tool_id})
    agent = flow.add_node("toolAgent", category="Agents")
    flow.connect(tool, agent, "tools")
    return flow


def _flow_tool_flow(flow_id: str) -> Chatflow:
    flow = Chatflow(name="Uses a flow")
    tool = flow.add_flowise_node(
        "ChatflowTool",
        inputs={"selectedChatflow": flow_id, "name": "rag", "description": "asks the RAG flow"},
    )
    agent = flow.add_node("toolAgent", category="Agents")
    flow.connect(tool, agent, "tools")
    return flow


def _graph(flow: Chatflow) -> dict[str, Any]:
    exported = flow.to_flowise()
    return {"nodes": exported["nodes"], "edges": exported["edges"]}


def _flowkit(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FLOWISE_")}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "flowkit", *args],
        cwd=cwd,
        env=environ,
        input="",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_folder_pulled_from_one_server_applies_to_a_fresh_second_one(
    fresh: list[Server], tmp_path: Path
) -> None:
    source_server, target_server = fresh
    _empty(target_server.url, target_server.api_key)
    source_id, target_id = _credential_id(source_server), _credential_id(target_server)
    assert source_id != target_id
    with (
        Workspace.connect(source_server.url, api_key=source_server.api_key) as source,
        Workspace.connect(target_server.url, api_key=target_server.api_key) as target,
    ):
        _empty(source_server.url, source_server.api_key)
        original = source.create_chatflow(_rag_flow(source_server))
        tool = source.create_tool(
            Tool(name="flowkit_adder", description="adds", func="return 1;", color="blue")
        )
        source.create_chatflow(_tool_flow(tool.id))
        source.create_chatflow(_flow_tool_flow(original.id))

        pulled = pull(source, tmp_path / "flows")
        files = "".join(p.read_text("utf-8") for p in (tmp_path / "flows").rglob("*.json"))
        first = plan(target, tmp_path / "flows")
        apply(target, first)
        second = plan(target, tmp_path / "flows")

        assert sorted(pulled.written) == [
            "chatflows/Uses a flow.json",
            "chatflows/Uses a tool.json",
            f"chatflows/{FLOW_NAME}.json",
            "tools/flowkit_adder.json",
        ]
        assert tool.id not in files
        assert original.id not in files
        assert f'"selectedChatflow": "flow:chatflows/{FLOW_NAME}"' in files
        assert source_id not in files
        assert f"credential:{MOCK_CREDENTIAL}" in files
        assert [c.line for c in first.changes] == [
            "+ tools/flowkit_adder",
            "+ chatflows/Uses a flow",
            "+ chatflows/Uses a tool",
            f"+ chatflows/{FLOW_NAME}",
        ]
        assert second.empty
        flows = {flow.name: flow for flow in target.chatflows}
        copy, uses_tool = flows[FLOW_NAME], flows["Uses a tool"]
        assert flows["Uses a flow"].node("ChatflowTool_0").inputs["selectedChatflow"] == copy.id
        (target_tool,) = target.tools
        assert target_tool.id != tool.id
        assert uses_tool.node("customTool_0").inputs["selectedTool"] == target_tool.id
        expected = _graph(original)
        for node in expected["nodes"]:
            if node["data"].get("credential") == source_id:
                node["data"]["credential"] = target_id
        assert _graph(copy) == expected
        assert [t.func for t in target.tools] == ["return 1;"]

        target.upsert_vector(copy)  # the credential resolved on the target: the flow runs
        answer = target.predict(copy, "What is the secret code of the blue door?")
        assert answer.text
        pull(target, tmp_path / "again")

    for path in sorted((tmp_path / "flows").rglob("*.json")):
        again = tmp_path / "again" / path.relative_to(tmp_path / "flows")
        assert again.read_bytes() == path.read_bytes(), path.name


def test_the_cycle_through_flowkit_commands_on_a_server(
    fresh: list[Server], tmp_path: Path
) -> None:
    target = fresh[1]
    _empty(target.url, target.api_key)
    with Workspace.connect(target.url, api_key=target.api_key) as workspace:
        saved = workspace.create_chatflow(_rag_flow(target))
    env = {"FLOWISE_URL": target.url, "FLOWISE_API_KEY": target.api_key}
    file = tmp_path / "flows" / "chatflows" / f"{FLOW_NAME}.json"

    pulled = _flowkit("pull", "flows", env=env, cwd=tmp_path)
    unchanged = _flowkit("plan", "flows", env=env, cwd=tmp_path)
    data = json.loads(file.read_text("utf-8"))
    for node in data["nodes"]:
        if node["id"] == "recursiveCharacterTextSplitter_0":
            node["data"]["inputs"]["chunkSize"] = 60
    file.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    changed = _flowkit("plan", "flows", env=env, cwd=tmp_path)
    applied = _flowkit("apply", "flows", "--yes", env=env, cwd=tmp_path)
    settled = _flowkit("plan", "flows", env=env, cwd=tmp_path)

    assert pulled.returncode == 0, pulled.stderr
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    assert changed.returncode == 2, changed.stderr
    assert changed.stdout.splitlines()[0] == (
        f"~ chatflows/{FLOW_NAME}: nodes changed recursiveCharacterTextSplitter_0 "
        "(inputs chunkSize)"
    )
    assert applied.returncode == 0, applied.stderr
    assert settled.returncode == 0, settled.stdout + settled.stderr
    with Workspace.connect(target.url, api_key=target.api_key) as workspace:
        node = workspace.get_chatflow(saved.id).node("recursiveCharacterTextSplitter_0")
        assert node.inputs["chunkSize"] == 60


def test_server_errors_are_one_line_and_exit_1(fresh: list[Server], tmp_path: Path) -> None:
    target = fresh[1]
    _empty(target.url, target.api_key)
    with Workspace.connect(target.url, api_key=target.api_key) as workspace:
        first = workspace.create_tool(
            Tool(name="twin", description="a", func="return 1;", color="blue")
        )
        second = workspace.create_tool(
            Tool(name="twin", description="b", func="return 2;", color="blue")
        )
    (tmp_path / "flows" / "chatflows").mkdir(parents=True)
    missing = _rag_flow(target).to_flowise()
    for node in missing["nodes"]:
        if node["data"].get("credential"):
            node["data"]["credential"] = "credential:nobody-has-this"
    (tmp_path / "flows" / "chatflows" / "Needs.json").write_text(json.dumps(missing), "utf-8")
    env = {"FLOWISE_URL": target.url, "FLOWISE_API_KEY": target.api_key}

    twins = _flowkit("pull", "pulled", env=env, cwd=tmp_path)
    wrong_key = _flowkit("plan", "flows", env={**env, "FLOWISE_API_KEY": "wrong"}, cwd=tmp_path)
    no_credential = _flowkit("plan", "flows", env=env, cwd=tmp_path)

    for done in (twins, wrong_key, no_credential):
        assert done.returncode == 1, done.stdout + done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert done.stderr.startswith("flowkit: error: ")
    assert first.id in twins.stderr
    assert second.id in twins.stderr
    assert "API key" in wrong_key.stderr
    assert (
        "chatflows/Needs: node 'openAIEmbeddings_0' needs credential 'nobody-has-this'"
        in no_credential.stderr
    )
    assert not (tmp_path / "pulled").exists() or not any((tmp_path / "pulled").rglob("*.json"))
    shutil.rmtree(tmp_path / "flows")
