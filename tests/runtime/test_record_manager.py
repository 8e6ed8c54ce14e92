"""upsert_documents: the same chunks again are skipped, a source's vanished chunks deleted."""

from __future__ import annotations

import threading

from hypothesis import given
from hypothesis import strategies as st

from flowkit.runtime.offline import HashingEmbeddings, VectorIndex
from flowkit.runtime.record_manager import upsert_documents
from flowkit.runtime.results import Document


class CountingEmbeddings(HashingEmbeddings):
    """Counts the texts it embeds (to show skipped chunks are not embedded again)."""

    embedded: int = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:  # type: ignore[override]
        type(self).embedded += len(texts)
        return super().embed_documents(texts)


def _docs(source: str | None, *texts: str) -> list[Document]:
    meta = {} if source is None else {"source": source}
    return [Document(page_content=t, metadata=dict(meta)) for t in texts]


def test_the_same_documents_again_are_skipped_not_duplicated() -> None:
    index = VectorIndex()
    embeddings = CountingEmbeddings(16)
    first = upsert_documents(index, _docs("a.txt", "one", "two"), embeddings)
    before = CountingEmbeddings.embedded
    second = upsert_documents(index, _docs("a.txt", "one", "two"), embeddings)
    assert first == {"num_added": 2, "num_updated": 0, "num_skipped": 0, "num_deleted": 0}
    assert second == {"num_added": 0, "num_updated": 0, "num_skipped": 2, "num_deleted": 0}
    assert len(index) == 2
    assert CountingEmbeddings.embedded == before


def test_a_changed_source_replaces_its_old_chunks_only() -> None:
    index = VectorIndex()
    embeddings = HashingEmbeddings(16)
    upsert_documents(index, _docs("a.txt", "one", "two") + _docs("b.txt", "three"), embeddings)
    result = upsert_documents(index, _docs("a.txt", "one", "two v2"), embeddings)
    assert result == {"num_added": 1, "num_updated": 0, "num_skipped": 1, "num_deleted": 1}
    texts = sorted(d["page_content"] for d in index.data["documents"])
    assert texts == ["one", "three", "two v2"]
    assert len(index.data["vectors"]) == 3


def test_chunks_without_a_source_are_never_deleted() -> None:
    index = VectorIndex()
    embeddings = HashingEmbeddings(16)
    upsert_documents(index, _docs(None, "x"), embeddings)
    result = upsert_documents(index, _docs(None, "y"), embeddings)
    assert result["num_deleted"] == 0
    assert len(index) == 2


def test_an_index_saved_without_keys_is_deduplicated_too() -> None:
    index = VectorIndex()
    embeddings = HashingEmbeddings(16)
    index.add(_docs("a.txt", "one"), embeddings.embed_documents(["one"]))
    result = upsert_documents(index, _docs("a.txt", "one"), embeddings)
    assert result["num_skipped"] == 1
    assert len(index) == 1


def test_concurrent_upserts_of_the_same_documents_add_them_once() -> None:
    index = VectorIndex()
    embeddings = HashingEmbeddings(16)
    docs = _docs("a.txt", *(f"chunk {n}" for n in range(20)))
    threads = [
        threading.Thread(target=upsert_documents, args=(index, docs, embeddings)) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(index) == 20
    assert len(index.data["vectors"]) == 20


@given(
    st.lists(st.tuples(st.sampled_from(["a", "b", None]), st.text(max_size=4)), max_size=12),
    st.lists(st.tuples(st.sampled_from(["a", "b", None]), st.text(max_size=4)), max_size=12),
)
def test_counts_add_up_and_the_index_holds_each_chunk_once(
    first: list[tuple[str | None, str]], second: list[tuple[str | None, str]]
) -> None:
    index = VectorIndex()
    embeddings = HashingEmbeddings(8)

    def docs(items: list[tuple[str | None, str]]) -> list[Document]:
        return [d for source, text in items for d in _docs(source, text)]

    upsert_documents(index, docs(first), embeddings)
    held = len(index)
    result = upsert_documents(index, docs(second), embeddings)
    assert result["num_added"] + result["num_skipped"] == len(second)
    assert len(index) == held + result["num_added"] - result["num_deleted"]
    stored = [(d["metadata"].get("source"), d["page_content"]) for d in index.data["documents"]]
    assert len(stored) == len(set(stored))
    assert set(second) <= set(stored)
