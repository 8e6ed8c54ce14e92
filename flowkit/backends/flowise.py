"""A Flowise server as a workspace's backend: :class:`FlowiseBackend` and
:class:`AsyncFlowiseBackend` (extra ``flowise``).

Entities live on the server and flows run there; the backends translate the
:class:`~flowkit.backends.base.Backend` calls into :mod:`flowkit.client` calls and raise the
same errors a local backend does (:class:`~flowkit.NotFoundError` for an unknown id on every
call). Flowise assigns its own ids: :meth:`FlowiseBackend.create` returns a new object
carrying the server's id, never the object it was given.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing, closing
from typing import Any

from flowkit.backends.base import PredictRequest, UpsertRequest
from flowkit.backends.events import END, ERROR, StreamEvent
from flowkit.client import AsyncFlowiseClient, FlowiseClient, api
from flowkit.client.core import Call, error_from_message
from flowkit.errors import ArgumentTypeError, FlowkitError
from flowkit.model import Assistant, Chatflow, Tool
from flowkit.model.messages import ChatMessage
from flowkit.runtime.results import Prediction, UpsertResult
from flowkit.storage.base import Entity, EntityT
from flowkit.storage.upserts import UpsertRecord

__all__ = ["AsyncFlowiseBackend", "FlowiseBackend"]


def _kind_name(kind: type[Any]) -> str:
    names: dict[type[Any], str] = {Chatflow: "chatflow", Tool: "tool", Assistant: "assistant"}
    if kind not in names:
        raise ArgumentTypeError(
            f"a Flowise backend keeps Chatflow, Tool and Assistant, not {kind.__name__}"
        )
    return names[kind]


def _create(entity: Entity) -> Call[Any]:
    if isinstance(entity, Chatflow):
        return api.create_chatflow(entity)
    if isinstance(entity, Tool):
        return api.create_tool(entity)
    if isinstance(entity, Assistant):
        return api.create_assistant(entity)
    _kind_name(type(entity))  # raises
    raise AssertionError  # pragma: no cover


def _update(entity: Entity) -> Call[Any]:
    if isinstance(entity, Chatflow):
        return api.update_chatflow(entity)
    if isinstance(entity, Tool):
        return api.update_tool(entity)
    if isinstance(entity, Assistant):
        return api.update_assistant(entity)
    _kind_name(type(entity))
    raise AssertionError  # pragma: no cover


def _get(kind: type[Any], entity_id: str) -> Call[Any]:
    calls: dict[type[Any], Callable[[str], Call[Any]]] = {
        Chatflow: api.get_chatflow,
        Tool: api.get_tool,
        Assistant: api.get_assistant,
    }
    _kind_name(kind)
    return calls[kind](entity_id)


def _list(kind: type[Any]) -> Call[Any]:
    _kind_name(kind)
    if kind is Chatflow:
        return api.list_chatflows()
    return api.list_tools() if kind is Tool else api.list_assistants()


def _delete(kind: type[Any], entity_id: str) -> Call[Any]:
    calls: dict[type[Any], Callable[[str], Call[Any]]] = {
        Chatflow: api.delete_chatflow,
        Tool: api.delete_tool,
        Assistant: api.delete_assistant,
    }
    _kind_name(kind)
    return calls[kind](entity_id)


def _upsert(request: UpsertRequest) -> Call[UpsertResult]:
    return api.upsert_vector(
        request.flow.id,
        stop_node_id=request.stop_node_id,
        overrides=request.overrides,
        files=request.files,
    )


def _upserted(request: UpsertRequest, result: UpsertResult) -> UpsertResult:
    """The result naming the vector store the server stopped at."""
    if result.stop_node_id:
        return result
    try:
        stop = request.flow.resolve_stop_node(request.stop_node_id)
    except FlowkitError:  # the server chose; flowkit cannot tell which
        return result
    return result.model_copy(update={"stop_node_id": stop})


def _predict(request: PredictRequest) -> Call[Prediction]:
    return api.predict(
        request.flow.id,
        request.question,
        chat_id=request.chat_id,
        overrides=request.overrides,
        history=request.history,
        uploads=request.uploads,
    )


def _stream_failed(request: PredictRequest, event: StreamEvent, base_url: str) -> FlowkitError:
    """The error an ``error`` event stands for (what the same failure unstreamed raises)."""
    call = api.stream_call(request.flow.id, {})
    return error_from_message(call, 500, str(event.data), base_url)


class FlowiseBackend:
    """Entities on a Flowise server, flows run by it (for :class:`~flowkit.Workspace`).

    :param client: the client to talk through; :meth:`close` closes it.
    """

    def __init__(self, client: FlowiseClient) -> None:
        self.client = client

    @classmethod
    def connect(
        cls, url: str | None = None, *, api_key: str | None = None, **client_options: Any
    ) -> FlowiseBackend:
        """A backend on the server at ``url`` (default ``FLOWISE_URL``).

        :param api_key: the API key (default ``FLOWISE_API_KEY``).
        :param client_options: passed to :class:`~flowkit.client.FlowiseClient` (``timeout``,
            ``stream_timeout``, ``retries``, ...).
        :raises FlowkitError: when no URL is given and ``FLOWISE_URL`` is unset. The server
            is not contacted until the first call.
        """
        return cls(FlowiseClient(url, api_key=api_key, **client_options))

    def __repr__(self) -> str:
        return f"<FlowiseBackend {self.client.base_url}>"

    def create(self, entity: EntityT) -> EntityT:
        """Create the entity on the server. :returns: a new object with the server's id."""
        created: EntityT = self.client.send(_create(entity))
        return created

    def get(self, kind: type[EntityT], entity_id: str) -> EntityT:
        """The entity as the server has it. :raises NotFoundError: when it has none."""
        found: EntityT = self.client.send(_get(kind, entity_id))
        return found

    def list(self, kind: type[EntityT]) -> list[EntityT]:
        """Every entity of ``kind`` on the server."""
        found: list[EntityT] = self.client.send(_list(kind))
        return found

    def update(self, entity: EntityT) -> EntityT:
        """Replace the server's entity with ``entity``'s id. :raises NotFoundError:"""
        updated: EntityT = self.client.send(_update(entity))
        return updated

    def delete(self, kind: type[EntityT], entity_id: str) -> EntityT:
        """Delete the entity. :returns: it as it was. :raises NotFoundError:"""
        entity = self.get(kind, entity_id)
        self.client.send(_delete(kind, entity_id))
        return entity

    def upsert(self, request: UpsertRequest) -> UpsertResult:
        """Upsert on the server (never retried). :raises NotFoundError:"""
        return _upserted(request, self.client.send(_upsert(request)))

    def predict(self, request: PredictRequest) -> Prediction:
        """Ask the server (never retried). :raises NotFoundError: :raises AuthenticationError:"""
        return self.client.send(_predict(request))

    def stream(self, request: PredictRequest) -> Iterator[StreamEvent]:
        """The server's stream events, ``start`` to ``end``.

        :raises FlowiseAPIError: (or :class:`~flowkit.AuthenticationError`, ...) in place of
            Flowise's ``error`` event, as the same failure unstreamed would.
        """
        events = self.client.stream(
            request.flow.id,
            request.question,
            chat_id=request.chat_id,
            overrides=request.overrides,
            history=request.history,
            uploads=request.uploads,
        )
        with closing(events):
            for event in events:
                if event.event == ERROR:
                    raise _stream_failed(request, event, self.client.base_url)
                yield event
                if event.event == END:
                    return

    def chat_messages(
        self, chatflow_id: str, chat_id: str | None = None
    ) -> builtins.list[ChatMessage]:
        """The chatflow's stored messages, oldest first. :raises NotFoundError:"""
        return self.client.chat_messages(chatflow_id, chat_id=chat_id)

    def delete_chat_messages(self, chatflow_id: str, chat_id: str | None = None) -> int:
        """Delete stored messages. :returns: how many. :raises NotFoundError:"""
        return self.client.delete_chat_messages(chatflow_id, chat_id=chat_id)

    def upsert_history(self, chatflow_id: str) -> builtins.list[UpsertRecord]:
        """The server's record of every upsert of the chatflow, oldest first, newest last;
        see :meth:`flowkit.client.FlowiseClient.upsert_history`. :raises NotFoundError:"""
        return self.client.upsert_history(chatflow_id)

    def close(self) -> None:
        """Close the client's connections; calling it twice is harmless."""
        self.client.close()


