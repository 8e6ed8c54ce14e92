""":class:`MemoryStore`: a :class:`~flowkit.storage.Store` that keeps everything in this
process, gone when the process ends. The default store of ``Workspace()``."""

from __future__ import annotations

import builtins
import itertools
import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from flowkit.errors import AlreadyExistsError, ArgumentTypeError, NotFoundError
from flowkit.model import Assistant, Chatflow, Tool
from flowkit.model.messages import ChatMessage
from flowkit.storage.base import Entity, EntityT
from flowkit.storage.upserts import UpsertRecord

__all__ = ["MemoryStore", "entity_kind"]

_KINDS: dict[type, str] = {Chatflow: "chatflow", Tool: "tool", Assistant: "assistant"}


def entity_kind(kind: type) -> str:
    """The word for an entity class (``Chatflow`` -> ``"chatflow"``), used in messages.

    :raises ArgumentTypeError: when ``kind`` is not ``Chatflow``, ``Tool`` or ``Assistant``.
    """
    for cls, word in _KINDS.items():
        if isinstance(kind, type) and issubclass(kind, cls):
            return word
    raise ArgumentTypeError(
        f"a store keeps Chatflow, Tool and Assistant objects, got {_name(kind)}: "
        "pass one of those classes (or an instance of one)"
    )


def _name(value: object) -> str:
    return value.__name__ if isinstance(value, type) else type(value).__name__


