"""One message of a conversation with a chatflow (:class:`ChatMessage`), and a file sent with
a question or an upsert (:class:`Upload`)."""

from __future__ import annotations

import base64
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from flowkit.model.chatflow import new_id, utc_now

__all__ = ["ChatMessage", "Role", "Upload", "data_uri"]


class Role(StrEnum):
    """Who wrote a message, spelled as Flowise's ``chat_message.role``."""

    USER = "userMessage"
    API = "apiMessage"


class ChatMessage(BaseModel):
    """A question or an answer stored under (chatflow, chat id), as Flowise's chat_message.

    :param chatflow_id: the chatflow the conversation is with.
    :param chat_id: the conversation.
    :param role: :class:`Role`: ``userMessage`` (the question) or ``apiMessage`` (the answer).
    :param content: the text.
    :param created_at: when it was stored (UTC).
    :param id: the message's id (a uuid4 string unless given).
    :param session_id: the memory session the message belongs to, as Flowise's
        ``sessionId``, when it is not the conversation itself (``None``: the chat id; a
        value equal to the chat id is kept as ``None``).
    """

    model_config = ConfigDict(frozen=True)

    chatflow_id: str
    chat_id: str
    role: Role
    content: str
    created_at: datetime = Field(default_factory=utc_now)
    id: str = Field(default_factory=new_id)
    session_id: str | None = None

    @model_validator(mode="after")
    def _session_is_not_the_chat(self) -> ChatMessage:
        if self.session_id is not None and self.session_id == self.chat_id:
            object.__setattr__(self, "session_id", None)
        return self

    @property
    def session(self) -> str:
        """The memory session: ``session_id``, else the chat id."""
        return self.session_id if self.session_id is not None else self.chat_id


class Upload(BaseModel):
    """A file sent with a prediction or an upsert.

    :param name: the file's name.
    :param data: its bytes.
    :param mime: its media type.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    data: bytes
    mime: str = "application/octet-stream"


def data_uri(data: bytes, mime: str) -> str:
    """A file as a base64 data URI, ``data:<mime>;base64,<data>``: how Flowise takes files
    in a prediction's ``uploads`` and in an upsert's file inputs."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
