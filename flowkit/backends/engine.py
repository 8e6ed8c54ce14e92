"""What the sync and async local backends share (:mod:`flowkit.backends.local`): the store,
the components, every step of an operation but the run itself, and the stream events of a
computed answer (:func:`stream_events`)."""

from __future__ import annotations

import builtins
import json
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any, Protocol, runtime_checkable

from flowkit.backends.base import PredictRequest, UpsertRequest
from flowkit.backends.events import END, METADATA, SOURCE_DOCUMENTS, START, TOKEN, StreamEvent
from flowkit.errors import FlowkitError
from flowkit.model import Chatflow
from flowkit.model.messages import ChatMessage, Role, data_uri
from flowkit.model.rules import MEMORY_CATEGORY
from flowkit.runtime import ComponentRegistry, Prediction, UpsertResult, default_registry
from flowkit.runtime.memory import LazyHistory
from flowkit.storage.base import EntityT, Store
from flowkit.storage.memory import MemoryStore
from flowkit.storage.revisions import RevisionStore
from flowkit.storage.upserts import UpsertHistoryStore, UpsertRecord

__all__ = [
    "FILE_INPUTS",
    "ChangeCounter",
    "Engine",
    "memory_session",
    "stream_events",
    "upsert_overrides",
]

FILE_INPUTS: dict[str, str] = {
    ".txt": "txtFile",
    ".pdf": "pdfFile",
    ".json": "jsonFile",
    ".csv": "csvFile",
    ".xls": "csvFile",
    ".xlsx": "csvFile",
    ".jsonl": "jsonlinesFile",
    ".docx": "docxFile",
    ".doc": "docxFile",
    ".yaml": "yamlFile",
}
"""The loader input an uploaded file fills, by its extension (Flowise's
``mapExtToInputField``); any other extension fills ``txtFile``."""


def upsert_overrides(request: UpsertRequest) -> Mapping[str, Any] | None:
    """The overrides a local upsert runs with: the request's, plus its files as Flowise's
    multipart upsert turns them into overrides.

    Each file fills the loader input its extension names (:data:`FILE_INPUTS`), as a JSON
    list of ``data:<type>;base64,<data>,filename:<name>`` strings (how Flowise stores an
    uploaded file in a node, and what the ``textFile`` built-in reads); several files of one
    input share the list, in the order given. These override that input of every node.
    """
    if not request.files:
        return request.overrides
    lists: dict[str, list[str]] = {}
    for upload in request.files:
        field = FILE_INPUTS.get(PurePosixPath(upload.name).suffix.lower(), "txtFile")
        lists.setdefault(field, []).append(
            f"{data_uri(upload.data, upload.mime)},filename:{upload.name}"
        )
    return {**(request.overrides or {}), **{k: json.dumps(v) for k, v in lists.items()}}


def memory_session(request: PredictRequest) -> str:
    """The memory session of a prediction, as Flowise's ``getMemorySessionId``: the session
    the caller named (:attr:`PredictRequest.session_id`), else the ``sessionId`` input of
    the flow's memory node (its first node of category ``Memory``), else the chat id."""
    if request.session_id:
        return request.session_id
    for node in request.flow.nodes:
        if node.category == MEMORY_CATEGORY:
            named = node.inputs.get("sessionId")
            if isinstance(named, str) and named:
                return named
            break
    return request.chat_id


_PIECE = re.compile(r"\s*\S+|\s+")


def stream_events(result: Prediction, message_id: str | None = None) -> list[StreamEvent]:
    """The events a streamed prediction yields for ``result``, as Flowise streams them:
    ``start``, one ``token`` per word (with the spaces before it), ``sourceDocuments`` when
    there are any, ``metadata`` (``chatId``, ``messageId``) and ``end``.

    Joining the tokens' data gives back ``result.text`` exactly.
    """
    events = [StreamEvent(START, "")]
    events += [StreamEvent(TOKEN, piece) for piece in _PIECE.findall(result.text)]
    if result.source_documents:
        documents = [
            {"pageContent": d.page_content, "metadata": d.metadata} for d in result.source_documents
        ]
        events.append(StreamEvent(SOURCE_DOCUMENTS, documents))
    metadata: dict[str, Any] = {"chatId": result.chat_id}
    if message_id is not None:
        metadata["messageId"] = message_id
    events += [StreamEvent(METADATA, metadata), StreamEvent(END, "[DONE]")]
    return events


@runtime_checkable
class ChangeCounter(Protocol):
    """What a store may offer so that a local backend reuses what it read: a number per
    chatflow that changes whenever the chatflow or its component state changes.

    :class:`~flowkit.storage.MemoryStore` offers it. With a store that does not, the backend
    reads the chatflow and its state from the store for every run.
    """

    def generation(self, chatflow_id: str) -> int:
        """The chatflow's current change number (``0`` when it was never saved)."""
        ...


