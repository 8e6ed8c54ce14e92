"""Your own components: a chat model, embeddings and a vector store that plug into the
built-in chains, each providing exactly the interface docs/components.md describes.

Run it with ``python examples/components.py``. Everything runs offline.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any

from flowkit import Chatflow, Document, RunContext, Workspace, component
from flowkit.runtime.offline import ChatModel, Embeddings, Retriever


# ---- a chat model: invoke(prompt, context=None) -> str -------------------------------------
class EchoModel:
    """Answers with the first retrieved passage, in capitals."""

    def invoke(self, prompt: str, context: list[Document] | None = None) -> str:
        best = context[0].page_content if context else "I have no documents."
        return best.upper()


@component("echoChatModel", category="Chat Models")
def echo_chat_model(inputs: dict[str, Any], context: RunContext) -> ChatModel:
    return EchoModel()


# ---- embeddings: embed_documents(texts) and embed_query(text) -> vectors -------------------
class LetterEmbeddings:
    """A 26-number vector of letter counts, normalized."""

    def embed_query(self, text: str) -> list[float]:
        counts = [float(text.lower().count(chr(ord("a") + i))) for i in range(26)]
        norm = math.sqrt(sum(c * c for c in counts)) or 1.0
        return [c / norm for c in counts]

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return [self.embed_query(t) for t in texts]


@component("letterEmbeddings", category="Embeddings")
def letter_embeddings(inputs: dict[str, Any], context: RunContext) -> Embeddings:
    return LetterEmbeddings()


# ---- a vector store: upsert -> {"num_added": n}; predict -> a Retriever --------------------
class ListRetriever:
    def __init__(self, rows: list[dict[str, Any]], embeddings: Embeddings) -> None:
        self.rows, self.embeddings = rows, embeddings

    def retrieve(self, query: str) -> list[Document]:
        q = self.embeddings.embed_query(query)

        def score(row: dict[str, Any]) -> float:
            return sum(a * b for a, b in zip(row["vector"], q, strict=True))

        best = max(self.rows, key=score, default=None)
        return [] if best is None else [Document(page_content=best["text"])]


_lock = threading.Lock()  # runs may happen on several threads at once


@component("listVectorStore", category="Vector Stores")
def list_vector_store(inputs: dict[str, Any], context: RunContext) -> dict[str, int] | Retriever:
    embeddings: Embeddings = inputs["embeddings"]
    with _lock:
        # context.state lasts as long as the flow and holds JSON data only.
        rows: list[dict[str, Any]] = context.state.setdefault(context.node.id, [])
        if context.mode == "predict":
            return ListRetriever(list(rows), embeddings)
        # "document" holds a loader's list of documents (a list of lists with several)
        given = inputs.get("document") or []
        documents = [d for item in given for d in (item if isinstance(item, list) else [item])]
        vectors = embeddings.embed_documents([d.page_content for d in documents])
        rows.extend(
            {"vector": v, "text": d.page_content} for v, d in zip(vectors, documents, strict=True)
        )
    return {"num_added": len(documents)}


# ---- a flow that uses all three with the built-in loader and chain -------------------------
flow = Chatflow(name="custom components")
splitter = flow.add_node(
    "recursiveCharacterTextSplitter", inputs={"chunkSize": 25, "chunkOverlap": 0}
)
loader = flow.add_node(
    "plainText",
    category="Document Loaders",
    inputs={"text": "Zebras are striped.\n\nOwls hoot at night."},
)
embeddings = flow.add_node("letterEmbeddings", category="Embeddings")
store = flow.add_node("listVectorStore", category="Vector Stores")
model = flow.add_node("echoChatModel", category="Chat Models")
chain = flow.add_node("retrievalQAChain", category="Chains")
flow.connect(splitter, loader, "textSplitter")
flow.connect(loader, store, "document")
flow.connect(embeddings, store, "embeddings")
flow.connect(store, chain, "vectorStoreRetriever")
flow.connect(model, chain, "model")

workspace = Workspace()
workspace.create_chatflow(flow)
print("Upserted:", workspace.upsert_vector(flow).num_added)
print("Answer:", workspace.predict(flow, "Which animal hoots at night?").text)
