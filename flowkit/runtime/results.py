"""What running a flow gives back: :class:`Document`, :class:`UpsertResult`, :class:`Prediction`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Document", "Prediction", "UpsertResult"]


class Document(BaseModel):
    """A piece of text with its metadata, as loaders produce and retrievers return it.

    :param page_content: the text.
    :param metadata: anything known about the text (``source`` names the file it came from).
    """

    page_content: str
    metadata: dict[str, Any] = Field(default_factory=dict)


class UpsertResult(BaseModel):
    """What an upsert did to the vector store it stopped at.

    Whatever else the vector store reports (``num_updated``, ``num_skipped``, ...) is kept
    as an extra field, readable as an attribute and included in :meth:`model_dump`.

    :param stop_node_id: the id of the vector-store node the upsert ran to.
    :param num_added: how many documents were added.
    """

    model_config = ConfigDict(extra="allow")

    stop_node_id: str
    num_added: int = 0


class Prediction(BaseModel):
    """The answer to one question asked of a flow.

    :param text: the answer.
    :param chat_id: the conversation the question belongs to.
    :param source_documents: the documents the answer was drawn from, best first (empty when
        the flow retrieves nothing).
    """

    text: str
    chat_id: str
    source_documents: list[Document] = Field(default_factory=list)
