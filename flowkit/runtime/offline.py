"""The offline, deterministic objects the built-in components return.

A text splitter, hashing embeddings, an in-memory vector store with its retriever, a prompt
template and a fake chat model: enough for a real retrieval flow with no network, and the
same answer for the same input in every process.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from flowkit.runtime.results import Document

__all__ = [
    "ChatModel",
    "Embeddings",
    "FakeChatModel",
    "HashingEmbeddings",
    "MemoryRetriever",
    "Prompt",
    "PromptTemplate",
    "RecursiveCharacterTextSplitter",
    "Retriever",
    "TextSplitter",
    "VectorIndex",
    "words",
]

_WORD = re.compile(r"\w+")
_NAME = re.compile(r"(?<!\{)\{(\w+)\}(?!\})")
_SEPARATORS = ("\n\n", "\n", " ", "")


def words(text: str) -> list[str]:
    """Return the lower-case word tokens of ``text`` (regex ``\\w+``), in order."""
    return _WORD.findall(text.lower())


# ---- the shapes components exchange ------------------------------------------------------


@runtime_checkable
class TextSplitter(Protocol):
    """Anything that splits documents into chunks."""

    def split_documents(self, documents: Sequence[Document]) -> list[Document]:
        """Return the chunks of ``documents``, in order, each with its document's metadata."""
        ...


@runtime_checkable
class Embeddings(Protocol):
    """Anything that turns texts into vectors."""

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """Return one vector per text, in order."""
        ...

    def embed_query(self, text: str) -> list[float]:
        """Return the vector of ``text``."""
        ...


@runtime_checkable
class Retriever(Protocol):
    """Anything that finds the documents relevant to a query."""

    def retrieve(self, query: str) -> list[Document]:
        """Return the documents most relevant to ``query``, best first."""
        ...


@runtime_checkable
class Prompt(Protocol):
    """Anything that formats a prompt from named values."""

    def format(self, **values: object) -> str:
        """Return the prompt text with ``values`` filled in."""
        ...


@runtime_checkable
class ChatModel(Protocol):
    """Anything that answers a prompt, optionally from context documents."""

    def invoke(self, prompt: str, context: list[Document] | None = None) -> str:
        """Return the answer to ``prompt``, drawing on ``context`` when given."""
        ...


# ---- splitter ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecursiveCharacterTextSplitter:
    """LangChain's recursive character splitter: split on ``"\\n\\n"``, then ``"\\n"``, then
    ``" "``, then between characters, and merge the pieces back into chunks.

    Each separator stays at the start of the piece that follows it; chunks are stripped of
    surrounding whitespace and empty ones dropped. Guarantees: no chunk is longer than
    ``chunk_size``; a chunk repeats at most ``chunk_overlap`` characters of the one before;
    every chunk is a substring of the text, and they come in the text's order.

    :param chunk_size: the longest chunk, in characters (> 0).
    :param chunk_overlap: how much of the previous chunk the next may repeat
        (0 <= overlap < chunk_size, as LangChain requires).
    :raises ValueError: when the sizes are out of range.
    """

    chunk_size: int = 1000
    chunk_overlap: int = 200

    def __post_init__(self) -> None:
        if self.chunk_size <= 0:
            raise ValueError(f"chunkSize must be positive, got {self.chunk_size}")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise ValueError(
                f"chunkOverlap must be at least 0 and less than chunkSize ({self.chunk_size}), "
                f"got {self.chunk_overlap}"
            )

    def split_text(self, text: str) -> list[str]:
        """Return the chunks of ``text``, in order."""
        return self._split(text, _SEPARATORS)

    def split_documents(self, documents: Sequence[Document]) -> list[Document]:
        """Split each document; every chunk keeps a copy of its document's metadata."""
        return [
            Document(page_content=chunk, metadata=dict(doc.metadata))
            for doc in documents
            for chunk in self.split_text(doc.page_content)
        ]

    def _split(self, text: str, separators: Sequence[str]) -> list[str]:
        separator, rest = separators[-1], list[str]()
        for i, candidate in enumerate(separators):
            if candidate == "" or candidate in text:
                separator, rest = candidate, list(separators[i + 1 :])
                break
        chunks: list[str] = []
        short: list[str] = []
        for piece in _split_keeping(text, separator):
            if len(piece) < self.chunk_size:
                short.append(piece)
                continue
            if short:
                chunks.extend(self._merge(short))
                short = []
            chunks.extend(self._split(piece, rest) if rest else [piece])
        if short:
            chunks.extend(self._merge(short))
        return chunks

    def _merge(self, pieces: list[str]) -> list[str]:
        chunks: list[str] = []
        current: list[str] = []
        total = 0
        for piece in pieces:
            if current and total + len(piece) > self.chunk_size:
                _append_stripped(chunks, "".join(current))
                while current and (
                    total > self.chunk_overlap or total + len(piece) > self.chunk_size
                ):
                    total -= len(current.pop(0))
            current.append(piece)
            total += len(piece)
        _append_stripped(chunks, "".join(current))
        return chunks


