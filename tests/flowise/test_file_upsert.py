"""A flow built in code with ``add_flowise_node`` whose only text is the file sent with the
upsert: a text-file loader, a splitter, the mock's embeddings and an in-memory store (and a
chain on the mock's model, to end the flow). What the server adds is what the uploaded file
holds, so the multipart upload through ``Workspace.upsert_vector(files=...)`` is proven
used."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from flowkit import Chatflow, Workspace
from flowkit.backends.base import Upload

from .conftest import Server

SHORT = "The blue door code is 4711."
LONG = "\n\n".join(
    f"Paragraph {n}: the door number {n} is painted a different colour." for n in range(6)
)


ALLOWED = {"Text File": [{"label": "Txt File", "name": "txtFile", "type": "file", "enabled": True}]}
"""Flowise applies an upload as an override of the loader's file input, and a server
applies overrides only where the flow's API configuration allows them."""


@pytest.fixture(params=["allowed", "not allowed"])
def file_flow(
    request: pytest.FixtureRequest, workspace: Workspace, server: Server, mock_credential: str
) -> Iterator[Chatflow]:
    config = {"overrideConfig": {"status": True, "nodes": ALLOWED}}
    flow = Chatflow(
        name=f"flowkit file upsert, {request.param}",
        api_config=json.dumps(config) if request.param == "allowed" else None,
    )
    splitter = flow.add_flowise_node(
        "recursiveCharacterTextSplitter", inputs={"chunkSize": 80, "chunkOverlap": 1}
    )
    loader = flow.add_flowise_node("textFile")
    embeddings = flow.add_flowise_node(
        "openAIEmbeddings",
        inputs={"modelName": "text-embedding-3-small", "basepath": server.mock_url},
        credential=mock_credential,
    )
    store = flow.add_flowise_node("memoryVectorStore")
    model = flow.add_flowise_node(
        "chatOpenAI", inputs={"basepath": server.mock_url}, credential=mock_credential
    )
    chain = flow.add_flowise_node("conversationalRetrievalQAChain")
    flow.connect(splitter, loader, "textSplitter")
    flow.connect(loader, store, "document")
    flow.connect(embeddings, store, "embeddings")
    flow.connect(store, chain, "vectorStoreRetriever")
    flow.connect(model, chain, "model")
    saved = workspace.create_chatflow(flow)
    try:
        yield saved
    finally:
        workspace.delete_chatflow(saved.id)


def _upsert(workspace: Workspace, flow: Chatflow, text: str) -> int:
    upload = Upload(name="notes.txt", data=text.encode(), mime="text/plain")
    result = workspace.upsert_vector(flow, files=[upload])
    assert result.stop_node_id == "memoryVectorStore_0"
    return result.num_added


def test_what_is_added_is_the_uploaded_files_text(
    workspace: Workspace, file_flow: Chatflow
) -> None:
    short = _upsert(workspace, file_flow, SHORT)
    long = _upsert(workspace, file_flow, LONG)

    if file_flow.api_config is None:  # the loader ran with its own (empty) file
        assert (short, long) == (0, 0)
    else:
        assert short == 1  # one sentence: one chunk
        assert long == 6  # six paragraphs of about 70 characters, chunks of 80: one each
