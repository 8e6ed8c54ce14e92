"""RAG on a real Flowise: build a retrieval flow in code, apply it as code, upsert, ask, stream,
read the chat history, and pull the folder back.

Needs a running Flowise 3.x, an API key for it, and an OpenAI-compatible API that the
*server* calls for the chat model and the embeddings::

    export FLOWISE_URL=http://127.0.0.1:3000 FLOWISE_API_KEY=...
    export OPENAI_API_KEY=sk-...          # only to create the credential (below)
    python examples/rag_on_flowise.py [--base-url URL] [--credential NAME] [--folder DIR]

- ``FLOWISE_URL`` / ``FLOWISE_API_KEY``: the server and its key, as for every flowkit command.
- ``--base-url`` (default: ``OPENAI_BASE_URL``; neither: OpenAI's own API): written into the
  ``basepath`` input of both OpenAI nodes, e.g. ``http://127.0.0.1:8000/v1`` for a local
  OpenAI-compatible server. Flowise calls it, not this program.
- ``--credential`` (default ``openai``): the name of an ``openAIApi`` credential on the
  server. When the server has none of that name, it is created from ``OPENAI_API_KEY``.
- ``--folder`` (default: a new temporary folder): the flows-as-code folder.

The steps: build the flow with :meth:`Chatflow.add_node` and :meth:`Chatflow.connect`
(Flowise's own component names); write it into ``DIR/chatflows/RAG on Flowise.json``, its
credential by name; ``plan`` and ``apply`` the folder to the server; upsert the text; ask a
question; ask it again streamed, printing tokens as they come; read the conversation back;
``pull`` the folder and run ``flowkit plan DIR``, which exits 0: nothing left to change.
The flow stays on the server (delete it in the UI, or with ``flowkit apply --prune`` from a
folder without it). Errors are one line on standard error, exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowkit import Chatflow, Node, Workspace
from flowkit.client import FlowiseClient
from flowkit.errors import FlowkitError
from flowkit.gitops import apply, file_name, plan, pull

NAME = "RAG on Flowise"
QUESTION = "What is the capital of Zubrowka?"
TEXT = (
    "The capital of the imaginary country Zubrowka is Lutz. "
    "The secret code of the blue door is 4711. "
    "Bananas are yellow and grow in tropical climates. "
    "Flowise stores chat history in a SQLite database by default."
)


@dataclass(frozen=True)
class Component:
    """What Flowise 3.1.4's UI writes into a node of one component, besides its inputs.

    :param name: the component name (``data.name``), e.g. ``"chatOpenAI"``.
    :param label: its display label.
    :param category: its category: Flowise finds vector stores, chains, ... by it.
    :param version: the component version the node was made for.
    :param output: the name of the output the node gives.
    :param types: that output's types, ``"A|B"`` (they end Flowise's handle ids).
    :param anchors: the inputs that take another node: name -> type.
    :param chosen: the component has several outputs: ``data.outputs`` names the one used.
    """

    name: str
    label: str
    category: str
    version: float
    output: str
    types: str
    anchors: dict[str, str] = field(default_factory=dict)
    chosen: bool = False


SPLITTER = Component(
    "recursiveCharacterTextSplitter",
    "Recursive Character Text Splitter",
    "Text Splitters",
    2,
    "recursiveCharacterTextSplitter",
    "RecursiveCharacterTextSplitter|TextSplitter|BaseDocumentTransformer|Runnable",
)
PLAIN_TEXT = Component(
    "plainText",
    "Plain Text",
    "Document Loaders",
    2,
    "document",
    "Document|json",
    {"textSplitter": "TextSplitter"},
    chosen=True,
)
EMBEDDINGS = Component(
    "openAIEmbeddings",
    "OpenAI Embeddings",
    "Embeddings",
    4,
    "openAIEmbeddings",
    "OpenAIEmbeddings|Embeddings",
)
VECTOR_STORE = Component(
    "memoryVectorStore",
    "In-Memory Vector Store",
    "Vector Stores",
    1,
    "retriever",
    "Memory|VectorStoreRetriever|BaseRetriever",
    {"document": "Document", "embeddings": "Embeddings"},
    chosen=True,
)
CHAT_MODEL = Component(
    "chatOpenAI",
    "ChatOpenAI",
    "Chat Models",
    8.3,
    "chatOpenAI",
    "ChatOpenAI|BaseChatOpenAI|BaseChatModel|BaseLanguageModel|Runnable",
    {"cache": "BaseCache"},
)
CHAIN = Component(
    "conversationalRetrievalQAChain",
    "Conversational Retrieval QA Chain",
    "Chains",
    3,
    "conversationalRetrievalQAChain",
    "ConversationalRetrievalQAChain|BaseChain|Runnable",
    {"model": "BaseChatModel", "vectorStoreRetriever": "BaseRetriever", "memory": "BaseMemory"},
)
LIST_INPUTS = {("memoryVectorStore", "document")}
"""Inputs Flowise declares as lists (``"list": true`` on the anchor): ``connect`` then
writes the source's reference into a list."""


