"""Upserting documents into a vector index without duplicates, as Flowise's record manager
does: :func:`upsert_documents`.

Each stored chunk is keyed by the hash of its content and metadata, and grouped by its
``metadata["source"]``. Upserting again:

- a chunk whose key is stored already is skipped (not embedded, not added);
- a new chunk is embedded and added;
- a stored chunk of a source the batch brings, whose key the batch no longer has, is
  deleted (the file changed: its old chunks go). Chunks without a source are never deleted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from flowkit.runtime.offline import Embeddings, VectorIndex
from flowkit.runtime.results import Document

__all__ = ["document_key", "upsert_documents"]

_KEYS = "keys"


def _key(page_content: str, metadata: Any) -> str:
    text = json.dumps([page_content, metadata], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def document_key(document: Document) -> str:
    """The key a chunk is stored under: sha256 of its content and metadata."""
    return _key(document.page_content, document.metadata)


def _source(metadata: Any) -> str | None:
    source = metadata.get("source") if isinstance(metadata, dict) else None
    return source if isinstance(source, str) else None


def upsert_documents(
    index: VectorIndex, documents: Sequence[Document], embeddings: Embeddings
) -> dict[str, int]:
    """Add ``documents`` to ``index``, skipping those stored already and deleting the stored
    chunks of their sources that the batch no longer has.

    Thread-safe with every other use of :class:`VectorIndex`; only the new chunks are
    embedded (outside the lock).

    :returns: ``{"num_added", "num_updated", "num_skipped", "num_deleted"}`` (``num_updated``
        is always 0: a changed chunk is a new key, its old version deleted).
    """
    batch: dict[str, Document] = {}
    for document in documents:
        batch.setdefault(document_key(document), document)
    duplicates = len(documents) - len(batch)
    with VectorIndex._lock:
        stored = set(_stored_keys(index))
    fresh = {k: d for k, d in batch.items() if k not in stored}
    vectors = embeddings.embed_documents([d.page_content for d in fresh.values()])
    dumped = [d.model_dump(mode="json") for d in fresh.values()]
    floats = [[float(x) for x in v] for v in vectors]
    sources = {s for d in batch.values() if (s := _source(d.metadata)) is not None}
    with VectorIndex._lock:
        data = index.data
        keys = _stored_keys(index)
        keep = [
            i
            for i, (key, doc) in enumerate(zip(keys, data["documents"], strict=True))
            if key in batch
            or _source(doc.get("metadata") if isinstance(doc, dict) else None) not in sources
        ]
        deleted = len(keys) - len(keep)
        present = {keys[i] for i in keep}
        new = [
            (k, doc, vec)
            for k, doc, vec in zip(fresh, dumped, floats, strict=True)
            if k not in present
        ]
        data["documents"] = [data["documents"][i] for i in keep] + [doc for _, doc, _ in new]
        data["vectors"] = [data["vectors"][i] for i in keep] + [vec for _, _, vec in new]
        data[_KEYS] = [keys[i] for i in keep] + [k for k, _, _ in new]
    return {
        "num_added": len(new),
        "num_updated": 0,
        "num_skipped": len(batch) - len(new) + duplicates,
        "num_deleted": deleted,
    }


def _stored_keys(index: VectorIndex) -> list[str]:
    """The keys of the stored chunks (computed for an index saved before keys were kept)."""
    data = index.data
    keys = data.get(_KEYS)
    if not isinstance(keys, list) or len(keys) != len(data["documents"]):
        keys = [
            _key(str(doc.get("page_content", "")), doc.get("metadata", {}))
            if isinstance(doc, dict)
            else ""
            for doc in data["documents"]
        ]
        data[_KEYS] = keys
    return keys
