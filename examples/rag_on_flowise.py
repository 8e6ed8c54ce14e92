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

The steps: build the flow with :meth:`Chatflow.add_flowise_node` and
:meth:`Chatflow.connect` (Flowise's own component names, made as its editor makes them);
write it into ``DIR/chatflows/RAG on Flowise.json``, its credential by name; ``plan`` and
``apply`` the folder to the server; upsert the text; ask a question; ask it again streamed,
printing tokens as they come; read the conversation back; ``pull`` the folder and run
``flowkit plan DIR``, which exits 0: nothing left to change. The flow stays on the server
(delete it in the UI, or with ``flowkit apply --prune`` from a folder without it).
Errors are one line on standard error, exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from flowkit import Chatflow, Workspace
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


def build_flow(base_url: str, credential: str) -> Chatflow:
    """The RAG flow: text -> splitter -> embeddings -> in-memory vector store -> a
    conversational retrieval QA chain on ChatOpenAI.

    :meth:`Chatflow.add_flowise_node` makes each node as Flowise's editor does (inputs at
    their defaults, input and output anchors, base classes, version), so the server runs
    it; :meth:`Chatflow.connect` takes the editor's handles from the anchors and names the
    source in the target's input. The credential is named, as a flows-as-code folder
    keeps it: ``apply`` puts the server's id back.
    """
    named = f"credential:{credential}"
    flow = Chatflow(name=NAME)
    splitter = flow.add_flowise_node(
        "recursiveCharacterTextSplitter", inputs={"chunkSize": 120, "chunkOverlap": 10}
    )
    text = flow.add_flowise_node("plainText", inputs={"text": TEXT})
    embeddings = flow.add_flowise_node(
        "openAIEmbeddings",
        inputs={"modelName": "text-embedding-3-small", "basepath": base_url},
        credential=named,
    )
    store = flow.add_flowise_node("memoryVectorStore", inputs={"topK": 2})
    model = flow.add_flowise_node(
        "chatOpenAI",
        inputs={
            "modelName": "gpt-4o-mini",
            "temperature": 0,
            "streaming": True,
            "basepath": base_url,
        },
        credential=named,
    )
    chain = flow.add_flowise_node(
        "conversationalRetrievalQAChain", inputs={"returnSourceDocuments": True}
    )
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
