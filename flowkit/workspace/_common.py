"""What :class:`~flowkit.Workspace` and :class:`~flowkit.AsyncWorkspace` share: argument
checks, building run requests and signal arguments, and reading a stream's answer back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from flowkit import signals
from flowkit.backends.base import PredictRequest, UpsertRequest
from flowkit.backends.events import END, ERROR, METADATA, SOURCE_DOCUMENTS, TOKEN, StreamEvent
from flowkit.errors import ArgumentTypeError, FlowiseAPIError
from flowkit.model import Assistant, Chatflow, ChatType, FlowType, Tool
from flowkit.model.chatflow import new_id
from flowkit.model.messages import ChatMessage, Upload
from flowkit.runtime import Document, Prediction

__all__ = [
    "HINTS",
    "KINDS",
    "SUCCESS",
    "StreamReader",
    "chat_type_of",
    "entity_id_of",
    "expect",
    "failure_args",
    "flow_type_of",
    "loose_chat_type",
    "predict_request",
    "prediction_args",
    "upsert_request",
]

_Item = TypeVar("_Item", Upload, ChatMessage)

KINDS: dict[str, type[Chatflow] | type[Tool] | type[Assistant]] = {
    "chatflow": Chatflow,
    "tool": Tool,
    "assistant": Assistant,
}
"""Entity word -> class."""

HINTS = {
    "chatflow": "Chatflow.from_flowise(...) or Chatflow(name=...)",
    "tool": "Tool.from_flowise(...) or Tool(name=..., description=...)",
    "assistant": "Assistant(details=...)",
}
"""How to build each kind of entity, for error messages."""

SUCCESS = {
    ("create", "chatflow"): signals.chatflow_created,
    ("update", "chatflow"): signals.chatflow_updated,
    ("delete", "chatflow"): signals.chatflow_deleted,
    ("create", "tool"): signals.tool_created,
    ("update", "tool"): signals.tool_updated,
    ("delete", "tool"): signals.tool_deleted,
    ("create", "assistant"): signals.assistant_created,
    ("update", "assistant"): signals.assistant_updated,
    ("delete", "assistant"): signals.assistant_deleted,
}
"""(verb, entity word) -> the signal sent when that operation succeeded."""


def expect(value: object, word: str, method: str) -> None:
    """Check that ``value`` is an entity of kind ``word``.

    :raises ArgumentTypeError: naming the method, the type given and how to build one.
    """
    kind = KINDS[word]
    if not isinstance(value, kind):
        raise ArgumentTypeError(
            f"{method} takes a {kind.__name__}, got {type(value).__name__}; build one with "
            f"{HINTS[word]}"
        )


def entity_id_of(value: object, word: str, method: str) -> str:
    """The id of an entity of kind ``word``, or ``value`` itself when it is an id.

    :raises ArgumentTypeError: when ``value`` is neither.
    """
    kind = KINDS[word]
    if isinstance(value, kind):
        return value.id
    if isinstance(value, str) and value:
        return value
    raise ArgumentTypeError(
        f"{method} takes a {kind.__name__} or its id (a non-empty str), got {type(value).__name__}"
    )


def loose_chat_type(value: object) -> ChatType | None:
    """``value`` as a ChatType for a failure signal, ``None`` when it is not one."""
    try:
        return ChatType(value) if isinstance(value, str) else None
    except ValueError:
        return None


def chat_type_of(value: object) -> ChatType:
    """``value`` as a :class:`ChatType`.

    :raises ArgumentTypeError: when it is not ``INTERNAL`` or ``EXTERNAL``.
    """
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return ChatType(value)
    except ValueError:
        raise ArgumentTypeError(
            f"chat_type must be ChatType.INTERNAL or ChatType.EXTERNAL (or their names), "
            f"got {value!r}"
        ) from None


def flow_type_of(value: object) -> FlowType | None:
    """The flow's type when ``value`` is a chatflow, else ``None``."""
    return value.type if isinstance(value, Chatflow) else None


def upsert_request(
    flow: Chatflow,
    stop_node_id: object,
    chat_type: ChatType,
    overrides: object,
    files: object,
) -> UpsertRequest:
    """Check an upsert's arguments and build its request.

    :raises ArgumentTypeError: when ``stop_node_id`` is not a str or None, ``overrides``
        not a mapping or None, or ``files`` not a sequence of :class:`Upload`.
    """
    if stop_node_id is not None and not isinstance(stop_node_id, str):
        raise ArgumentTypeError(
            f"stop_node_id must be a node id (str) or None, got {type(stop_node_id).__name__}"
        )
    return UpsertRequest(
        flow=flow,
        stop_node_id=stop_node_id,
        chat_type=chat_type,
        overrides=_overrides(overrides),
        files=_items(files, Upload, "files"),
    )


_HOW = {
    Upload: "flowkit.Upload objects (Upload(name=..., data=b'...', mime=...))",
    ChatMessage: "flowkit.ChatMessage objects",
}


