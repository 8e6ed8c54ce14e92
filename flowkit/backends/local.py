"""flowkit's own engine as a backend: :class:`LocalBackend` and :class:`AsyncLocalBackend`.

Entities, chat messages and component state live in a :class:`~flowkit.storage.Store`
(in memory by default, a SQLite file with ``flowkit.storage.sqlite.SQLiteStore``); flows run
in this process through :mod:`flowkit.runtime`. Each prediction's question and answer are
kept as two :class:`~flowkit.ChatMessage` objects; each upsert's component state is saved
back to the store once it succeeded, so a failed upsert leaves the store as it was.
"""

from __future__ import annotations

import asyncio
import builtins
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from flowkit.backends.base import PredictRequest, UpsertRequest
from flowkit.backends.events import END, METADATA, SOURCE_DOCUMENTS, START, TOKEN, StreamEvent
from flowkit.errors import FlowkitError
from flowkit.model import Chatflow
from flowkit.model.messages import ChatMessage, Role
from flowkit.runtime import ComponentRegistry, Prediction, UpsertResult, arun, default_registry, run
from flowkit.runtime.memory import LazyHistory
from flowkit.runtime.outputs import ending_node, prediction, upsert_result
from flowkit.storage.base import EntityT, Store
from flowkit.storage.memory import MemoryStore
from flowkit.storage.revisions import RevisionInfo, RevisionStore
from flowkit.storage.upserts import UpsertHistoryStore, UpsertRecord

__all__ = ["AsyncLocalBackend", "ChangeCounter", "LocalBackend", "stream_events"]

T = TypeVar("T")

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


class _Engine:
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

    def _record(self, request: PredictRequest, result: Prediction) -> str:
        """Keep the question and the answer; return the answer's message id."""
        question = ChatMessage(
            chatflow_id=request.flow.id,
            chat_id=result.chat_id,
            role=Role.USER,
            content=request.question,
        )
        answer = ChatMessage(
            chatflow_id=request.flow.id, chat_id=result.chat_id, role=Role.API, content=result.text
        )
        self.store.add_chat_messages([question, answer])
        return answer.id

    def _history(self, request: PredictRequest) -> Sequence[ChatMessage]:
        """The conversation so far: the request's own history, else the stored messages of
        its chat id (read only if a component uses them)."""
        if request.history is not None:
            return request.history
        flow_id, chat_id = request.flow.id, request.chat_id
        return LazyHistory(lambda: self.store.chat_messages(flow_id, chat_id))

    def _keep_upsert(self, flow_id: str, result: UpsertResult) -> None:
        """Record the upsert (Flowise's upsert_history) when the store keeps such records."""
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
        """After a successful upsert: save the state and record the upsert."""
        self.store.save_state(flow_id, state)
        self._keep_upsert(flow_id, result)

    # ---- entities and messages: the store's calls, the same for both twins --------------------

    def _create(self, entity: EntityT) -> EntityT:
        self.store.save(entity)
        return entity

    def _update(self, entity: EntityT) -> EntityT:
        self.store.replace(entity)
        return entity