class AsyncFlowiseBackend:
    """The async twin of :class:`FlowiseBackend` (for :class:`~flowkit.AsyncWorkspace`).

    :param client: the client to talk through; :meth:`aclose` closes it.
    """

    def __init__(self, client: AsyncFlowiseClient) -> None:
        self.client = client

    @classmethod
    def connect(
        cls, url: str | None = None, *, api_key: str | None = None, **client_options: Any
    ) -> AsyncFlowiseBackend:
        """A backend on the server at ``url``; see :meth:`FlowiseBackend.connect`."""
        return cls(AsyncFlowiseClient(url, api_key=api_key, **client_options))

    def __repr__(self) -> str:
        return f"<AsyncFlowiseBackend {self.client.base_url}>"

    async def create(self, entity: EntityT) -> EntityT:
        """See :meth:`FlowiseBackend.create`."""
        created: EntityT = await self.client.send(_create(entity))
        return created

    async def get(self, kind: type[EntityT], entity_id: str) -> EntityT:
        """See :meth:`FlowiseBackend.get`."""
        found: EntityT = await self.client.send(_get(kind, entity_id))
        return found

    async def list(self, kind: type[EntityT]) -> list[EntityT]:
        """See :meth:`FlowiseBackend.list`."""
        found: list[EntityT] = await self.client.send(_list(kind))
        return found

    async def update(self, entity: EntityT) -> EntityT:
        """See :meth:`FlowiseBackend.update`."""
        updated: EntityT = await self.client.send(_update(entity))
        return updated

    async def delete(self, kind: type[EntityT], entity_id: str) -> EntityT:
        """See :meth:`FlowiseBackend.delete`."""
        entity = await self.get(kind, entity_id)
        await self.client.send(_delete(kind, entity_id))
        return entity

    async def upsert(self, request: UpsertRequest) -> UpsertResult:
        """See :meth:`FlowiseBackend.upsert`."""
        return _upserted(request, await self.client.send(_upsert(request)))

    async def predict(self, request: PredictRequest) -> Prediction:
        """See :meth:`FlowiseBackend.predict`."""
        return await self.client.send(_predict(request))

    async def stream(self, request: PredictRequest) -> AsyncIterator[StreamEvent]:
        """See :meth:`FlowiseBackend.stream`."""
        events = self.client.stream(
            request.flow.id,
            request.question,
            chat_id=request.chat_id,
            overrides=request.overrides,
            history=request.history,
            uploads=request.uploads,
        )
        async with aclosing(events):
            async for event in events:
                if event.event == ERROR:
                    raise _stream_failed(request, event, self.client.base_url)
                yield event
                if event.event == END:
                    return

    async def chat_messages(
        self, chatflow_id: str, chat_id: str | None = None
    ) -> builtins.list[ChatMessage]:
        """See :meth:`FlowiseBackend.chat_messages`."""
        return await self.client.chat_messages(chatflow_id, chat_id=chat_id)

    async def delete_chat_messages(self, chatflow_id: str, chat_id: str | None = None) -> int:
        """See :meth:`FlowiseBackend.delete_chat_messages`."""
        return await self.client.delete_chat_messages(chatflow_id, chat_id=chat_id)

    async def upsert_history(self, chatflow_id: str) -> builtins.list[UpsertRecord]:
        """See :meth:`FlowiseBackend.upsert_history`."""
        return await self.client.upsert_history(chatflow_id)

    async def aclose(self) -> None:
        """See :meth:`FlowiseBackend.close`."""
        await self.client.aclose()
