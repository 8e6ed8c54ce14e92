"""The built-in components: offline and deterministic, enough for a real retrieval flow.

=================================  =================  ===========================================
component                          category           returns
=================================  =================  ===========================================
``plainText``                      Document Loaders   ``list[Document]``
``textFile``                       Document Loaders   ``list[Document]`` (``source`` = file name)
``recursiveCharacterTextSplitter`` Text Splitters     a :class:`RecursiveCharacterTextSplitter`
``hashingEmbeddings``              Embeddings         a :class:`HashingEmbeddings`
``memoryVectorStore``              Vector Stores      upsert: ``{"num_added": n}``;
                                                      predict: a :class:`MemoryRetriever`
``promptTemplate``                 Prompts            a :class:`PromptTemplate`
``fakeChatModel``                  Chat Models        a :class:`FakeChatModel`
``llmChain``                       Chains             ``{"text": answer}``
``retrievalQAChain``               Chains             ``{"text": answer, "source_documents": docs}``
``bufferMemory``                   Memory             the chat so far (see ``runtime.memory``)
``conversationChain``              Chains             ``{"text": answer}``, with the chat so far
=================================  =================  ===========================================

They are wired as in Flowise: splitter -> loader ``textSplitter``, loader -> store
``document``, embeddings -> store ``embeddings``, store -> chain ``vectorStoreRetriever``,
model -> chain ``model``, prompt -> ``llmChain`` ``prompt``. Inputs accept what Flowise's UI
stores: numbers as strings, ``""`` for "not set", JSON strings for objects. A bad input
raises :class:`~flowkit.errors.ComponentError` naming the node and the input.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flowkit.errors import ComponentError
from flowkit.model import Chatflow
from flowkit.runtime.context import RunContext
from flowkit.runtime.memory import MEMORY_COMPONENTS
from flowkit.runtime.offline import (
    ChatModel,
    Embeddings,
    FakeChatModel,
    HashingEmbeddings,
    MemoryRetriever,
    Prompt,
    PromptTemplate,
    RecursiveCharacterTextSplitter,
    Retriever,
    TextSplitter,
    VectorIndex,
)
from flowkit.runtime.record_manager import upsert_documents
from flowkit.runtime.registry import ComponentRegistry
from flowkit.runtime.results import Document

__all__ = [
    "BUILTIN_NAMES",
    "fake_chat_model",
    "hashing_embeddings",
    "llm_chain",
    "memory_vector_store",
    "plain_text",
    "prompt_template",
    "recursive_character_text_splitter",
    "register_builtins",
    "retrieval_demo_flow",
    "retrieval_qa_chain",
    "text_file",
]

# ---- reading inputs as Flowise stores them -------------------------------------------------


def _unset(value: object) -> bool:
    return value is None or value == ""


def _fail(context: RunContext, message: str) -> ComponentError:
    node = context.node
    return ComponentError(f"node {node.id!r} ({node.name}): {message}", node_id=node.id)


def _integer(
    inputs: dict[str, Any], key: str, default: int, context: RunContext, *, minimum: int = 0
) -> int:
    value = inputs.get(key)
    if _unset(value):
        return default
    if isinstance(value, bool):
        number = float("nan")
    else:
        try:
            number = float(value)  # type: ignore[arg-type]  # what float() refuses is caught
        except (TypeError, ValueError, OverflowError):
            number = float("nan")
    if number.is_integer() and number >= minimum:
        return int(number)
    raise _fail(context, f"input {key!r} must be a whole number >= {minimum}, got {value!r}")


def _mapping(inputs: dict[str, Any], key: str, context: RunContext) -> dict[str, Any]:
    value = inputs.get(key)
    if _unset(value):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise _fail(context, f"input {key!r} is not valid JSON: {value[:80]!r}") from None
    if not isinstance(value, dict):
        raise _fail(context, f"input {key!r} must be an object, got {type(value).__name__}")
    return value


def _required(
    inputs: dict[str, Any], key: str, kind: type[Any], what: str, context: RunContext
) -> Any:
    value = inputs.get(key)
    if _unset(value):
        raise _fail(context, f"input {key!r} is not connected: connect {what} to it")
    # A str has .format and would pass for a prompt; no input here takes a bare string.
    if isinstance(value, str) or not isinstance(value, kind):
        raise _fail(context, f"input {key!r} must be {what}, got {type(value).__name__}")
    return value


def _optional(
    inputs: dict[str, Any], key: str, kind: type[Any], what: str, context: RunContext
) -> Any:
    return None if _unset(inputs.get(key)) else _required(inputs, key, kind, what, context)


def _question(context: RunContext) -> str:
    if context.mode != "predict":
        raise _fail(context, "a chain runs in predict mode only; an upsert stops at a vector store")
    if context.question is None:
        raise _fail(context, "no question to answer: pass question=...")
    return context.question


def _load(
    inputs: dict[str, Any], context: RunContext, texts: list[tuple[str, dict[str, Any]]]
) -> list[Document]:
    splitter: TextSplitter | None = _optional(
        inputs, "textSplitter", TextSplitter, "a text splitter", context
    )
    extra = _mapping(inputs, "metadata", context)
    documents = [Document(page_content=t, metadata={**m, **extra}) for t, m in texts]
    return splitter.split_documents(documents) if splitter is not None else documents


# ---- the components --------------------------------------------------------------------------


def plain_text(inputs: dict[str, Any], context: RunContext) -> list[Document]:
    """``plainText``: input ``text``; optional ``textSplitter``, ``metadata`` (object or JSON).

    :returns: one document, or its chunks when a splitter is connected.
    :raises ComponentError: when ``text`` is not a string or ``metadata`` not an object.
    """
    text = inputs.get("text", "")
    if not isinstance(text, str):
        raise _fail(context, f"input 'text' must be a string, got {type(text).__name__}")
    return _load(inputs, context, [(text, {})])


def text_file(inputs: dict[str, Any], context: RunContext) -> list[Document]:
    """``textFile``: input ``txtFile`` as Flowise stores it, or a file path.

    Flowise stores ``data:text/plain;base64,<b64>,filename:<name>``, or a JSON list of such
    strings for several files; anything else is read as a path on this machine (UTF-8,
    undecodable bytes replaced). Optional ``textSplitter`` and ``metadata``; every
    document's ``metadata["source"]`` is the file name unless ``metadata`` sets it.

    :returns: one document per file, or their chunks when a splitter is connected.
    :raises ComponentError: when ``txtFile`` is missing, malformed or names no readable file.
    """
    value = inputs.get("txtFile")
    if _unset(value):
        raise _fail(context, "input 'txtFile' is empty: give a file path or a data URI")
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            raise _fail(
                context, f"input 'txtFile' is not a valid JSON list: {value[:80]!r}"
            ) from None
    files = value if isinstance(value, list) else [value]
    texts = [_read_file(item, context) for item in files]
    return _load(inputs, context, [(text, {"source": name}) for name, text in texts])


def _read_file(item: object, context: RunContext) -> tuple[str, str]:
    if isinstance(item, str) and item.startswith("data:"):
        head, sep, name = item.rpartition(",filename:")
        payload = head.partition(";base64,")[2] if sep else ""
        if not payload:
            raise _fail(
                context,
                "input 'txtFile': expected 'data:<type>;base64,<data>,"
                f"filename:<name>', got {item[:60]!r}",
            )
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise _fail(context, f"input 'txtFile': bad base64 data for file {name!r}") from None
        return name, data.decode("utf-8", errors="replace")
    if isinstance(item, str | Path):
        path = Path(item)
        try:
            return path.name, path.read_bytes().decode("utf-8", errors="replace")
        except OSError as exc:
            raise _fail(
                context, f"input 'txtFile': cannot read {str(path)!r}: {exc.strerror or exc}"
            ) from exc
    raise _fail(context, f"input 'txtFile' must be a path or data URI, got {type(item).__name__}")


def recursive_character_text_splitter(
    inputs: dict[str, Any], context: RunContext
) -> RecursiveCharacterTextSplitter:
    """``recursiveCharacterTextSplitter``: ``chunkSize`` (default 1000), ``chunkOverlap``
    (default 200, or half of ``chunkSize`` when that is 200 or less); numbers or numeric strings,
    ``""`` meaning the default.

    :raises ComponentError: when a size is not a whole number or out of range.
    """
    size = _integer(inputs, "chunkSize", 1000, context, minimum=1)
    overlap = _integer(inputs, "chunkOverlap", 200 if size > 200 else size // 2, context)
    try:
        return RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=overlap)
    except ValueError as exc:
        raise _fail(context, str(exc)) from None


def hashing_embeddings(inputs: dict[str, Any], context: RunContext) -> HashingEmbeddings:
    """``hashingEmbeddings``: ``dimension`` (default 256).

    :raises ComponentError: when ``dimension`` is not a positive whole number.
    """
    try:
        return HashingEmbeddings(_integer(inputs, "dimension", 256, context, minimum=1))
    except ValueError as exc:
        raise _fail(context, str(exc)) from None


def memory_vector_store(
    inputs: dict[str, Any], context: RunContext
) -> dict[str, int] | MemoryRetriever:
    """``memoryVectorStore``: inputs ``document``, ``embeddings``, ``topK`` (default 4).

    Its data lives in ``context.state`` under the node id, as plain JSON data (see
    :class:`VectorIndex`), so it lasts as long as the flow's state and can be saved to a
    file. Upserts and predictions may run on several threads at once.

    :returns: in upsert mode ``{"num_added", "num_updated", "num_skipped", "num_deleted"}``
        after storing the documents (a list of documents, or of such lists when several
        loaders feed it) without duplicates (see :func:`~flowkit.runtime.record_manager.
        upsert_documents`); in predict mode a :class:`MemoryRetriever` over what was
        upserted before.
    :raises ComponentError: when ``embeddings`` is not connected, ``document`` holds
        something else than documents, or ``topK`` is not a whole number.
    """
    embeddings: Embeddings = _required(
        inputs, "embeddings", Embeddings, "an embeddings node", context
    )
    try:
        store = VectorIndex(context.state.setdefault(context.node.id, VectorIndex.empty()))
    except (ValueError, AttributeError) as exc:
        raise _fail(context, f"its component state cannot be read ({exc})") from None
    if context.mode == "predict":
        return MemoryRetriever(store, embeddings, _integer(inputs, "topK", 4, context, minimum=1))
    documents = _documents(inputs.get("document"), context)
    return upsert_documents(store, documents, embeddings)


def _documents(value: object, context: RunContext) -> list[Document]:
    if _unset(value):
        return []
    items = value if isinstance(value, list) else [value]
    flat: list[Document] = []
    for item in items:
        for doc in item if isinstance(item, list) else [item]:
            if not isinstance(doc, Document):
                raise _fail(
                    context,
                    f"input 'document' must hold documents (connect a "
                    f"document loader), got {type(doc).__name__}",
                )
            flat.append(doc)
    return flat


def prompt_template(inputs: dict[str, Any], context: RunContext) -> PromptTemplate:
    """``promptTemplate``: ``template`` with ``{names}``; ``promptValues`` (object or JSON).

    A value written ``"{{question}}"`` (as Flowise's UI does) stands for the question.

    :raises ComponentError: when ``template`` is not a string or ``promptValues`` not an
        object.
    """
    template = inputs.get("template", "")
    if not isinstance(template, str):
        raise _fail(context, f"input 'template' must be a string, got {type(template).__name__}")
    values: dict[str, object] = {}
    for name, value in _mapping(inputs, "promptValues", context).items():
        if value == "{{question}}":
            if context.question is None:
                continue
            value = context.question
        values[name] = value
    return PromptTemplate(template, values)


def fake_chat_model(inputs: dict[str, Any], context: RunContext) -> FakeChatModel:
    """``fakeChatModel``: optional ``prefix`` put before every answer."""
    prefix = inputs.get("prefix")
    return FakeChatModel(prefix="" if _unset(prefix) else str(prefix))


def llm_chain(inputs: dict[str, Any], context: RunContext) -> dict[str, str]:
    """``llmChain``: inputs ``model`` and ``prompt``.

    :returns: ``{"text": model.invoke(prompt.format(question=question))}``.
    :raises ComponentError: outside predict mode, or when an input is not connected.
    """
    question = _question(context)
    model: ChatModel = _required(inputs, "model", ChatModel, "a chat model", context)
    prompt: Prompt = _required(inputs, "prompt", Prompt, "a prompt template", context)
    return {"text": model.invoke(prompt.format(question=question))}


def retrieval_qa_chain(inputs: dict[str, Any], context: RunContext) -> dict[str, Any]:
    """``retrievalQAChain``: inputs ``model`` and ``vectorStoreRetriever``.

    :returns: ``{"text": answer, "source_documents": docs}``: the documents retrieved for
        the question, and the model's answer with them as context.
    :raises ComponentError: outside predict mode, or when an input is not connected.
    """
    question = _question(context)
    model: ChatModel = _required(inputs, "model", ChatModel, "a chat model", context)
    retriever: Retriever = _required(
        inputs, "vectorStoreRetriever", Retriever, "a vector store", context
    )
    documents = retriever.retrieve(question)
    return {"text": model.invoke(question, documents), "source_documents": documents}


_BUILTINS: tuple[tuple[str, str, Callable[[dict[str, Any], RunContext], Any]], ...] = (
    ("plainText", "Document Loaders", plain_text),
    ("textFile", "Document Loaders", text_file),
    ("recursiveCharacterTextSplitter", "Text Splitters", recursive_character_text_splitter),
    ("hashingEmbeddings", "Embeddings", hashing_embeddings),
    ("memoryVectorStore", "Vector Stores", memory_vector_store),
    ("promptTemplate", "Prompts", prompt_template),
    ("fakeChatModel", "Chat Models", fake_chat_model),
    ("llmChain", "Chains", llm_chain),
    ("retrievalQAChain", "Chains", retrieval_qa_chain),
    *MEMORY_COMPONENTS,
)

BUILTIN_NAMES: tuple[str, ...] = tuple(name for name, _, _ in _BUILTINS)
"""The names of the built-in components, in registration order."""


def register_builtins(registry: ComponentRegistry) -> None:
    """Register every built-in component into ``registry`` (replacing same-named ones)."""
    for name, category, func in _BUILTINS:
        registry.register(name, func, category=category)


def retrieval_demo_flow(
    text: str,
    *,
    name: str = "docs QA",
    chunk_size: int = 400,
    chunk_overlap: int = 0,
    top_k: int = 1,
) -> Chatflow:
    """Build the offline retrieval flow the docs and examples use, from built-ins only.

    ``recursiveCharacterTextSplitter_0`` -> ``plainText_0`` (holding ``text``) ->
    ``memoryVectorStore_0`` <- ``hashingEmbeddings_0``; the store and ``fakeChatModel_0``
    feed ``retrievalQAChain_0``, the ending node. Upsert to ``memoryVectorStore_0``, then
    ask questions of ``retrievalQAChain_0``.

    :param text: the text to load; paragraphs (blank-line separated) shorter than
        ``chunk_size`` become chunks of their own when they do not fit two to a chunk.
    :param name: the flow's name.
    :param chunk_size: the splitter's ``chunkSize``.
    :param chunk_overlap: the splitter's ``chunkOverlap``.
    :param top_k: how many chunks the store retrieves.
    :returns: a new flow.
    """
    flow = Chatflow(name=name)
    splitter = flow.add_node(
        "recursiveCharacterTextSplitter",
        category="Text Splitters",
        inputs={"chunkSize": chunk_size, "chunkOverlap": chunk_overlap},
    )
    loader = flow.add_node("plainText", category="Document Loaders", inputs={"text": text})
    embeddings = flow.add_node("hashingEmbeddings", category="Embeddings")
    store = flow.add_node("memoryVectorStore", category="Vector Stores", inputs={"topK": top_k})
    model = flow.add_node("fakeChatModel", category="Chat Models")
    chain = flow.add_node("retrievalQAChain", category="Chains")
    flow.connect(splitter, loader, "textSplitter")
    flow.connect(loader, store, "document")
    flow.connect(embeddings, store, "embeddings")
    flow.connect(store, chain, "vectorStoreRetriever")
    flow.connect(model, chain, "model")
    return flow
