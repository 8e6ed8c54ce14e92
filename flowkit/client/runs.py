"""The Flowise calls that run a flow: upsert and prediction (whole or streamed), described
once as :class:`~flowkit.client.core.Call` objects for both clients; never retried (neither
is idempotent). Re-exported by :mod:`flowkit.client.api`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from flowkit.client import records
from flowkit.client.core import Call
from flowkit.client.records import FileUpload
from flowkit.model.messages import ChatMessage
from flowkit.runtime.results import Prediction, UpsertResult

__all__ = ["History", "predict", "prediction_body", "stream_call", "upsert_vector"]

History = Sequence[ChatMessage | Mapping[str, Any]]
"""Earlier messages of a conversation: ``ChatMessage`` objects or ``{"role", "content"}``."""


def _id(value: str) -> str:
    return quote(str(value), safe="")


def upsert_vector(
    chatflow_id: str,
    *,
    stop_node_id: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    files: Sequence[FileUpload] = (),
) -> Call[UpsertResult]:
    """Run the chatflow's vector-store part in upsert mode; never retried.

    :param stop_node_id: the vector store to stop at (Flowise ``stopNodeId``).
    :param overrides: Flowise ``overrideConfig`` (ignored by the server unless the flow's
        ``apiConfig`` enables each overridden parameter).
    :param files: files for the flow's file loader, sent as a multipart upload.
    :raises NotFoundError: when there is no such chatflow.
    """
    parse = lambda payload: records.upsert_from_record(payload, stop_node_id)  # noqa: E731
    common: dict[str, Any] = {
        "kind": "chatflow",
        "entity_id": chatflow_id,
        "retry": False,
    }
    path = f"/vector/upsert/{_id(chatflow_id)}"
    if files:
        form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (overrides or {}).items()}
        if stop_node_id:
            form["stopNodeId"] = stop_node_id
        parts = [("files", (f.name, f.data, f.mime)) for f in files]
        return Call("POST", path, parse, data=form, files=parts, **common)
    body: dict[str, Any] = {}
    if stop_node_id:
        body["stopNodeId"] = stop_node_id
    if overrides:
        body["overrideConfig"] = dict(overrides)
    return Call("POST", path, parse, json=body, **common)


def prediction_body(
    question: str,
    *,
    chat_id: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    history: History | None = None,
    uploads: Sequence[FileUpload] = (),
    streaming: bool = False,
) -> dict[str, Any]:
    """The JSON body of a prediction."""
    body: dict[str, Any] = {"question": question}
    if streaming:
        body["streaming"] = True
    if chat_id:
        body["chatId"] = chat_id
    if overrides:
        body["overrideConfig"] = dict(overrides)
    if history:
        body["history"] = records.history_body(history)
    if uploads:
        body["uploads"] = [records.upload_body(u) for u in uploads]
    return body


def predict(
    chatflow_id: str,
    question: str,
    *,
    chat_id: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    history: History | None = None,
    uploads: Sequence[FileUpload] = (),
) -> Call[Prediction]:
    """Ask a chatflow a question and wait for the whole answer; never retried.

    :param chat_id: the conversation (Flowise starts a new one when not given).
    :param overrides: Flowise ``overrideConfig`` (``sessionId`` is always honoured; other
        keys only where the flow's ``apiConfig`` enables them).
    :param history: earlier messages to answer with.
    :param uploads: files sent with the question.
    :raises NotFoundError: when there is no such chatflow.
    :raises AuthenticationError: when the flow is protected by a key and the client's key is
        missing or wrong.
    """
    body = prediction_body(
        question, chat_id=chat_id, overrides=overrides, history=history, uploads=uploads
    )
    return Call(
        "POST",
        f"/prediction/{_id(chatflow_id)}",
        lambda payload: records.prediction_from_record(payload, chat_id),
        json=body,
        kind="chatflow",
        entity_id=chatflow_id,
        retry=False,
    )


def stream_call(chatflow_id: str, body: dict[str, Any]) -> Call[Any]:
    """The call a streamed prediction makes: its answer is read frame by frame, or, when
    the flow cannot stream, parsed as the plain JSON answer it then is."""
    return Call(
        "POST",
        f"/prediction/{_id(chatflow_id)}",
        lambda payload: payload,
        json=body,
        kind="chatflow",
        entity_id=chatflow_id,
        retry=False,
    )
