"""Running flows: the component registry, the executor and the built-in offline components.

A small retrieval flow that runs with no network::

    from flowkit.model import Chatflow
    from flowkit.runtime import builtin_registry, run

    flow = Chatflow(name="docs QA")
    splitter = flow.add_node("recursiveCharacterTextSplitter", category="Text Splitters",
                             inputs={"chunkSize": 400, "chunkOverlap": 0})
    loader = flow.add_node("plainText", category="Document Loaders", inputs={"text": TEXT})
    emb = flow.add_node("hashingEmbeddings", category="Embeddings")
    store = flow.add_node("memoryVectorStore", category="Vector Stores", inputs={"topK": 1})
    model = flow.add_node("fakeChatModel", category="Chat Models")
    chain = flow.add_node("retrievalQAChain", category="Chains")
    flow.connect(splitter, loader, "textSplitter")
    flow.connect(loader, store, "document")
    flow.connect(emb, store, "embeddings")
    flow.connect(store, chain, "vectorStoreRetriever")
    flow.connect(model, chain, "model")

    registry, state = builtin_registry(), {}
    run(flow, store.id, mode="upsert", registry=registry, state=state)   # {"num_added": n}
    run(flow, chain.id, mode="predict", question="...", registry=registry, state=state)

:func:`retrieval_demo_flow` builds that flow: ``retrieval_demo_flow(TEXT)``.
"""

from __future__ import annotations

from flowkit.runtime.builtins import retrieval_demo_flow
from flowkit.runtime.context import Mode, RunContext
from flowkit.runtime.defaults import builtin_registry, component, default_registry
from flowkit.runtime.executor import arun, run
from flowkit.runtime.registry import Component, ComponentRegistry
from flowkit.runtime.results import Document, Prediction, UpsertResult

__all__ = [
    "Component",
    "ComponentRegistry",
    "Document",
    "Mode",
    "Prediction",
    "RunContext",
    "UpsertResult",
    "arun",
    "builtin_registry",
    "component",
    "default_registry",
    "retrieval_demo_flow",
    "run",
]