class Engine:
    """What the sync and async local backends share: the store, the components, and every
    step of an operation but the run itself."""

    def __init__(
        self, store: Store | None = None, components: ComponentRegistry | None = None
    ) -> None:
        self.store: Store = store if store is not None else MemoryStore()
        self.components = components if components is not None else default_registry()
        self._locks_lock = threading.Lock()
        self._upsert_locks: dict[str, threading.Lock] = {}
        self._counter = self.store if isinstance(self.store, ChangeCounter) else None
        self._read: dict[str, tuple[int, Chatflow, dict[str, Any]]] = {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} store={self.store!r}>"

    def _upsert_lock(self, flow_id: str) -> threading.Lock:
        with self._locks_lock:
            return self._upsert_locks.setdefault(flow_id, threading.Lock())

    def _saved(self, flow: Chatflow) -> tuple[Chatflow, dict[str, Any]]:
        """The saved version of ``flow`` (what runs is what was saved) and its component
        state, reused while the store's :class:`ChangeCounter` says nothing changed. The
        state is shared by the predictions that read it: an upsert loads its own copy.

        :raises NotFoundError: when it is not saved here.
        """
        counter = self._counter
        if counter is None:
            return self.store.get(Chatflow, flow.id), self.store.load_state(flow.id)
        number = counter.generation(flow.id)  # read first: a change after it reloads next time
        found = self._read.get(flow.id)
        if found is not None and found[0] == number:
            return found[1], found[2]
        try:
            saved = self.store.get(Chatflow, flow.id)
        except Exception:
            self._read.pop(flow.id, None)
            raise
        state = self.store.load_state(flow.id)
        self._read[flow.id] = (number, saved, state)
        return saved, state

    def _saved_flow(self, flow: Chatflow) -> Chatflow:
        """The saved version of ``flow`` without its component state, for an upsert (which
        loads its own copy of the state under its lock): the one :meth:`_saved` read while
        it is current, else the store's.

        :raises NotFoundError: when it is not saved here.
        """
        counter = self._counter
        if counter is not None:
            found = self._read.get(flow.id)
            if found is not None and found[0] == counter.generation(flow.id):
                return found[1]
        return self.store.get(Chatflow, flow.id)

    def _record(self, request: PredictRequest, result: Prediction, session: str) -> str:
        """Keep the question and the answer under the run's memory ``session`` (see
        :func:`memory_session`); return the answer's message id."""
        question, answer = (
            ChatMessage(
                chatflow_id=request.flow.id,
                chat_id=result.chat_id,
                session_id=session,
                role=role,
                content=content,
            )
            for role, content in ((Role.USER, request.question), (Role.API, result.text))
        )
        self.store.add_chat_messages([question, answer])
        return answer.id

    def _history(self, request: PredictRequest, session: str) -> Sequence[ChatMessage]:
        """The conversation so far: the request's own history, else the stored messages of
        its memory ``session`` (read only if a component uses them)."""
        if request.history is not None:
            return request.history
        flow_id, chat_id = request.flow.id, request.chat_id
        if session == chat_id:  # the usual case, in any Store
            return LazyHistory(lambda: self.store.chat_messages(flow_id, chat_id))
        return LazyHistory(lambda: self.store.chat_messages(flow_id, session=session))

    def _upsert_history(self, chatflow_id: str) -> builtins.list[UpsertRecord]:
        """The chatflow's upsert records, oldest first.

        :raises FlowkitError: when the store keeps no upsert records.
        :raises NotFoundError: when there is no such chatflow.
        """
        store = self.store
        if not isinstance(store, UpsertHistoryStore):
            raise FlowkitError(
                f"this workspace's store ({type(store).__name__}) keeps no upsert records: "
                "give it add_upsert_record and upsert_history (UpsertHistoryStore), or use "
                "MemoryStore or a workspace file"
            )
        records = store.upsert_history(chatflow_id)
        if not records:
            store.get(Chatflow, chatflow_id)  # raises NotFoundError for an unknown chatflow
        return records

    def _revisions(self) -> RevisionStore:
        """The store, when it keeps revisions.

        :raises FlowkitError: when it does not.
        """
        if not isinstance(self.store, RevisionStore):
            raise FlowkitError(
                f"this workspace's store ({type(self.store).__name__}) keeps no revisions: "
                "open a workspace file (Workspace.open(path)) to keep every saved version"
            )
        return self.store

    def _keep_state(self, flow_id: str, state: dict[str, Any], result: UpsertResult) -> None:
        """After a successful upsert: save the state and record the upsert (Flowise's
        upsert_history) when the store keeps such records."""
        self.store.save_state(flow_id, state)
        if isinstance(self.store, UpsertHistoryStore):
            extra = result.model_extra or {}
            self.store.add_upsert_record(
                UpsertRecord(
                    chatflow_id=flow_id,
                    stop_node_id=result.stop_node_id,
                    num_added=result.num_added,
                    num_updated=int(extra.get("num_updated", 0)),
                    num_skipped=int(extra.get("num_skipped", 0)),
                    num_deleted=int(extra.get("num_deleted", 0)),
                )
            )

    # ---- entities and messages: the store's calls, the same for both twins --------------------

    def _create(self, entity: EntityT) -> EntityT:
        self.store.save(entity)
        return entity

    def _update(self, entity: EntityT) -> EntityT:
        self.store.replace(entity)
        return entity
