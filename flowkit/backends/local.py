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
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

from flowkit.backends.base import PredictRequest, UpsertRequest
from flowkit.backends.engine import (
    Engine,
    memory_session,
    stream_events,
    upsert_overrides,
)
from flowkit.backends.events import StreamEvent
from flowkit.model import Chatflow
from flowkit.model.messages import ChatMessage
from flowkit.runtime import ComponentRegistry, Prediction, UpsertResult, arun, run
from flowkit.runtime.outputs import ending_node, prediction, upsert_result
from flowkit.storage.base import EntityT, Store
from flowkit.storage.memory import MemoryStore
from flowkit.storage.revisions import RevisionInfo
from flowkit.storage.upserts import UpsertRecord

__all__ = ["AsyncLocalBackend", "LocalBackend", "stream_events"]

T = TypeVar("T")


class LocalBackend(Engine):
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
        flow = self._saved_flow(request.flow)
        stop = flow.resolve_stop_node(request.stop_node_id)
        with self._upsert_lock(flow.id):
            state = self.store.load_state(flow.id)
            output = run(
                flow,
                stop,
                mode="upsert",
                registry=self.components,
                overrides=upsert_overrides(request),
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
        session = memory_session(request)
        output = run(
            flow,
            end,
            mode="predict",
            registry=self.components,
            question=request.question,
            chat_id=request.chat_id,
            overrides=request.overrides,
            state=state,
            history=self._history(request, session),
            uploads=request.uploads,
        )
        result = prediction(request.chat_id, output, end)
        return result, self._record(request, result, session)

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


class AsyncLocalBackend(Engine):
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
        flow = await self._io(self._saved_flow, request.flow)
        stop = flow.resolve_stop_node(request.stop_node_id)
        lock = self._async_locks.setdefault(flow.id, asyncio.Lock())
        async with lock:
            state = await self._io(self.store.load_state, flow.id)
            output = await arun(
                flow,
                stop,
                mode="upsert",
                registry=self.components,
                overrides=upsert_overrides(request),
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
        session = memory_session(request)
        output = await arun(
            flow,
            end,
            mode="predict",
            registry=self.components,
            question=request.question,
            chat_id=request.chat_id,
            overrides=request.overrides,
            state=state,
            history=self._history(request, session),
            uploads=request.uploads,
        )
        result = prediction(request.chat_id, output, end)
        return result, await self._io(self._record, request, result, session)

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