def _items(value: object, kind: type[_Item], name: str) -> tuple[_Item, ...]:
    """``value`` as a tuple of ``kind``. :raises ArgumentTypeError: when it is not a
    sequence (a str or bytes is not) of ``kind``."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ArgumentTypeError(
            f"{name} must be a list of {kind.__name__} objects, got {type(value).__name__}"
        )
    wrong = [type(item).__name__ for item in value if not isinstance(item, kind)]
    if wrong:
        raise ArgumentTypeError(f"{name} must hold {_HOW[kind]}, got {', '.join(wrong)}")
    return tuple(value)


def predict_request(
    flow: Chatflow,
    question: object,
    chat_id: object,
    chat_type: ChatType,
    overrides: object,
    history: object,
    uploads: object,
) -> PredictRequest:
    """Check a prediction's arguments and build its request.

    The chat id is Flowise's: ``chat_id`` when given, else the ``sessionId`` of
    ``overrides`` (Flowise's ``chatId ?? overrideConfig.sessionId ?? uuid``), else a fresh
    uuid4. So a caller who names the session only (as many Flowise clients do) continues
    the same conversation, and its memory, on every backend. The memory session is
    Flowise's too (:attr:`PredictRequest.session_id`).

    :raises ArgumentTypeError: when ``question`` is not a str, ``chat_id`` not a non-empty
        str or None, ``overrides`` not a mapping or None, its ``sessionId`` not a
        non-empty str, ``history`` not a sequence of :class:`ChatMessage` or None, or
        ``uploads`` not a sequence of :class:`Upload`.
    """
    if not isinstance(question, str):
        raise ArgumentTypeError(f"question must be a str, got {type(question).__name__}")
    if chat_id is not None and (not isinstance(chat_id, str) or not chat_id):
        raise ArgumentTypeError(
            f"chat_id must be a non-empty str or None (for a new conversation), got {chat_id!r}"
        )
    checked = _overrides(overrides)
    named = _session_id(checked)
    return PredictRequest(
        flow=flow,
        question=question,
        chat_id=chat_id or named or new_id(),
        chat_type=chat_type,
        overrides=checked,
        # Flowise's getMemorySessionId: an API call's memory follows the session it names,
        # else the chat id it gave; an internal one follows the flow's memory node.
        session_id=(named or chat_id) if chat_type is ChatType.EXTERNAL else None,
        history=None if history is None else _items(history, ChatMessage, "history"),
        uploads=_items(uploads, Upload, "uploads"),
    )


def _session_id(overrides: Mapping[str, Any] | None) -> str | None:
    """``overrides["sessionId"]`` when there is one. :raises ArgumentTypeError: when it is
    not a non-empty str."""
    if overrides is None or overrides.get("sessionId") is None:
        return None
    session = overrides["sessionId"]
    if not isinstance(session, str) or not session:
        raise ArgumentTypeError(
            f"overrides['sessionId'] must be a non-empty str (the conversation), got {session!r}"
        )
    return session


def _overrides(value: object) -> Mapping[str, Any] | None:
    if value is not None and not isinstance(value, Mapping):
        raise ArgumentTypeError(
            f"overrides must be a mapping (Flowise overrideConfig) or None, got "
            f"{type(value).__name__}"
        )
    return value


def failure_args(
    operation: str,
    exc: BaseException,
    duration: float,
    *,
    chat_type: ChatType | None = None,
    flow_type: FlowType | None = None,
) -> dict[str, Any]:
    """:data:`~flowkit.signals.operation_failed`'s arguments (but ``workspace``): the error's
    type, never its message."""
    return {
        "operation": operation,
        "error_type": type(exc).__name__,
        "duration": duration,
        "chat_type": chat_type,
        "flow_type": flow_type,
    }


class StreamReader:
    """Follows a stream's events and builds the :class:`Prediction` they spell out."""

    def __init__(self, request: PredictRequest) -> None:
        self.request = request
        self.tokens: list[str] = []
        self.documents: list[Document] = []
        self.chat_id = request.chat_id
        self.error: str | None = None
        self.ended = False

    def read(self, event: StreamEvent) -> None:
        """Take one event into account."""
        if event.event == TOKEN and isinstance(event.data, str):
            self.tokens.append(event.data)
        elif event.event == SOURCE_DOCUMENTS and isinstance(event.data, list):
            self.documents = [
                Document(
                    page_content=str(d.get("pageContent", "")),
                    metadata=dict(d.get("metadata") or {}),
                )
                for d in event.data
                if isinstance(d, Mapping)
            ]
        elif event.event == METADATA and isinstance(event.data, Mapping):
            chat_id = event.data.get("chatId")
            if isinstance(chat_id, str) and chat_id:
                self.chat_id = chat_id
        elif event.event == ERROR:
            self.error = str(event.data)
        elif event.event == END:
            self.ended = True

    def failure(self) -> FlowiseAPIError | None:
        """The error an ``error`` event stands for, if there was one."""
        if self.error is None:
            return None
        return FlowiseAPIError(
            f"the stream of chatflow {self.request.flow.id!r} reported an error: {self.error}",
            status=200,
            url="",
            server_message=self.error,
        )

    def prediction(self) -> Prediction:
        """The answer the stream gave."""
        return Prediction(
            text="".join(self.tokens), chat_id=self.chat_id, source_documents=self.documents
        )


def prediction_args(request: PredictRequest, result: Prediction) -> dict[str, Any]:
    """:data:`~flowkit.signals.prediction_sent`'s arguments (but ``workspace`` and
    ``duration``), the same for an answer and for a stream that ended."""
    return {
        "chat_id": result.chat_id,
        "chat_type": request.chat_type,
        "question": request.question,
        "result": result,
    }
