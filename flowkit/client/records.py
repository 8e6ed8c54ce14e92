"""Flowise's REST records <-> flowkit's objects, with no I/O.

Chatflows come back as :class:`~flowkit.Chatflow`, tools as :class:`~flowkit.Tool`,
assistants as :class:`~flowkit.Assistant`, chat messages as
:class:`~flowkit.model.messages.ChatMessage`; variables and credentials as the small
:class:`Variable` and :class:`Credential` models below. A credential is only ever read as its
id and names: its values never leave the server through this client.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from flowkit.errors import FlowValidationError
from flowkit.model import Assistant, Chatflow, Tool
from flowkit.model.build import build
from flowkit.model.messages import ChatMessage, Role, data_uri
from flowkit.model.rules import VECTOR_STORE_CATEGORY
from flowkit.runtime.results import Document, Prediction, UpsertResult
from flowkit.storage.upserts import UpsertRecord

__all__ = [
    "NO_CREDENTIAL",
    "Credential",
    "FileUpload",
    "Variable",
    "assistant_body",
    "assistant_from_record",
    "chat_message_from_record",
    "chatflow_body",
    "chatflow_from_record",
    "credential_from_record",
    "history_body",
    "prediction_from_record",
    "tool_body",
    "tool_from_record",
    "upload_body",
    "upsert_from_record",
    "upsert_record_from_record",
    "variable_from_record",
]

NO_CREDENTIAL = "00000000-0000-0000-0000-000000000000"
"""The credential id sent for an assistant that has none: Flowise's ``assistant.credential``
is NOT NULL, and for a ``CUSTOM`` assistant the server never looks the id up. Read back, it
becomes ``None`` again."""


class Variable(BaseModel):
    """A Flowise variable (``$vars.<name>`` in flows).

    :param id: the server's id.
    :param name: the variable's name.
    :param value: its value.
    :param type: ``"static"`` or ``"runtime"``.
    """

    model_config = ConfigDict(frozen=True)

    id: str = ""
    name: str
    value: str = ""
    type: str = "static"


class Credential(BaseModel):
    """A credential on a Flowise server, by id and names only (never its values).

    :param id: the server's id (what a node's ``data.credential`` holds).
    :param name: the name a user gave it.
    :param credential_name: the kind of credential (``"openAIApi"``, ...).
    """

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    credential_name: str
    created_at: datetime | None = None
    updated_at: datetime | None = None


class FileUpload(Protocol):
    """A file to send (:class:`~flowkit.backends.base.Upload` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def mime(self) -> str: ...


# ---- chatflows, tools, assistants -------------------------------------------------------


_CHATFLOW_SENT = (
    "name",
    "flowData",
    "type",
    "deployed",
    "isPublic",
    "apikeyid",
    "chatbotConfig",
    "apiConfig",
    "category",
)


def chatflow_body(flow: Chatflow, settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON body that creates or replaces ``flow``: its name, type, graph (``flowData``
    as a JSON string) and the settings it has (``deployed``, ``apiConfig``, ...; unset ones
    are not sent, so the server keeps its own).

    :param settings: more chatflow fields to send, as Flowise spells them; they win.
    """
    record = flow.model_dump()
    body = {key: record[key] for key in _CHATFLOW_SENT if record.get(key) is not None}
    body.update(settings or {})
    return body


def chatflow_from_record(record: Any) -> Chatflow:
    """The chatflow a Flowise record describes (its id, name, type, dates and graph).

    :raises FlowValidationError: when the record or its ``flowData`` is malformed.
    """
    if not isinstance(record, dict) or "flowData" not in record:
        raise FlowValidationError(f"not a Flowise chatflow record: {_preview(record)}")
    return Chatflow.from_flowise(record)


def tool_body(tool: Tool) -> dict[str, Any]:
    """The JSON body that creates or replaces ``tool`` (``schema`` as a JSON string)."""
    schema = tool.input_schema
    return {
        "name": tool.name,
        "description": tool.description,
        "color": tool.color,
        "iconSrc": tool.icon_src,
        "schema": json.dumps(schema) if isinstance(schema, list) else schema,
        "func": tool.func,
    }


def tool_from_record(record: Any) -> Tool:
    """The tool a Flowise record describes (the server's other keys, ``workspaceId`` and
    ``updatedDate``, kept in ``extra``).

    :raises FlowValidationError: when the record is malformed.
    """
    if not isinstance(record, dict):
        raise FlowValidationError(f"not a Flowise tool record: {_preview(record)}")
    return Tool.from_flowise(record)


def assistant_body(assistant: Assistant) -> dict[str, Any]:
    """The JSON body that creates or replaces ``assistant`` (``details`` as a JSON string;
    :data:`NO_CREDENTIAL` when it has no credential)."""
    return {
        "details": json.dumps(assistant.details),
        "credential": assistant.credential or NO_CREDENTIAL,
        "iconSrc": assistant.icon_src,
        "type": assistant.type.value,
    }


def assistant_from_record(record: Any) -> Assistant:
    """The assistant a Flowise record describes (:data:`NO_CREDENTIAL` read as ``None``).

    :raises FlowValidationError: when the record is malformed.
    """
    if not isinstance(record, dict) or not isinstance(record.get("id"), str):
        raise FlowValidationError(f"not a Flowise assistant record: {_preview(record)}")
    if record.get("credential") in ("", NO_CREDENTIAL):
        record = {**record, "credential": None}
    return build(Assistant, record, f"assistant {record['id']!r}")


def variable_from_record(record: Any) -> Variable:
    """The variable a Flowise record describes."""
    if not isinstance(record, dict):
        raise FlowValidationError(f"not a Flowise variable record: {_preview(record)}")
    return Variable(
        id=str(record.get("id") or ""),
        name=str(record.get("name") or ""),
        value=str(record.get("value") or ""),
        type=str(record.get("type") or "static"),
    )


def credential_from_record(record: Any) -> Credential:
    """A credential's id and names; whatever else the record holds is dropped unread."""
    if not isinstance(record, dict):
        raise FlowValidationError(f"not a Flowise credential record: {_preview(record)}")
    return Credential(
        id=str(record.get("id") or ""),
        name=str(record.get("name") or ""),
        credential_name=str(record.get("credentialName") or ""),
        created_at=record.get("createdDate") or None,
        updated_at=record.get("updatedDate") or None,
    )


# ---- chat messages, predictions, upserts --------------------------------------------------


def chat_message_from_record(record: Any) -> ChatMessage:
    """A stored message; Flowise's ``chatflowid``/``chatId``/``sessionId``/``role``/``content``."""
    if not isinstance(record, dict):
        raise FlowValidationError(f"not a Flowise chat message: {_preview(record)}")
    fields: dict[str, Any] = {
        "chatflow_id": record.get("chatflowid") or "",
        "chat_id": record.get("chatId") or record.get("sessionId") or "",
        "role": Role(record.get("role") or Role.API),
        "content": record.get("content") or "",
    }
    if isinstance(record.get("sessionId"), str) and record["sessionId"]:
        fields["session_id"] = record["sessionId"]  # kept only when it is not the chat id
    for key, field in (("id", "id"), ("createdDate", "created_at")):
        if record.get(key):
            fields[field] = record[key]
    return ChatMessage(**fields)


def history_body(history: Sequence[ChatMessage | Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Earlier messages as Flowise's ``history``: ``[{"role", "content"}, ...]``."""
    out = []
    for item in history:
        if isinstance(item, ChatMessage):
            out.append({"role": item.role.value, "content": item.content})
        else:
            out.append(dict(item))
    return out


def upload_body(upload: FileUpload) -> dict[str, Any]:
    """A file as Flowise's prediction ``uploads`` entry (a base64 data URI)."""
    return {
        "data": data_uri(upload.data, upload.mime),
        "type": "file",
        "name": upload.name,
        "mime": upload.mime,
    }


def prediction_from_record(record: Any, chat_id: str | None = None) -> Prediction:
    """The answer a prediction response carries.

    :param chat_id: the conversation asked in, used when the response names none.
    """
    if not isinstance(record, dict):
        raise FlowValidationError(f"not a Flowise prediction: {_preview(record)}")
    text = record.get("text")
    if not isinstance(text, str):
        text = json.dumps(record["json"]) if "json" in record else ""
    return Prediction(
        text=text,
        chat_id=str(record.get("chatId") or chat_id or ""),
        source_documents=documents_from(record.get("sourceDocuments")),
    )


def upsert_from_record(record: Any, stop_node_id: str | None = None) -> UpsertResult:
    """What an upsert did: ``num_added`` and whatever else Flowise counted (``num_updated``,
    ``num_skipped``, ``num_deleted``), plus ``added_docs`` as :class:`Document` objects.

    :param stop_node_id: the vector store asked for (``""`` when the server chose).
    """
    if not isinstance(record, dict):
        raise FlowValidationError(f"not a Flowise upsert result: {_preview(record)}")
    extra = {
        _snake(key): value
        for key, value in record.items()
        if key.startswith("num") and isinstance(value, int) and key != "numAdded"
    }
    return UpsertResult(
        stop_node_id=stop_node_id or "",
        num_added=int(record.get("numAdded") or 0),
        added_docs=documents_from(record.get("addedDocs")),
        **extra,
    )


def upsert_record_from_record(record: Any, chatflow_id: str) -> UpsertRecord:
    """One row of Flowise's upsert history (``GET /api/v1/upsert-history/<id>``).

    ``id`` -> ``id``; ``chatflowid`` -> ``chatflow_id`` (``chatflow_id`` when missing);
    ``date`` -> ``created_at``; ``result``'s ``numAdded``, ``numUpdated``, ``numSkipped``,
    ``numDeleted`` -> ``num_added`` ... ``num_deleted`` (``0`` when Flowise did not count
    one: its memory vector store reports only ``numAdded``); ``stop_node_id`` -> the id of
    the last node of ``flowData`` (the nodes the upsert ran, in order) whose category is
    ``"Vector Stores"``, else ``None``. The nodes' parameter values are not kept.

    :raises FlowValidationError: when the record or its date is malformed.
    """
    if not isinstance(record, dict):
        raise FlowValidationError(f"not a Flowise upsert-history record: {_preview(record)}")
    result, flow_data = record.get("result"), record.get("flowData")
    counts: dict[str, Any] = result if isinstance(result, dict) else {}
    nodes: list[Any] = flow_data if isinstance(flow_data, list) else []
    stops = [
        str(node["id"])
        for node in nodes
        if isinstance(node, dict)
        and node.get("category") == VECTOR_STORE_CATEGORY
        and node.get("id")
    ]
    try:
        created_at = datetime.fromisoformat(str(record.get("date")))
    except ValueError:
        raise FlowValidationError(
            f"the upsert-history record {record.get('id')!r} has no readable date: "
            f"{record.get('date')!r}"
        ) from None
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    return UpsertRecord(
        chatflow_id=str(record.get("chatflowid") or chatflow_id),
        stop_node_id=stops[-1] if stops else None,
        num_added=_count(counts, "numAdded"),
        num_updated=_count(counts, "numUpdated"),
        num_skipped=_count(counts, "numSkipped"),
        num_deleted=_count(counts, "numDeleted"),
        created_at=created_at,
        id=str(record.get("id") or ""),
    )


def _count(counts: Mapping[str, Any], key: str) -> int:
    value = counts.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def documents_from(raw: Any) -> list[Document]:
    """Flowise's ``[{pageContent, metadata}, ...]`` as documents (others are skipped)."""
    if not isinstance(raw, list):
        return []
    return [
        Document(
            page_content=str(item.get("pageContent") or ""),
            metadata=item.get("metadata") if isinstance(item.get("metadata"), dict) else {},
        )
        for item in raw
        if isinstance(item, dict)
    ]


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
