"""The real-server suite: a Flowise 3.x and an OpenAI-compatible mock on 127.0.0.1.

Run it with ``make test-flowise``, which installs and starts both, sets ``FLOWISE_URL``,
``FLOWISE_API_KEY`` and ``FLOWKIT_MOCK_OPENAI_URL``, and stops everything afterwards. A plain
``pytest`` (``make test``) does not even collect this folder; selecting it (``-m flowise``)
without those variables fails every test, naming the missing ones, instead of passing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from flowkit import Chatflow, Workspace
from flowkit.client import FlowiseClient

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"
RAG_FLOW = DATA / "flowise-server" / "rag-flow.json"
AGENT_FLOW = DATA / "flowise-server" / "agentflow-translator.json"
VARIABLES = ("FLOWISE_URL", "FLOWISE_API_KEY", "FLOWKIT_MOCK_OPENAI_URL")
MOCK_CREDENTIAL = "flowkit-mock-openai"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Collect this folder only when the ``flowise`` marker is selected (``-m flowise``)."""
    if "flowise" in (config.getoption("markexpr") or ""):
        return None
    return True


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here needs the server: mark it ``flowise``."""
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(HERE):
            item.add_marker(pytest.mark.flowise)


@dataclass(frozen=True)
class Server:
    """Where the suite's Flowise and mock are."""

    url: str
    api_key: str
    mock_url: str


@pytest.fixture(scope="session")
def server() -> Server:
    """The running server, from the environment ``make test-flowise`` sets.

    Fails (never skips) when a variable is missing.
    """
    missing = [name for name in VARIABLES if not os.environ.get(name)]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not set: the Flowise suite needs a running server; "
            "run it with `make test-flowise`",
            pytrace=False,
        )
    return Server(*(os.environ[name] for name in VARIABLES))


@pytest.fixture(autouse=True)
def _needs_server(server: Server) -> None:
    """Every test here fails without the server's variables, whatever else it uses."""


@pytest.fixture
def client(server: Server) -> Iterator[FlowiseClient]:
    """A client of the server."""
    with FlowiseClient(server.url, api_key=server.api_key) as client:
        yield client


@pytest.fixture
def workspace(server: Server) -> Iterator[Workspace]:
    """A workspace on the server, with receivers' errors re-raised."""
    with Workspace.connect(server.url, api_key=server.api_key, strict_signals=True) as ws:
        yield ws


@pytest.fixture(scope="session")
def mock_credential(server: Server) -> str:
    """The id of an ``openAIApi`` credential for the mock (created once per session)."""
    with FlowiseClient(server.url, api_key=server.api_key) as client:
        for credential in client.list_credentials("openAIApi"):
            if credential.name == MOCK_CREDENTIAL:
                return credential.id
        made = client.create_credential(MOCK_CREDENTIAL, "openAIApi", {"openAIApiKey": "sk-mock"})
        return made.id


@pytest.fixture
def rag_flow(server: Server, mock_credential: str) -> Chatflow:
    """The RAG test flow (text -> splitter -> mock embeddings -> memory vector store ->
    conversational retrieval QA on the mock chat model), pointed at this run's mock."""
    data: dict[str, Any] = json.loads(RAG_FLOW.read_text())
    for node in data["nodes"]:
        inputs = node["data"].get("inputs", {})
        if "basepath" in inputs:
            inputs["basepath"] = server.mock_url
        if node["data"].get("credential"):
            node["data"]["credential"] = mock_credential
    return Chatflow.from_flowise(data, name="flowkit RAG test")


@pytest.fixture
def agent_flow(server: Server, mock_credential: str) -> Chatflow:
    """The Translator agent flow (v2: Start -> LLM), its model the mock's ChatOpenAI."""
    data: dict[str, Any] = json.loads(AGENT_FLOW.read_text())
    for node in data["nodes"]:
        inputs = node["data"].get("inputs", {})
        if "llmModel" in inputs:
            inputs["llmModel"] = "chatOpenAI"
            inputs["llmModelConfig"] = {
                "credential": "",
                "modelName": "gpt-4o-mini",
                "temperature": 0.9,
                "streaming": True,
                "basepath": server.mock_url,
                "llmModel": "chatOpenAI",
                "FLOWISE_CREDENTIAL_ID": mock_credential,
            }
    return Chatflow.from_flowise(data, name="flowkit translator")