class LocalBackend(_Engine):
    """Entities in a store, flows run in this process: flowkit's own engine.

    Implements :class:`~flowkit.backends.Backend`. Thread-safe as its store is (both built-in
    stores are): predictions run in parallel; upserts of one chatflow run one at a time
    (each loads the component state, runs, and saves it), upserts of different ones in
    parallel.

    :param store: where entities and state live (default: a new
        :class:`~flowkit.storage.MemoryStore`).
    :param components: the component registry flows run with (default: the process-wide
        registry holding the built-ins and whatever ``@component`` registered).
    """

    def create(self, entity: EntityT) -> EntityT:
        """Save a new entity (a copy of it); return ``entity`` itself.

        :raises AlreadyExistsError: when one of its kind has its id.
        """
        return self._create(entity)

    def get(self, kind: type[EntityT], entity_id: str) -> EntityT:
        """A copy of the saved entity. :raises NotFoundError: when there is none."""
        return self.store.get(kind, entity_id)

    def list(self, kind: type[EntityT]) -> builtins.list[EntityT]:
        """Copies of every saved entity of ``kind``, in the order they were first saved."""
        return self.store.list(kind)

    def update(self, entity: EntityT) -> EntityT:
        """Replace the saved entity with ``entity``'s id; return ``entity`` itself.

        :raises NotFoundError: when there is none.
        """
        return self._update(entity)

    def delete(self, kind: type[EntityT], entity_id: str) -> EntityT:
        """Delete the saved entity (a chatflow's messages and state too); return it as it was.

        :raises NotFoundError: when there is none.
        """
        return self.store.delete(kind, entity_id)

    def upsert(self, request: UpsertRequest) -> UpsertResult:
        """Run the saved flow up to its vector store, in upsert mode, and save the state.

        :raises NotFoundError: when the chatflow is not saved here.
        :raises FlowValidationError: when no single vector store can be chosen.
        :raises ComponentError: when a node has no component or its component failed.
        :raises ComponentError: also when the vector store's report cannot be read.
        """
        flow = self._saved(request.flow)[0]
        stop = flow.resolve_stop_node(request.stop_node_id)
        with self._upsert_lock(flow.id):
            state = self.store.load_state(flow.id)
            output = run(
                flow,
                stop,
                mode="upsert",
                registry=self.components,
                overrides=request.overrides,
                state=state,
                stop_node_id=stop,
            )
            result = upsert_result(stop, output)
            self._keep_state(flow.id, state, result)
        return result

    def predict(self, request: PredictRequest) -> Prediction:
        """Answer with the saved flow's ending node; keep the question and the answer.

        :raises NotFoundError: when the chatflow is not saved here.
        :raises FlowValidationError: when the flow has no valid ending node.
        :raises ComponentError: when a node has no component or its component failed.
        :raises ComponentError: also when the ending node's output cannot be read.
        """
        return self._predict(request)[0]

    def _predict(self, request: PredictRequest) -> tuple[Prediction, str]:
        flow, state = self._saved(request.flow)
        end = ending_node(flow)
        output = run(
            flow,
            end,
            mode="predict",
            registry=self.components,
            question=request.question,
            chat_id=request.chat_id,
            overrides=request.overrides,
            state=state,
            history=self._history(request),
        )
        result = prediction(request.chat_id, output, end)
        return result, self._record(request, result)

    def stream(self, request: PredictRequest) -> Iterator[StreamEvent]:
        """Answer as :func:`stream_events` (the answer is computed whole, then streamed).

        The work (and any error) happens at the first ``next()``.
        """
        result, message_id = self._predict(request)
        yield from stream_events(result, message_id)

    def chat_messages(
        self, chatflow_id: str, chat_id: str | None = None
    ) -> builtins.list[ChatMessage]:
        """The kept messages of a chatflow (of one conversation), oldest first."""
        return self.store.chat_messages(chatflow_id, chat_id)

    def delete_chat_messages(self, chatflow_id: str, chat_id: str | None = None) -> int:
        """Delete kept messages; :returns: how many."""
        return self.store.delete_chat_messages(chatflow_id, chat_id)

    def upsert_history(self, chatflow_id: str) -> builtins.list[UpsertRecord]:
        """A record of every upsert of the chatflow (when, stop node, counts), oldest first,
        newest last; deleted with the chatflow.

        :raises NotFoundError: when there is no such chatflow.
        :raises FlowkitError: when the store keeps no upsert records (both built-in stores do).
        """
        return self._upsert_history(chatflow_id)

    def revisions(self, chatflow_id: str) -> builtins.list[RevisionInfo]:
        """The chatflow's stored revisions, number 1 (the create) first.

        :raises FlowkitError: when the store keeps no revisions.
        :raises NotFoundError: when there is no such chatflow.
        """
        return self._revisions().revisions(chatflow_id)

    def get_revision(self, chatflow_id: str, number: int) -> Chatflow:
        """The chatflow as saved in revision ``number``.

        :raises FlowkitError: when the store keeps no revisions.
        :raises NotFoundError: when there is no such chatflow or revision.
        """
        return self._revisions().get(Chatflow, chatflow_id, revision=number)

    def restore(self, chatflow_id: str, number: int) -> Chatflow:
        """Save revision ``number`` again as the newest; return the chatflow as saved.

        :raises FlowkitError: when the store keeps no revisions.
        :raises NotFoundError: when there is no such chatflow or revision.
        """
        return self._revisions().restore(chatflow_id, number)

    def close(self) -> None:
        """Close the store; calling it twice is harmless."""
        self.store.close()


