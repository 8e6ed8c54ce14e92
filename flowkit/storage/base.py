"""The :class:`Store` protocol: where a local backend keeps entities and the engine's state.

A store keeps chatflows, tools and assistants by id, the chat history of each chatflow, and
each chatflow's component state (what a vector store holds after an upsert). Both built-in
stores also keep a record of every upsert (:class:`UpsertHistoryStore`, re-exported here with
:class:`UpsertRecord`); a store of your own may leave that out. Every call is
atomic: it happens whole or not at all, and a failed call changes nothing. Stores are
thread-safe.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from flowkit.model import Assistant, Chatflow, Tool
from flowkit.model.messages import ChatMessage
from flowkit.storage.upserts import UpsertHistoryStore, UpsertRecord

__all__ = ["Entity", "EntityT", "Store", "UpsertHistoryStore", "UpsertRecord"]

Entity = Chatflow | Tool | Assistant
"""What a store keeps by id."""

EntityT = TypeVar("EntityT", Chatflow, Tool, Assistant)


@runtime_checkable
class Store(Protocol):
    """Where entities, chat messages and component state live.

    ``kind`` arguments are the entity classes themselves (``Chatflow``, ``Tool``,
    ``Assistant``). Entities go in and come out as independent copies: changing an object
    after :meth:`save` or after :meth:`get` never changes what the store holds.
    """

    def save(self, entity: Entity) -> None:
        """Keep a new entity.

        :raises AlreadyExistsError: when one of its kind with its id is kept already.
        """
        ...

    def get(self, kind: type[EntityT], entity_id: str) -> EntityT:
        """Return the entity of ``kind`` with this id.

        :raises NotFoundError: when there is none.
        """
        ...

    def list(self, kind: type[EntityT]) -> list[EntityT]:
        """Every entity of ``kind``, in the order they were first saved."""
        ...

    def replace(self, entity: Entity) -> None:
        """Replace the kept entity that has ``entity``'s kind and id.

        :raises NotFoundError: when there is none.
        """
        ...

    def delete(self, kind: type[EntityT], entity_id: str) -> EntityT:
        """Forget an entity (with a chatflow: its chat messages and component state too).

        :returns: the entity as it was.
        :raises NotFoundError: when there is none.
        """
        ...

    def add_chat_messages(self, messages: Sequence[ChatMessage]) -> None:
        """Append messages to their conversations, in the order given."""
        ...

    def chat_messages(
        self, chatflow_id: str, chat_id: str | None = None, *, session: str | None = None
    ) -> builtins.list[ChatMessage]:
        """The messages of a chatflow (of one conversation when ``chat_id`` is given, of one
        memory session, :attr:`ChatMessage.session`, when ``session`` is), oldest first."""
        ...

    def delete_chat_messages(self, chatflow_id: str, chat_id: str | None = None) -> int:
        """Delete a chatflow's messages (one conversation's when ``chat_id`` is given).

        :returns: how many were deleted.
        """
        ...

    def load_state(self, chatflow_id: str) -> dict[str, Any]:
        """The chatflow's component state: node id -> that component's state (empty when
        none was kept)."""
        ...

    def save_state(self, chatflow_id: str, state: Mapping[str, Any]) -> None:
        """Keep the chatflow's component state (replacing what was kept)."""
        ...

    def close(self) -> None:
        """Release what the store holds open; calling it twice is harmless."""
        ...
