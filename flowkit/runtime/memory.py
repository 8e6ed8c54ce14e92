"""Conversation memory: the ``bufferMemory`` and ``conversationChain`` built-ins (Flowise's
names).

``bufferMemory`` gives a chain the conversation so far: the questions and answers already
kept for the run's chat id (``RunContext.history``, loaded by the backend from its store),
oldest first. ``conversationChain`` asks its chat model with that history before the new
question, so the second question of a chat sees the first question and answer::

    memory = flow.add_node("bufferMemory", category="Memory")
    model = flow.add_node("fakeChatModel", category="Chat Models")
    chain = flow.add_node("conversationChain", category="Chains")
    flow.connect(memory, chain, "memory")
    flow.connect(model, chain, "model")

The prompt the model receives: the system message, a blank line, one ``Human: ...`` or
``AI: ...`` line per kept message, then ``Question: <the new question>``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

from flowkit.errors import ComponentError
from flowkit.model.messages import ChatMessage, Role
from flowkit.model.rules import MEMORY_CATEGORY
from flowkit.runtime.context import RunContext
from flowkit.runtime.offline import ChatModel

__all__ = [
    "DEFAULT_SYSTEM_MESSAGE",
    "MEMORY_COMPONENTS",
    "ConversationMemory",
    "LazyHistory",
    "buffer_memory",
    "conversation_chain",
    "conversation_prompt",
]

DEFAULT_SYSTEM_MESSAGE = (
    "The following is a friendly conversation between a human and an AI. The AI is "
    "talkative and provides lots of specific details from its context. If the AI does not "
    "know the answer to a question, it truthfully says it does not know."
)
"""Flowise's default ``systemMessagePrompt`` of ``conversationChain``."""

_SPEAKERS = {Role.USER: "Human", Role.API: "AI"}


@dataclass(frozen=True, slots=True)
class ConversationMemory:
    """The conversation so far, as ``bufferMemory`` hands it to a chain.

    :param messages: the kept messages of this chat, oldest first.
    :param memory_key: Flowise's ``memoryKey`` (``"chat_history"`` unless set).
    """

    messages: tuple[ChatMessage, ...] = ()
    memory_key: str = "chat_history"

    def as_text(self) -> str:
        """One ``Human: ...`` / ``AI: ...`` line per message."""
        return "\n".join(f"{_SPEAKERS[m.role]}: {m.content}" for m in self.messages)


class LazyHistory(Sequence[ChatMessage]):
    """A conversation read only when first used: a backend hands every run its chat's
    history, and most flows never look at it. Thread-safe; read at most once.

    :param load: returns the messages, oldest first.
    """

    def __init__(self, load: Callable[[], Sequence[ChatMessage]]) -> None:
        self._load: Callable[[], Sequence[ChatMessage]] | None = load
        self._messages: tuple[ChatMessage, ...] = ()
        self._lock = threading.Lock()

    def _loaded(self) -> tuple[ChatMessage, ...]:
        if self._load is not None:
            with self._lock:
                if self._load is not None:
                    self._messages = tuple(self._load())
                    self._load = None
        return self._messages

    @overload
    def __getitem__(self, index: int) -> ChatMessage: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[ChatMessage]: ...

    def __getitem__(self, index: int | slice) -> ChatMessage | Sequence[ChatMessage]:
        return self._loaded()[index]

    def __len__(self) -> int:
        return len(self._loaded())

    def __iter__(self) -> Iterator[ChatMessage]:
        return iter(self._loaded())

    def __repr__(self) -> str:
        state = "not read yet" if self._load is not None else f"{len(self._messages)} messages"
        return f"<LazyHistory {state}>"


def _fail(context: RunContext, message: str) -> ComponentError:
    node = context.node
    return ComponentError(f"node {node.id!r} ({node.name}): {message}", node_id=node.id)


def buffer_memory(inputs: dict[str, Any], context: RunContext) -> ConversationMemory:
    """``bufferMemory``: the run's chat history; optional ``memoryKey``.

    Without a chat id (a first question) the history is empty.

    :raises ComponentError: when ``memoryKey`` is not a string.
    """
    key = inputs.get("memoryKey")
    if key in (None, ""):
        key = "chat_history"
    if not isinstance(key, str):
        raise _fail(context, f"input 'memoryKey' must be a string, got {type(key).__name__}")
    history: Sequence[ChatMessage] = getattr(context, "history", ()) or ()
    return ConversationMemory(messages=tuple(history), memory_key=key)


def conversation_prompt(system: str, memory: ConversationMemory | None, question: str) -> str:
    """The text ``conversationChain`` sends its model (see the module's docs)."""
    parts = [system, ""]
    if memory is not None and memory.messages:
        parts.append(memory.as_text())
    parts.append(f"Question: {question}")
    return "\n".join(parts)


def conversation_chain(inputs: dict[str, Any], context: RunContext) -> dict[str, str]:
    """``conversationChain``: inputs ``model`` (a chat model), ``memory`` (optional, a
    ``bufferMemory``), ``systemMessagePrompt`` (optional).

    :returns: ``{"text": answer}``.
    :raises ComponentError: outside predict mode, without a question, or when ``model`` is
        not a chat model or ``memory`` not a memory.
    """
    if context.mode != "predict" or context.question is None:
        raise _fail(context, "a conversation chain answers questions: run it in predict mode")
    model = inputs.get("model")
    if isinstance(model, str) or not isinstance(model, ChatModel):
        raise _fail(context, "input 'model' must be a chat model: connect one to it")
    memory = inputs.get("memory")
    if memory in (None, ""):
        memory = None
    elif not isinstance(memory, ConversationMemory):
        raise _fail(context, f"input 'memory' must be a memory node, got {type(memory).__name__}")
    system = inputs.get("systemMessagePrompt")
    if system in (None, ""):
        system = DEFAULT_SYSTEM_MESSAGE
    if not isinstance(system, str):
        raise _fail(context, "input 'systemMessagePrompt' must be a string")
    return {"text": model.invoke(conversation_prompt(system, memory, context.question))}


MEMORY_COMPONENTS = (
    ("bufferMemory", MEMORY_CATEGORY, buffer_memory),
    ("conversationChain", "Chains", conversation_chain),
)
"""(name, category, function) of this module's built-ins, for the built-in registry."""