class AsyncLocalBackend(_Engine):
    """The async twin of :class:`LocalBackend`: the same store calls, flows run with
    :func:`flowkit.runtime.arun` (async components awaited, sync ones in worker threads).

    Implements :class:`~flowkit.backends.AsyncBackend`. Upserts of one chatflow run one at a
    time within this backend. Calls to a store that does I/O (anything but a
    :class:`~flowkit.storage.MemoryStore`, e.g. a SQLite file) run in a worker thread, so a
    busy file never blocks the event loop.

    :param store: where entities and state live (default: a new MemoryStore).
    :param components: the component registry flows run with (default: the process-wide one).
    """

    def __init__(
        self, store: Store | None = None, components: ComponentRegistry | None = None
    ) -> None:
        super().__init__(store, components)
        self._async_locks: dict[str, asyncio.Lock] = {}
        self._in_memory = isinstance(self.store, MemoryStore)

    async def _io(self, call: Callable[..., T], *args: Any) -> T:
        """``call(*args)``: directly for a store in memory, else in a worker thread."""
        if self._in_memory:
            return call(*args)
        return await asyncio.to_thread(call, *args)

    async def create(self, entity: EntityT) -> EntityT:
        """See :meth:`LocalBackend.create`."""
        return await self._io(self._create, entity)

    async def get(self, kind: type[EntityT], entity_id: str) -> EntityT:
        """See :meth:`LocalBackend.get`."""
        return await self._io(self.store.get, kind, entity_id)

    async def list(self, kind: type[EntityT]) -> builtins.list[EntityT]:
        """See :meth:`LocalBackend.list`."""
        return await self._io(self.store.list, kind)

    async def update(self, entity: EntityT) -> EntityT:
        """See :meth:`LocalBackend.update`."""
        return await self._io(self._update, entity)

    async def delete(self, kind: type[EntityT], entity_id: str) -> EntityT:
        """See :meth:`LocalBackend.delete`."""
        return await self._io(self.store.delete, kind, entity_id)

    async def upsert(self, request: UpsertRequest) -> UpsertResult:
        """See :meth:`LocalBackend.upsert`."""
        flow = (await self._io(self._saved, request.flow))[0]
        stop = flow.resolve_stop_node(request.stop_node_id)
        lock = self._async_locks.setdefault(flow.id, asyncio.Lock())
        async with lock:
            state = await self._io(self.store.load_state, flow.id)
            output = await arun(
                flow,
                stop,
                mode="upsert",
                registry=self.components,
                overrides=request.overrides,
                state=state,
                stop_node_id=stop,
            )
            result = upsert_result(stop, output)
            await self._io(self._keep_state, flow.id, state, result)
        return result

    async def predict(self, request: PredictRequest) -> Prediction:
        """See :meth:`LocalBackend.predict`."""
        return (await self._predict(request))[0]

    async def _predict(self, request: PredictRequest) -> tuple[Prediction, str]:
        flow, state = await self._io(self._saved, request.flow)
        end = ending_node(flow)
        output = await arun(
            flow,
            end,
            mode="predict",
            registry=self.components,
            question=request.question,
            chat_id=request.chat_id,
            overrides=request.overrides,
            state=state,
            history=self._history(request),
        )
        result = prediction(request.chat_id, output, end)
        return result, await self._io(self._record, request, result)

    async def stream(self, request: PredictRequest) -> AsyncIterator[StreamEvent]:
        """See :meth:`LocalBackend.stream`."""
        result, message_id = await self._predict(request)
        for event in stream_events(result, message_id):
            yield event

    async def chat_messages(
        self, chatflow_id: str, chat_id: str | None = None
    ) -> builtins.list[ChatMessage]:
        """See :meth:`LocalBackend.chat_messages`."""
        return await self._io(self.store.chat_messages, chatflow_id, chat_id)

    async def delete_chat_messages(self, chatflow_id: str, chat_id: str | None = None) -> int:
        """See :meth:`LocalBackend.delete_chat_messages`."""
        return await self._io(self.store.delete_chat_messages, chatflow_id, chat_id)

    async def upsert_history(self, chatflow_id: str) -> builtins.list[UpsertRecord]:
        """See :meth:`LocalBackend.upsert_history`."""
        return await self._io(self._upsert_history, chatflow_id)

    async def revisions(self, chatflow_id: str) -> builtins.list[RevisionInfo]:
        """See :meth:`LocalBackend.revisions`."""
        return await self._io(self._revisions().revisions, chatflow_id)

    async def get_revision(self, chatflow_id: str, number: int) -> Chatflow:
        """See :meth:`LocalBackend.get_revision`."""
        revisions = self._revisions()
        return await self._io(lambda: revisions.get(Chatflow, chatflow_id, revision=number))

    async def restore(self, chatflow_id: str, number: int) -> Chatflow:
        """See :meth:`LocalBackend.restore`."""
        return await self._io(self._revisions().restore, chatflow_id, number)

    async def aclose(self) -> None:
        """Close the store; calling it twice is harmless."""
        await self._io(self.store.close)