def _split_keeping(text: str, separator: str) -> list[str]:
    if separator == "":
        return list(text)
    parts = text.split(separator)
    pieces = [parts[0], *(separator + p for p in parts[1:])]
    return [p for p in pieces if p]


def _append_stripped(chunks: list[str], text: str) -> None:
    text = text.strip()
    if text:
        chunks.append(text)


# ---- embeddings ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HashingEmbeddings:
    """Bag-of-words vectors by the hashing trick; identical in every process.

    Each word token (:func:`words`) is hashed with ``blake2b(token.encode(), digest_size=8)``
    read as a big-endian unsigned integer ``h``: it adds ``+1`` (when the top bit of ``h`` is
    0) or ``-1`` to component ``h % dimension``. The vector is then L2-normalized (an empty
    text gives the zero vector).

    :param dimension: the vector length (> 0).
    :raises ValueError: when ``dimension`` is not positive.
    """

    dimension: int = 256

    def __post_init__(self) -> None:
        if self.dimension <= 0:
            raise ValueError(f"dimension must be positive, got {self.dimension}")

    def embed_query(self, text: str) -> list[float]:
        """Return the vector of ``text``."""
        vector = [0.0] * self.dimension
        for token in words(text):
            h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "big")
            vector[h % self.dimension] += -1.0 if h >> 63 else 1.0
        norm = math.sqrt(sum(v * v for v in vector))
        return [v / norm for v in vector] if norm else vector

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """Return the vectors of ``texts``, in order."""
        return [self.embed_query(t) for t in texts]


# ---- vector store ----------------------------------------------------------------------------


class VectorIndex:
    """Documents and their vectors, kept in plain JSON data; safe to use from several threads.

    The index is a view over ``data``, a mapping ``{"documents": [{"page_content": ...,
    "metadata": {...}}, ...], "vectors": [[float, ...], ...]}`` that holds nothing but
    JSON values, so a flow's component state can be saved to a file and read back
    (:meth:`flowkit.storage.Store.save_state`). Writers append under a lock; readers take a
    snapshot under the same lock and rank outside it, so a search never sees half an upsert.

    :param data: the data to use (kept, not copied); a new empty index when ``None``.
    :raises ValueError: when ``data`` is not of that shape.
    """

    _lock = threading.Lock()  # one for every index: appends and snapshots are short

    def __init__(self, data: dict[str, list[Any]] | None = None) -> None:
        if data is None:
            data = self.empty()
        documents, vectors = data.get("documents"), data.get("vectors")
        if not isinstance(documents, list) or not isinstance(vectors, list):
            raise ValueError(
                "a vector index's data must be {'documents': [...], 'vectors': [...]}; "
                "clear the node's component state to start it afresh"
            )
        self.data = data

    @staticmethod
    def empty() -> dict[str, list[Any]]:
        """Return the data of an empty index: ``{"documents": [], "vectors": []}``."""
        return {"documents": [], "vectors": []}

    def add(self, documents: Sequence[Document], vectors: Sequence[Sequence[float]]) -> int:
        """Store copies of ``documents`` with their ``vectors``; return how many were added.

        :raises ValueError: when there are not as many vectors as documents.
        """
        pairs = list(zip(documents, vectors, strict=True))
        dumped = [d.model_dump(mode="json") for d, _ in pairs]
        floats = [[float(x) for x in v] for _, v in pairs]
        with self._lock:
            self.data["documents"].extend(dumped)
            self.data["vectors"].extend(floats)
        return len(pairs)

    def __len__(self) -> int:
        return len(self.data["documents"])

    def search(self, vector: Sequence[float], k: int) -> list[Document]:
        """Return copies of the ``k`` documents most similar to ``vector`` (cosine), best
        first; equal scores keep insertion order.

        :raises ValueError: when ``vector``'s length differs from the stored vectors'.
        """
        with self._lock:
            documents = list(self.data["documents"])
            vectors = list(self.data["vectors"])
        if not vectors or k <= 0:
            return []
        if len(vectors[0]) != len(vector):
            raise ValueError(
                f"query vector has {len(vector)} dimensions, stored vectors "
                f"{len(vectors[0])}: use the same embeddings to upsert and to query"
            )
        ranked = sorted((-_cosine(vector, v), i) for i, v in enumerate(vectors))
        return [Document.model_validate(documents[i]) for _, i in ranked[:k]]


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norms if norms else 0.0


