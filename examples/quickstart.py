"""Quickstart: build a retrieval flow, listen to its signals, upsert, ask.

Run it with ``make demo`` or ``python examples/quickstart.py``. Everything runs offline
with flowkit's built-in components.
"""

from __future__ import annotations

from typing import Any

from flowkit import Chatflow, Workspace, signals

TEXT = """\
flowkit keeps every chatflow as one networkx MultiDiGraph of Flowise nodes and edges.

Telemetry is off when DISABLE_FLOWISE_TELEMETRY=true is set in the environment or in .env.

The vector_upserted event names the vector-store node an upsert stopped at as stopNodeId.
"""

# 1. Build the flow: loader -> vector store <- embeddings; store + model -> QA chain.
flow = Chatflow(name="docs QA")
splitter = flow.add_node(
    "recursiveCharacterTextSplitter", inputs={"chunkSize": 100, "chunkOverlap": 0}
)
loader = flow.add_node("plainText", category="Document Loaders", inputs={"text": TEXT})
embeddings = flow.add_node("hashingEmbeddings", category="Embeddings")
store = flow.add_node("memoryVectorStore", category="Vector Stores", inputs={"topK": 1})
model = flow.add_node("fakeChatModel", category="Chat Models")
chain = flow.add_node("retrievalQAChain", category="Chains")
flow.connect(splitter, loader, "textSplitter")
flow.connect(loader, store, "document")
flow.connect(embeddings, store, "embeddings")
flow.connect(store, chain, "vectorStoreRetriever")
flow.connect(model, chain, "model")

# 2. Listen: every operation sends a blinker signal; receivers take **kwargs.
seen: list[str] = []


@signals.chatflow_created.connect
def on_created(sender: Chatflow, **kwargs: Any) -> None:
    seen.append(f"chatflow_created: {sender.name!r} with {len(sender.nodes)} nodes")


@signals.vector_upserted.connect
def on_upserted(sender: Chatflow, *, stop_node_id: str, result: Any, **kwargs: Any) -> None:
    seen.append(f"vector_upserted: {result.num_added} chunks into {stop_node_id}")


@signals.prediction_sent.connect
def on_predicted(sender: Chatflow, *, question: str, result: Any, **kwargs: Any) -> None:
    seen.append(f"prediction_sent: {question!r} -> {len(result.text)} characters")


# 3. Save, upsert, ask.
workspace = Workspace()
workspace.create_chatflow(flow)
workspace.upsert_vector(flow)
answer = workspace.predict(flow, "How do I turn telemetry off?")

print("Answer:", answer.text)
print("The listener saw:")
for line in seen:
    print("  -", line)