def _param_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string" if isinstance(value, str) else "json"


def add(
    flow: Chatflow, component: Component, inputs: dict[str, Any], credential: str | None = None
) -> Node:
    """Add a node of ``component`` with the data Flowise reads besides its inputs.

    Flowise 3.1.4 reads ``data.inputParams`` of every node when it resolves inputs (without
    the list, the upsert and the prediction fail: ``Cannot read properties of undefined
    (reading 'find')``) and ``data.outputAnchors`` of a document loader (without it, the
    prediction fails: ``reading 'length'``); its UI draws an edge only between anchors whose
    ids are the edge's handles. ``add_node`` keeps such ``data`` fields verbatim, and
    :meth:`Chatflow.connect` takes the handles from the anchors.

    :param credential: the credential's name, as a flows-as-code folder writes it.
    """
    node = flow.add_node(
        component.name,
        category=component.category,
        label=component.label,
        inputs=inputs,
        credential=f"credential:{credential}" if credential else None,
        version=component.version,
    )
    params = [
        {"label": key, "name": key, "type": kind, "id": f"{node.id}-input-{key}-{kind}"}
        for key, kind in ((k, _param_type(v)) for k, v in inputs.items())
    ]
    if credential:
        params.insert(0, _credential_param(node.id))
    anchors = [
        {"label": key, "name": key, "type": kind, "id": f"{node.id}-input-{key}-{kind}"}
        | ({"list": True} if (component.name, key) in LIST_INPUTS else {})
        for key, kind in component.anchors.items()
    ]
    output = {
        "id": f"{node.id}-output-{component.output}-{component.types}",
        "name": component.output,
        "label": component.label,
        "type": component.types.replace("|", " | "),
    }
    data: dict[str, Any] = {
        "inputParams": params,
        "inputAnchors": anchors,
        "outputAnchors": [output],
    }
    if component.chosen:
        data["outputs"] = {"output": component.output}
    node.data_extra = {**node.data_extra, **data}
    return node


def _credential_param(node_id: str) -> dict[str, Any]:
    return {
        "label": "Connect Credential",
        "name": "credential",
        "type": "credential",
        "credentialNames": ["openAIApi"],
        "id": f"{node_id}-input-credential-credential",
    }


def build_flow(base_url: str, credential: str) -> Chatflow:
    """The RAG flow: text -> splitter -> embeddings -> in-memory vector store -> a
    conversational retrieval QA chain on ChatOpenAI."""
    flow = Chatflow(name=NAME)
    splitter = add(flow, SPLITTER, {"chunkSize": 120, "chunkOverlap": 10})
    text = add(flow, PLAIN_TEXT, {"text": TEXT})
    embeddings = add(
        flow,
        EMBEDDINGS,
        {"modelName": "text-embedding-3-small", "basepath": base_url},
        credential,
    )
    store = add(flow, VECTOR_STORE, {"topK": 2})
    model = add(
        flow,
        CHAT_MODEL,
        {"modelName": "gpt-4o-mini", "temperature": 0, "streaming": True, "basepath": base_url},
        credential,
    )
    chain = add(flow, CHAIN, {"returnSourceDocuments": True})
    flow.connect(splitter, text, "textSplitter")
    flow.connect(text, store, "document")
    flow.connect(embeddings, store, "embeddings")
    flow.connect(model, chain, "model")
    flow.connect(store, chain, "vectorStoreRetriever")
    flow.check()
    return flow