class MemoryStore:
    """Chatflows, tools, assistants, chat messages, component state and upsert records, in
    memory.

    Implements :class:`~flowkit.storage.Store` and
    :class:`~flowkit.storage.upserts.UpsertHistoryStore`. Thread-safe: one lock guards every
    call, so each call is atomic. Entities go in and come out as deep copies; component state
    is kept as JSON text, so what is saved must be JSON data (as a file-backed store needs)
    and what is loaded is a fresh copy.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._entities: dict[str, dict[str, Entity]] = {word: {} for word in _KINDS.values()}
        self._messages: dict[str, list[ChatMessage]] = {}
        self._states: dict[str, str] = {}
        self._upserts: dict[str, list[UpsertRecord]] = {}
        self._counter = itertools.count(1)
        self._generations: dict[str, int] = {}

    def __repr__(self) -> str:
        counts = " ".join(f"{word}s={len(items)}" for word, items in self._entities.items())
        return f"<MemoryStore {counts}>"

    def generation(self, chatflow_id: str) -> int:
        """A number that changes whenever the chatflow or its component state changes here
        (saved, replaced, deleted, state saved); ``0`` for one never saved. A local backend
        uses it to reuse what it read while nothing changed."""
        with self._lock:
            return self._generations.get(chatflow_id, 0)

    def _changed(self, chatflow_id: str) -> None:
        self._generations[chatflow_id] = next(self._counter)

    # ---- entities --------------------------------------------------------------------------

    def save(self, entity: Entity) -> None:
        """Keep a copy of a new entity.

        :raises AlreadyExistsError: when one of its kind with its id is kept already.
        :raises ArgumentTypeError: when ``entity`` is not a Chatflow, Tool or Assistant.
        """
        word = entity_kind(type(entity))
        copy = entity.model_copy(deep=True)
        with self._lock:
            items = self._entities[word]
            if entity.id in items:
                raise AlreadyExistsError(
                    f"a {word} with id {entity.id!r} exists already: update it with "
                    f"update_{word}, or give the new one another id",
                    kind=word,
                    entity_id=entity.id,
                )
            items[entity.id] = copy
            if word == "chatflow":
                self._changed(entity.id)

    def get(self, kind: type[EntityT], entity_id: str) -> EntityT:
        """Return a copy of the entity of ``kind`` with this id.

        :raises NotFoundError: when there is none.
        """
        word = entity_kind(kind)
        with self._lock:
            found = self._entities[word].get(entity_id) if isinstance(entity_id, str) else None
        if found is None:
            raise _not_found(word, entity_id)
        return found.model_copy(deep=True)  # type: ignore[return-value]

    def list(self, kind: type[EntityT]) -> list[EntityT]:
        """Copies of every entity of ``kind``, in the order they were first saved."""
        word = entity_kind(kind)
        with self._lock:
            items = list(self._entities[word].values())
        return [item.model_copy(deep=True) for item in items]  # type: ignore[misc]

    def replace(self, entity: Entity) -> None:
        """Replace the kept entity that has ``entity``'s kind and id (it keeps its place in
        :meth:`list`).

        :raises NotFoundError: when there is none.
        """
        word = entity_kind(type(entity))
        copy = entity.model_copy(deep=True)
        with self._lock:
            items = self._entities[word]
            if entity.id not in items:
                raise _not_found(word, entity.id)
            items[entity.id] = copy
            if word == "chatflow":
                self._changed(entity.id)

    def delete(self, kind: type[EntityT], entity_id: str) -> EntityT:
        """Forget an entity; with a chatflow, its chat messages, component state and upsert
        records too.

        :returns: the entity as it was.
        :raises NotFoundError: when there is none.
        """
        word = entity_kind(kind)
        with self._lock:
            items = self._entities[word]
            if not isinstance(entity_id, str) or entity_id not in items:
                raise _not_found(word, entity_id)
            gone = items.pop(entity_id)
            if word == "chatflow":
                self._messages.pop(entity_id, None)
                self._states.pop(entity_id, None)
                self._upserts.pop(entity_id, None)
                self._changed(entity_id)
        return gone  # type: ignore[return-value]

    # ---- chat messages ---------------------------------------------------------------------

    def add_chat_messages(self, messages: Sequence[ChatMessage]) -> None:
        """Append messages to their conversations, in the order given (all or none).

        :raises ArgumentTypeError: when one of them is not a :class:`ChatMessage`.
        """
        batch = list(messages)
        for message in batch:
            if not isinstance(message, ChatMessage):
                raise ArgumentTypeError(
                    f"add_chat_messages takes ChatMessage objects, got {_name(message)}: "
                    "build one with ChatMessage(chatflow_id=..., chat_id=..., role=..., "
                    "content=...)"
                )
        with self._lock:
            for message in batch:
                self._messages.setdefault(message.chatflow_id, []).append(message)

    def chat_messages(
        self, chatflow_id: str, chat_id: str | None = None, *, session: str | None = None
    ) -> builtins.list[ChatMessage]:
        """The messages of a chatflow (of one conversation when ``chat_id`` is given, of one
        memory session when ``session`` is), oldest first (messages are immutable, so they
        are not copied)."""
        with self._lock:
            kept = list(self._messages.get(chatflow_id, ()))
        return [
            m
            for m in kept
            if (chat_id is None or m.chat_id == chat_id)
            and (session is None or m.session == session)
        ]

    def delete_chat_messages(self, chatflow_id: str, chat_id: str | None = None) -> int:
        """Delete a chatflow's messages (one conversation's when ``chat_id`` is given).

        :returns: how many were deleted.
        """
        with self._lock:
            kept = self._messages.get(chatflow_id, [])
            left = [] if chat_id is None else [m for m in kept if m.chat_id != chat_id]
            if left:
                self._messages[chatflow_id] = left
            else:
                self._messages.pop(chatflow_id, None)
            return len(kept) - len(left)

    # ---- component state -------------------------------------------------------------------

    def load_state(self, chatflow_id: str) -> dict[str, Any]:
        """A fresh copy of the chatflow's component state (``{}`` when none was kept)."""
        with self._lock:
            text = self._states.get(chatflow_id)
        loaded: dict[str, Any] = json.loads(text) if text is not None else {}
        return loaded

    def save_state(self, chatflow_id: str, state: Mapping[str, Any]) -> None:
        """Keep the chatflow's component state, replacing what was kept.

        :raises ArgumentTypeError: when the state is not JSON data (nothing is kept then).
        """
        try:
            text = json.dumps(dict(state), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ArgumentTypeError(
                f"the component state of chatflow {chatflow_id!r} is not JSON data ({exc}): "
                "a component must keep only dicts, lists, strings, numbers, booleans and None "
                "in context.state"
            ) from None
        with self._lock:
            self._states[chatflow_id] = text
            self._changed(chatflow_id)

    # ---- upsert history --------------------------------------------------------------------

    def add_upsert_record(self, record: UpsertRecord) -> None:
        """Keep one upsert's record (Flowise's ``upsert_history``), after the chatflow's
        earlier ones.

        :raises ArgumentTypeError: when ``record`` is not an
            :class:`~flowkit.storage.upserts.UpsertRecord` (nothing is kept then).
        """
        if not isinstance(record, UpsertRecord):
            raise ArgumentTypeError(
                f"add_upsert_record takes an UpsertRecord, got {_name(record)}: build one with "
                "UpsertRecord(chatflow_id=..., stop_node_id=..., num_added=...)"
            )
        with self._lock:
            self._upserts.setdefault(record.chatflow_id, []).append(record)

    def upsert_history(self, chatflow_id: str) -> builtins.list[UpsertRecord]:
        """The chatflow's upsert records, oldest first (``[]`` when there are none, also for
        an unknown chatflow). Records are immutable, so they are not copied."""
        with self._lock:
            return list(self._upserts.get(chatflow_id, ()))

    def close(self) -> None:
        """Nothing to release; calling it (twice, too) is harmless and keeps the data."""


def _not_found(word: str, entity_id: object) -> NotFoundError:
    return NotFoundError(
        f"no {word} {entity_id!r} in this workspace: list the saved ones with "
        f"workspace.{word}s, or save it first with create_{word}",
        kind=word,
        entity_id=str(entity_id),
    )