@dataclass(frozen=True)
class MemoryRetriever:
    """Finds the ``k`` stored documents most similar to a query.

    :param store: the store searched.
    :param embeddings: embeds the query (use the ones the documents were upserted with).
    :param k: how many documents to return at most.
    """

    store: VectorIndex
    embeddings: Embeddings
    k: int = 4

    def retrieve(self, query: str) -> list[Document]:
        """Return at most ``k`` documents, most similar first (``[]`` when nothing is stored).

        :raises ValueError: when the query's embedding does not match the stored vectors.
        """
        if not len(self.store):
            return []
        return self.store.search(self.embeddings.embed_query(query), self.k)


# ---- prompt and model ----------------------------------------------------------------------


@dataclass(frozen=True)
class PromptTemplate:
    """A template with ``{name}`` placeholders and default values for some of them.

    :param template: the text, e.g. ``"Answer briefly: {question}"``; ``{{`` and ``}}``
        are left alone.
    :param values: values used when :meth:`format` is not given them.
    """

    template: str
    values: dict[str, object] = field(default_factory=dict)

    @property
    def input_variables(self) -> list[str]:
        """The placeholder names, in order of first appearance."""
        return list(dict.fromkeys(_NAME.findall(self.template)))

    def format(self, **values: object) -> str:
        """Fill the placeholders from ``values``, then :attr:`values`; placeholders with no
        value are left as they are (never a KeyError)."""
        known = {**self.values, **values}

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            return str(known[name]) if name in known else match.group(0)

        return _NAME.sub(fill, self.template)


@dataclass(frozen=True)
class FakeChatModel:
    """A deterministic stand-in for a chat model.

    With context documents it quotes, whole, the one sharing the most distinct words with
    the question (the text after the last ``"Question:"`` in the prompt, else the whole
    prompt); ties go to the earlier document: ``According to the context: "<text>"``.
    Without context it echoes the prompt's question part on one line:
    ``Echo: "<text>"`` (whitespace collapsed, cut at 200 characters).

    :param prefix: put before every answer, verbatim.
    """

    prefix: str = ""

    def invoke(self, prompt: str, context: list[Document] | None = None) -> str:
        """Return the answer to ``prompt``, drawn from ``context`` when given."""
        asked = prompt.rsplit("Question:", 1)[-1]
        if context:
            question = set(words(asked))

            def shared(doc: Document) -> int:
                return len(question.intersection(words(doc.page_content)))

            best = max(context, key=shared)  # the first of equals wins
            return f'{self.prefix}According to the context: "{best.page_content}"'
        line = " ".join(asked.split())
        if len(line) > 200:
            line = line[:199] + "…"
        return f'{self.prefix}Echo: "{line}"'