def ensure_credential(client: FlowiseClient, name: str) -> str:
    """Return how the server's ``openAIApi`` credential ``name`` was found or made.

    :raises FlowkitError: when it is missing and ``OPENAI_API_KEY`` is not set.
    """
    if any(c.name == name for c in client.list_credentials("openAIApi")):
        return f"Credential {name!r}: on the server already"
    key = os.environ.get("OPENAI_API_KEY")
    if not key:
        raise FlowkitError(
            f"the server has no openAIApi credential named {name!r}: set OPENAI_API_KEY to "
            "create it, or pass --credential NAME of one it has"
        )
    client.create_credential(name, "openAIApi", {"openAIApiKey": key})
    return f"Credential {name!r}: created"


def write_flow(folder: Path, flow: Chatflow) -> Path:
    """Write ``flow`` as Flowise exports it into ``folder/chatflows/``; return the file."""
    path = folder / "chatflows" / file_name(flow.name)  # "RAG on Flowise.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(flow.to_flowise(), indent=2) + "\n", encoding="utf-8")
    return path


def run(folder: Path, base_url: str, credential: str) -> None:
    """Every step against the server of ``FLOWISE_URL``."""
    with FlowiseClient() as client:
        print(f"Server: {client.base_url} (Flowise {client.version()})")
        print(ensure_credential(client, credential))

    flow = build_flow(base_url, credential)
    path = write_flow(folder, flow)
    print(f"Built {flow.name!r}: {len(flow.nodes)} nodes, {len(flow.edges)} edges")
    print(f"Wrote {path.relative_to(folder)} into {folder}")

    with Workspace.connect() as workspace:
        changes = plan(workspace, folder)
        print("Plan:", *(change.line for change in changes.changes), changes.summary, sep="\n  ")
        apply(workspace, changes)
        saved = next(f for f in workspace.chatflows if f.name == NAME)
        print(f"Applied: chatflow {saved.id}")

        upserted = workspace.upsert_vector(saved)
        print(f"Upserted: {upserted.num_added} chunks into {upserted.stop_node_id}")

        chat_id = f"rag-example-{uuid.uuid4().hex[:8]}"
        print(f"Question: {QUESTION}")
        answer = workspace.predict(saved, QUESTION, chat_id=chat_id)
        print(f"Answer: {answer.text}")
        print(f"Sources: {len(answer.source_documents or [])} documents")

        print("Streamed: ", end="", flush=True)
        tokens: list[str] = []
        for event in workspace.stream(saved, QUESTION, chat_id=chat_id):
            if event.event == "token":
                tokens.append(event.data)
                print(event.data, end="", flush=True)
        print(f"\nStreamed {len(tokens)} tokens")

        history = workspace.chat_messages(saved, chat_id=chat_id)
        print(f"History of chat {chat_id}: {len(history)} messages")
        for message in history:
            print(f"  {message.role.value}: {message.content}")

        pulled = pull(workspace, folder)
        for kind, paths in (("written", pulled.written), ("unchanged", pulled.unchanged)):
            for relative in paths:
                print(f"Pulled: {relative} ({kind})")

    done = subprocess.run(
        [sys.executable, "-m", "flowkit", "plan", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    print("flowkit plan after pull:", (done.stdout + done.stderr).strip())
    print(f"flowkit plan exit status: {done.returncode}")


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run every step, and turn a flowkit error into one line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--base-url",
        default=os.environ.get("OPENAI_BASE_URL", ""),
        help="OpenAI-compatible API the server calls (default: OPENAI_BASE_URL, else OpenAI)",
    )
    parser.add_argument("--credential", default="openai", help="openAIApi credential name")
    parser.add_argument("--folder", type=Path, help="flows-as-code folder (default: temporary)")
    args = parser.parse_args(argv)
    folder = args.folder or Path(tempfile.mkdtemp(prefix="rag-on-flowise-"))
    try:
        run(folder, args.base_url, args.credential)
    except FlowkitError as exc:
        print(f"rag_on_flowise: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
