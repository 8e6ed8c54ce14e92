"""The :class:`Backend` and :class:`AsyncBackend` protocols, and the typed run requests.

A backend owns where entities live and where flows run: in this process
(:class:`~flowkit.backends.LocalBackend` over a :class:`~flowkit.storage.Store`) or on a
Flowise server. The :class:`~flowkit.Workspace` checks arguments, delegates to its backend
and sends signals; it never branches on which backend it has. Every backend raises the
same errors: :class:`~flowkit.NotFoundError` for a missing id, :class:`~flowkit.AlreadyExistsError`
for a taken one.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from flowkit.model import Chatflow, ChatType
from flowkit.model.messages import ChatMessage, Upload
from flowkit.runtime import Prediction, UpsertResult
from flowkit.storage.base import Entity, EntityT
from flowkit.storage.upserts import UpsertRecord

__all__ = [
    "AsyncBackend",
    "Backend",
    "PredictRequest",
    "Upload",
    "UpsertRequest",
]


class UpsertRequest(BaseModel):
    """What one upsert asks of a backend.

    :param flow: the saved chatflow.
    :param stop_node_id: the vector store to stop at, or ``None`` to let the backend choose
        (the flow's only vector store).
    :param chat_type: where the upsert came from.
    :param overrides: Flowise ``overrideConfig``.
    :param files: files to load (Flowise's multipart upsert).
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    flow: Chatflow
    stop_node_id: str | None = None
    chat_type: ChatType = ChatType.INTERNAL
    overrides: Mapping[str, Any] | None = None
    files: Sequence[Upload] = ()


class PredictRequest(BaseModel):
    """What one prediction asks of a backend.

    :param flow: the saved chatflow.
    :param question: the question.
    :param chat_id: the conversation id (the workspace fills in a fresh one when not given).
    :param chat_type: where the question came from.
    :param overrides: Flowise ``overrideConfig``.
    :param history: earlier messages to answer with, instead of the stored conversation.
    :param uploads: files sent with the question.
    :param session_id: the memory session the caller named, as Flowise decides it for an
        API call: ``overrideConfig.sessionId``, else the chat id the caller gave; ``None``
        (an internal call, or none named) lets the flow decide: its memory node's
        ``sessionId``, else ``chat_id``.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    flow: Chatflow
    question: str
    chat_id: str
    chat_type: ChatType = ChatType.EXTERNAL
    overrides: Mapping[str, Any] | None = None
    history: Sequence[ChatMessage] | None = None
    uploads: Sequence[Upload] = Field(default=())
    session_id: str | None = None


@runtime_checkable
class Backend(Protocol):
    """Where entities live and flows run, for :class:`~flowkit.Workspace`.

    ``kind`` arguments are the entity classes (``Chatflow``, ``Tool``, ``Assistant``).
    """

    def create(self, entity: EntityT) -> EntityT:
        """Save a new entity.

        :returns: the entity as saved (a remote backend returns a new object carrying the
            server's id).
        :raises AlreadyExistsError: when the id is taken.
        """
        ...

    def get(self, kind: type[EntityT], entity_id: str) -> EntityT:
        """The saved entity. :raises NotFoundError: when there is none."""
        ...

    def list(self, kind: type[EntityT]) -> list[EntityT]:
        """Every saved entity of ``kind``."""
        ...

    def update(self, entity: EntityT) -> EntityT:
        """Replace the saved entity with ``entity``'s id.

        :returns: the entity as saved now. :raises NotFoundError: when there is none.
        """
        ...

    def delete(self, kind: type[EntityT], entity_id: str) -> EntityT:
        """Delete the saved entity. :returns: it as it was. :raises NotFoundError:"""
        ...

    def upsert(self, request: UpsertRequest) -> UpsertResult:
        """Run the flow's vector-store part in upsert mode."""
        ...

    def predict(self, request: PredictRequest) -> Prediction:
        """Answer the request's question."""
        ...

    def stream(self, request: PredictRequest) -> Iterator[Any]:
        """Answer the question as typed stream events (``start``, ``token``, ..., ``end``)."""
        ...

    def chat_messages(
        self, chatflow_id: str, chat_id: str | None = None
    ) -> builtins.list[ChatMessage]:
        """The stored conversation(s) of a chatflow, oldest first."""
        ...

    def delete_chat_messages(self, chatflow_id: str, chat_id: str | None = None) -> int:
        """Delete stored messages. :returns: how many."""
        ...

    def upsert_history(self, chatflow_id: str) -> builtins.list[UpsertRecord]:
        """A record of every upsert of a chatflow (when, stop node, counts), oldest first,
        newest last. :raises NotFoundError: when there is no such chatflow."""
        ...

    def close(self) -> None:
        """Release connections and files; calling it twice is harmless."""
        ...


@runtime_checkable
class AsyncBackend(Protocol):
    """The async twin of :class:`Backend`, for :class:`~flowkit.AsyncWorkspace`: the same
    methods, awaitable (``stream`` is an async iterator)."""

    async def create(self, entity: EntityT) -> EntityT: ...
    async def get(self, kind: type[EntityT], entity_id: str) -> EntityT: ...
    async def list(self, kind: type[EntityT]) -> list[EntityT]: ...
    async def update(self, entity: EntityT) -> EntityT: ...
    async def delete(self, kind: type[EntityT], entity_id: str) -> EntityT: ...
    async def upsert(self, request: UpsertRequest) -> UpsertResult: ...
    async def predict(self, request: PredictRequest) -> Prediction: ...
    def stream(self, request: PredictRequest) -> AsyncIterator[Any]: ...
    async def chat_messages(
        self, chatflow_id: str, chat_id: str | None = None
    ) -> builtins.list[ChatMessage]: ...
    async def delete_chat_messages(self, chatflow_id: str, chat_id: str | None = None) -> int: ...
    async def upsert_history(self, chatflow_id: str) -> builtins.list[UpsertRecord]: ...
    async def aclose(self) -> None: ...


_ = Entity  # re-exported for backends' annotations
