"""Files sent with an upsert, as Flowise's multipart upsert takes them, in flowkit's own
engine: each fills the loader input its extension names, on both workspace twins and both
stores; wrong arguments are refused before anything runs."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowkit import ArgumentTypeError, AsyncWorkspace, Chatflow, Upload, Workspace, signals
from flowkit.backends.base import UpsertRequest
from flowkit.backends.engine import FILE_INPUTS, upsert_overrides
from flowkit.backends.local import AsyncLocalBackend, LocalBackend
from flowkit.storage.sqlite import SQLiteStore

DOORS = "Doors open at eight.\n\nParking is free.\n\nThe blue door code is 4711."


PLACEHOLDER = (
    "data:text/plain;base64,"
    + base64.b64encode(b"Nothing here.").decode()
    + (",filename:placeholder.txt")
)


def file_flow() -> Chatflow:
    """textFile -> splitter -> hashing embeddings -> memory store -> retrieval QA on the fake
    model. The loader's own file is a placeholder, never upserted here: a prediction runs the
    loader again (its output unused in predict mode), and only the upload may be stored."""
    flow = Chatflow(name="files")
    splitter = flow.add_flowise_node(
        "recursiveCharacterTextSplitter", inputs={"chunkSize": 30, "chunkOverlap": 0}
    )
    loader = flow.add_flowise_node("textFile", inputs={"txtFile": PLACEHOLDER})
    embeddings = flow.add_node("hashingEmbeddings", category="Embeddings")
    store = flow.add_flowise_node("memoryVectorStore", inputs={"topK": 1})
    model = flow.add_node("fakeChatModel", category="Chat Models")
    chain = flow.add_flowise_node("retrievalQAChain")
    flow.connect(splitter, loader, "textSplitter")
    flow.connect(loader, store, "document")
    flow.connect(embeddings, store, "embeddings")
    flow.connect(store, chain, "vectorStoreRetriever")
    flow.connect(model, chain, "model")
    return flow


def upload(text: str, name: str = "notes.txt") -> Upload:
    return Upload(name=name, data=text.encode(), mime="text/plain")


@pytest.fixture(params=["memory", "file"])
def workspace(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    store = SQLiteStore(tmp_path / "files.db") if request.param == "file" else None
    with Workspace(LocalBackend(store=store)) as ws:
        yield ws


def test_the_uploaded_files_text_is_what_is_upserted_and_answered(workspace: Workspace) -> None:
    flow = workspace.create_chatflow(file_flow())

    result = workspace.upsert_vector(flow, files=[upload(DOORS)])
    answer = workspace.predict(flow, "What is the blue door code?")

    assert result.num_added == 3  # three paragraphs, chunks of 30 characters
    assert [d.page_content for d in answer.source_documents] == ["The blue door code is 4711."]
    assert answer.source_documents[0].metadata["source"] == "notes.txt"


def test_two_files_of_one_input_are_both_loaded(workspace: Workspace) -> None:
    flow = workspace.create_chatflow(file_flow())

    result = workspace.upsert_vector(
        flow, files=[upload("Kites need wind."), upload("Boats need water.", "boats.txt")]
    )

    assert result.num_added == 2


def test_the_async_twin_loads_files_the_same_way() -> None:
    async def scenario() -> int:
        async with AsyncWorkspace(AsyncLocalBackend()) as ws:
            flow = await ws.create_chatflow(file_flow())
            return (await ws.upsert_vector(flow, files=[upload(DOORS)])).num_added

    assert asyncio.run(scenario()) == 3


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ("notes.txt", "files must be a list of Upload objects, got str"),
        ([b"Kites need wind."], "files must hold flowkit.Upload objects"),
        (upload("x"), "files must be a list"),
    ],
)
def test_files_that_are_not_uploads_are_refused_and_nothing_runs(
    workspace: Workspace, files: Any, says: str
) -> None:
    flow = workspace.create_chatflow(file_flow())
    failed: list[Any] = []
    receiver = signals.operation_failed.connect(lambda s, **kw: failed.append(kw), weak=False)
    try:
        with pytest.raises(ArgumentTypeError, match=says):
            workspace.upsert_vector(flow, files=files)
    finally:
        signals.operation_failed.disconnect(receiver)

    assert [f["operation"] for f in failed] == ["upsert_vector"]
    assert workspace.upsert_history(flow) == []


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([*FILE_INPUTS, ".md", "", ".TXT"]),
            st.binary(max_size=20),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_each_file_fills_the_input_its_extension_names_in_order(
    files: list[tuple[str, bytes]],
) -> None:
    uploads = [Upload(name=f"f{i}{ext}", data=data) for i, (ext, data) in enumerate(files)]
    request = UpsertRequest(flow=Chatflow(name="x"), overrides={"topK": 2}, files=uploads)

    overrides = upsert_overrides(request)

    assert overrides is not None
    assert overrides["topK"] == 2
    expected: dict[str, list[str]] = {}
    for upload_, (ext, _data) in zip(uploads, files, strict=True):
        expected.setdefault(FILE_INPUTS.get(ext.lower(), "txtFile"), []).append(upload_.name)
    got = {
        key: [item.rsplit(",filename:", 1)[1] for item in json.loads(value)]
        for key, value in overrides.items()
        if key != "topK"
    }
    assert got == expected
