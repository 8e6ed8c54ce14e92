"""examples/rag_on_flowise.py, run as a user runs it, against the suite's Flowise and mock.

``tests/test_examples.py`` runs every other example during ``make test``; this one needs a
server, so it runs here, under ``make test-flowise``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import clean_environ  # tests/conftest.py (tests/ is on sys.path)

from flowkit.client import FlowiseClient

from .conftest import RAG_FLOW, Server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "rag_on_flowise.py"
FLOW_NAME = "RAG on Flowise"
QUESTION = "What is the capital of Zubrowka?"
TIMEOUT = 180


@dataclass(frozen=True)
class Run:
    """One run of the example: what it printed, its folder, its home, its credential."""

    result: subprocess.CompletedProcess[str]
    folder: Path
    home: Path
    credential: str


@pytest.fixture(scope="module")
def run(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """The example, run once in a subprocess with only the server's variables set, under a
    credential name the server does not have yet, on a server without its flow; the
    credential it creates and the flow it applies are deleted afterwards."""
    root = tmp_path_factory.mktemp("rag_example")
    folder, home = root / "flows", root / "home"
    home.mkdir()
    name = f"flowkit-example-{uuid.uuid4().hex[:8]}"
    env = clean_environ()
    env.pop("OPENAI_BASE_URL", None)
    env.update(
        FLOWISE_URL=server.url,
        FLOWISE_API_KEY=server.api_key,
        OPENAI_API_KEY="sk-mock",
        FLOWKIT_HOME=str(home),
        PYTHONIOENCODING="utf-8",
    )
    args = ["--base-url", server.mock_url, "--credential", name, "--folder", str(folder)]
    with FlowiseClient(server.url, api_key=server.api_key) as client:
        _delete_flows(client)  # a flow left by an earlier run would be an update, not a create
    try:
        result = subprocess.run(
            [sys.executable, str(EXAMPLE), *args],
            cwd=home,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        yield Run(result, folder, home, name)
    finally:
        with FlowiseClient(server.url, api_key=server.api_key) as client:
            _delete_flows(client)
            for credential in client.list_credentials("openAIApi"):
                if credential.name == name:
                    client.delete_credential(credential.id)


def _delete_flows(client: FlowiseClient) -> None:
    for flow in client.list_chatflows():
        if flow.name == FLOW_NAME:
            client.delete_chatflow(flow.id)


def after(out: str, prefix: str) -> list[str]:
    """The rest of every line of ``out`` that starts with ``prefix``."""
    return [line[len(prefix) :] for line in out.splitlines() if line.startswith(prefix)]


def test_the_rag_example_applies_asks_streams_and_pulls_back(run: Run) -> None:
    result = run.result
    credential_name = run.credential

    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "Traceback" not in result.stderr
    assert f"Credential {credential_name!r}: created" in out
    assert "  + chatflows/RAG on Flowise\n" in out
    assert "Upserted: 2 chunks into memoryVectorStore_0" in out
    (answer,) = after(out, "Answer: ")
    assert answer.startswith(f"MOCK: {QUESTION}")  # the mock's reply
    assert "Zubrowka is Lutz" in answer  # retrieval reached the upserted text
    (streamed,) = after(out, "Streamed: ")
    (count,) = after(out, "Streamed ")  # "Streamed 36 tokens" ("Streamed:" is the text)
    assert streamed == answer
    assert int(count.split()[0]) > 1
    (chat,) = after(out, "History of chat ")
    assert chat.endswith(": 4 messages")
    history = [line.strip().split(": ", 1) for line in after(out, "  ") if ": " in line]
    messages = [m for m in history if m[0] in ("userMessage", "apiMessage")]
    assert messages == [
        ["userMessage", QUESTION],
        ["apiMessage", answer],
        ["userMessage", QUESTION],
        ["apiMessage", streamed],
    ]
    assert "Pulled: chatflows/RAG on Flowise.json (unchanged)" in out
    assert "flowkit plan after pull: No changes: the workspace matches the folder." in out
    assert out.rstrip().endswith("flowkit plan exit status: 0")


def test_the_pulled_file_names_the_credential_and_the_server_runs_the_flow(
    run: Run, client: FlowiseClient, server: Server
) -> None:
    folder, home, credential_name = run.folder, run.home, run.credential

    assert run.result.returncode == 0, run.result.stdout + run.result.stderr
    text = (folder / "chatflows" / "RAG on Flowise.json").read_text(encoding="utf-8")
    (credential,) = [c for c in client.list_credentials("openAIApi") if c.name == credential_name]
    (flow,) = [f for f in client.list_chatflows() if f.name == FLOW_NAME]
    nodes = {n["id"]: n["data"] for n in json.loads(text)["nodes"]}
    assert credential.id not in text
    assert nodes["chatOpenAI_0"]["credential"] == f"credential:{credential_name}"
    assert nodes["openAIEmbeddings_0"]["credential"] == f"credential:{credential_name}"
    assert flow.node("chatOpenAI_0").credential == credential.id  # resolved on apply
    assert flow.node("chatOpenAI_0").inputs["basepath"] == server.mock_url
    handles = {(e.source, e.source_handle, e.target, e.target_handle) for e in flow.edges}
    assert handles == {  # as Flowise's UI wrote them in the vendored RAG export
        (e["source"], e["sourceHandle"], e["target"], e["targetHandle"])
        for e in json.loads(RAG_FLOW.read_text(encoding="utf-8"))["edges"]
    }
    assert list(home.iterdir()) == []  # the example wrote nothing outside its folder
