"""Every Flowise REST call the clients make, described once as a
:class:`~flowkit.client.core.Call` (upsert and prediction come from :mod:`flowkit.client.runs`).

Both twins send exactly these descriptions; only how they wait differs. Each function's
docstring is the documentation of the client method of the same name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from flowkit.client import records
from flowkit.client.core import Call
from flowkit.client.records import Credential, Variable
from flowkit.client.runs import History, predict, prediction_body, stream_call, upsert_vector
from flowkit.errors import ArgumentTypeError, NotFoundError
from flowkit.model import Assistant, Chatflow, FlowType, Tool
from flowkit.model.messages import ChatMessage
from flowkit.storage.upserts import UpsertRecord

__all__ = [
    "History",
    "chat_messages",
    "check_chatflow",
    "create_assistant",
    "create_chatflow",
    "create_credential",
    "create_tool",
    "create_variable",
    "delete_assistant",
    "delete_chat_messages",
    "delete_chatflow",
    "delete_credential",
    "delete_tool",
    "delete_variable",
    "get_assistant",
    "get_chatflow",
    "get_tool",
    "list_assistants",
    "list_chatflows",
    "list_credentials",
    "list_tools",
    "list_variables",
    "ping",
    "predict",
    "prediction_body",
    "stream_call",
    "update_assistant",
    "update_chatflow",
    "update_tool",
    "update_variable",
    "upsert_history",
    "upsert_vector",
    "version",
]


def _flow_type(value: FlowType | str) -> FlowType:
    try:
        return FlowType(value)
    except ValueError:
        choices = ", ".join(t.value for t in FlowType)
        raise ArgumentTypeError(f"unknown flow type {value!r}: use one of {choices}") from None


def _id(value: str) -> str:
    return quote(str(value), safe="")


def _list_of(parse: Any) -> Any:
    def parse_list(payload: Any) -> list[Any]:
        items = payload.get("data") if isinstance(payload, dict) else payload
        return [parse(item) for item in items] if isinstance(items, list) else []

    return parse_list


def _deleted(kind: str, entity_id: str) -> Any:
    def parse(payload: Any) -> None:
        if isinstance(payload, dict) and payload.get("affected") == 0:
            raise NotFoundError(
                f"no {kind} {entity_id!r} on the Flowise server (nothing was deleted)",
                kind=kind,
                entity_id=entity_id,
            )

    return parse


# ---- server -------------------------------------------------------------------------------


def ping() -> Call[str]:
    """Ask the server whether it runs (``GET /api/v1/ping``); returns ``"pong"``."""
    return Call("GET", "/ping", lambda text: str(text).strip(), text=True)


def version() -> Call[str]:
    """The server's Flowise version (``"3.1.4"``)."""
    return Call("GET", "/version", lambda payload: str(payload.get("version", "")))


# ---- chatflows ----------------------------------------------------------------------------


def list_chatflows(type: FlowType | str | None = None) -> Call[list[Chatflow]]:
    """Every chatflow on the server (of one :class:`~flowkit.FlowType` when given)."""
    params = {"type": _flow_type(type).value} if type is not None else None
    return Call("GET", "/chatflows", _list_of(records.chatflow_from_record), params=params)


def get_chatflow(chatflow_id: str) -> Call[Chatflow]:
    """The chatflow with this id. :raises NotFoundError: when there is none."""
    return Call(
        "GET",
        f"/chatflows/{_id(chatflow_id)}",
        records.chatflow_from_record,
        kind="chatflow",
        entity_id=chatflow_id,
    )


def check_chatflow(chatflow_id: str) -> Call[None]:
    """Ask whether the chatflow exists (its record is read, not parsed).

    :raises NotFoundError: when there is none.
    """
    return Call(
        "GET",
        f"/chatflows/{_id(chatflow_id)}",
        lambda payload: None,
        kind="chatflow",
        entity_id=chatflow_id,
    )


def create_chatflow(flow: Chatflow, settings: Mapping[str, Any] | None = None) -> Call[Chatflow]:
    """Create a chatflow from ``flow`` (any :class:`~flowkit.FlowType`).

    Flowise assigns its own id: the result is a new object carrying it.

    :param settings: other chatflow fields (``deployed``, ``isPublic``, ``apiConfig``,
        ``chatbotConfig``, ``category``, ``apikeyid``), sent as given.
    """
    body = records.chatflow_body(flow, settings)
    return Call("POST", "/chatflows", records.chatflow_from_record, json=body, retry=False)


def update_chatflow(flow: Chatflow, settings: Mapping[str, Any] | None = None) -> Call[Chatflow]:
    """Replace the name, type and graph of the chatflow with ``flow``'s id.

    Fields not sent (``deployed``, ``apiConfig``, ...) keep their values on the server.
    :raises NotFoundError: when there is no such chatflow.
    """
    return Call(
        "PUT",
        f"/chatflows/{_id(flow.id)}",
        records.chatflow_from_record,
        json=records.chatflow_body(flow, settings),
        kind="chatflow",
        entity_id=flow.id,
    )


def delete_chatflow(chatflow_id: str) -> Call[None]:
    """Delete a chatflow. :raises NotFoundError: when there is none."""
    return Call(
        "DELETE",
        f"/chatflows/{_id(chatflow_id)}",
        _deleted("chatflow", chatflow_id),
        kind="chatflow",
        entity_id=chatflow_id,
    )


# ---- tools ----------------------------------------------------------------------------------


def list_tools() -> Call[list[Tool]]:
    """Every custom tool on the server."""
    return Call("GET", "/tools", _list_of(records.tool_from_record))


def get_tool(tool_id: str) -> Call[Tool]:
    """The tool with this id. :raises NotFoundError: when there is none."""
    path = f"/tools/{_id(tool_id)}"
    return Call("GET", path, records.tool_from_record, kind="tool", entity_id=tool_id)


def create_tool(tool: Tool) -> Call[Tool]:
    """Create a tool; the result carries the server's id."""
    return Call(
        "POST", "/tools", records.tool_from_record, json=records.tool_body(tool), retry=False
    )


def update_tool(tool: Tool) -> Call[Tool]:
    """Replace the tool with ``tool``'s id. :raises NotFoundError: when there is none."""
    return Call(
        "PUT",
        f"/tools/{_id(tool.id)}",
        records.tool_from_record,
        json=records.tool_body(tool),
        kind="tool",
        entity_id=tool.id,
    )


def delete_tool(tool_id: str) -> Call[None]:
    """Delete a tool. :raises NotFoundError: when there is none."""
    path = f"/tools/{_id(tool_id)}"
    return Call("DELETE", path, _deleted("tool", tool_id), kind="tool", entity_id=tool_id)


# ---- assistants -----------------------------------------------------------------------------


def list_assistants(type: str | None = None) -> Call[list[Assistant]]:
    """Every assistant on the server (of one type, ``"CUSTOM"``/``"OPENAI"``/``"AZURE"``)."""
    params = {"type": str(type)} if type is not None else None
    return Call("GET", "/assistants", _list_of(records.assistant_from_record), params=params)


def get_assistant(assistant_id: str) -> Call[Assistant]:
    """The assistant with this id. :raises NotFoundError: when there is none."""
    path = f"/assistants/{_id(assistant_id)}"
    parse = records.assistant_from_record
    return Call("GET", path, parse, kind="assistant", entity_id=assistant_id)


def create_assistant(assistant: Assistant) -> Call[Assistant]:
    """Create an assistant; the result carries the server's id.

    A ``CUSTOM`` assistant without a credential is sent with
    :data:`~flowkit.client.records.NO_CREDENTIAL` (the server needs one) and reads back
    with ``credential=None``.
    """
    body = records.assistant_body(assistant)
    return Call("POST", "/assistants", records.assistant_from_record, json=body, retry=False)


def update_assistant(assistant: Assistant) -> Call[Assistant]:
    """Replace the assistant with ``assistant``'s id. :raises NotFoundError:"""
    return Call(
        "PUT",
        f"/assistants/{_id(assistant.id)}",
        records.assistant_from_record,
        json=records.assistant_body(assistant),
        kind="assistant",
        entity_id=assistant.id,
    )


def delete_assistant(assistant_id: str) -> Call[None]:
    """Delete an assistant. :raises NotFoundError: when there is none."""
    path = f"/assistants/{_id(assistant_id)}"
    parse = _deleted("assistant", assistant_id)
    return Call("DELETE", path, parse, kind="assistant", entity_id=assistant_id)


# ---- variables and credentials --------------------------------------------------------------


def list_variables() -> Call[list[Variable]]:
    """Every variable on the server."""
    return Call("GET", "/variables", _list_of(records.variable_from_record))


def create_variable(name: str, value: str, type: str = "static") -> Call[Variable]:
    """Create a variable (``type`` ``"static"`` or ``"runtime"``)."""
    body = {"name": name, "value": value, "type": type}
    return Call("POST", "/variables", records.variable_from_record, json=body, retry=False)


def update_variable(variable: Variable) -> Call[Variable]:
    """Replace the variable with ``variable``'s id. :raises NotFoundError:"""
    body = {"name": variable.name, "value": variable.value, "type": variable.type}
    path = f"/variables/{_id(variable.id)}"
    parse = records.variable_from_record
    return Call("PUT", path, parse, json=body, kind="variable", entity_id=variable.id)


def delete_variable(variable_id: str) -> Call[None]:
    """Delete a variable. :raises NotFoundError: when there is none."""
    path = f"/variables/{_id(variable_id)}"
    parse = _deleted("variable", variable_id)
    return Call("DELETE", path, parse, kind="variable", entity_id=variable_id)


def list_credentials(credential_name: str | None = None) -> Call[list[Credential]]:
    """Every credential's id and names (of one kind, e.g. ``"openAIApi"``); never values."""
    params = {"credentialName": credential_name} if credential_name else None
    return Call("GET", "/credentials", _list_of(records.credential_from_record), params=params)


def create_credential(name: str, credential_name: str, data: Mapping[str, Any]) -> Call[Credential]:
    """Create a credential from its values (sent once, never read back).

    :param credential_name: its kind, e.g. ``"openAIApi"``.
    :param data: its fields, e.g. ``{"openAIApiKey": "sk-..."}``.
    """
    body = {"name": name, "credentialName": credential_name, "plainDataObj": dict(data)}
    return Call("POST", "/credentials", records.credential_from_record, json=body, retry=False)


def delete_credential(credential_id: str) -> Call[None]:
    """Delete a credential. :raises NotFoundError: when there is none."""
    path = f"/credentials/{_id(credential_id)}"
    parse = _deleted("credential", credential_id)
    return Call("DELETE", path, parse, kind="credential", entity_id=credential_id)


# ---- chat messages ------------------------------------------------------------------------


def _message_filters(filters: Mapping[str, Any]) -> dict[str, str]:
    names = {
        "chat_id": "chatId",
        "session_id": "sessionId",
        "chat_type": "chatType",
        "memory_type": "memoryType",
        "message_id": "messageId",
        "start_date": "startDate",
        "end_date": "endDate",
        "order": "order",
        "hard_delete": "hardDelete",
    }
    params: dict[str, str] = {}
    for key, value in filters.items():
        if value is None:
            continue
        if key not in names:
            raise ArgumentTypeError(
                f"unknown chat message filter {key!r}: use one of {', '.join(sorted(names))}"
            )
        params[names[key]] = str(value).lower() if isinstance(value, bool) else str(value)
    return params


_UNKNOWN_FLOW = ("not found", "Unauthorized access")  # Flowise's 500s for an unknown chatflow


def chat_messages(chatflow_id: str, **filters: Any) -> Call[list[ChatMessage]]:
    """A chatflow's stored messages, oldest first unless ``order="DESC"``.

    :param filters: ``chat_id``, ``session_id``, ``chat_type`` (``"INTERNAL"``/``"EXTERNAL"``),
        ``memory_type``, ``message_id``, ``start_date``, ``end_date``, ``order``.
    :raises NotFoundError: when there is no such chatflow.
    """
    return Call(
        "GET",
        f"/chatmessage/{_id(chatflow_id)}",
        _list_of(records.chat_message_from_record),
        params=_message_filters(filters) or None,
        kind="chatflow",
        entity_id=chatflow_id,
        missing_markers=_UNKNOWN_FLOW,
    )


def delete_chat_messages(chatflow_id: str, **filters: Any) -> Call[int]:
    """Delete a chatflow's stored messages (those matching the filters of
    :func:`chat_messages`, and ``hard_delete``); returns how many."""
    return Call(
        "DELETE",
        f"/chatmessage/{_id(chatflow_id)}",
        lambda payload: int(payload.get("affected") or 0) if isinstance(payload, dict) else 0,
        params=_message_filters(filters) or None,
        kind="chatflow",
        entity_id=chatflow_id,
        missing_markers=_UNKNOWN_FLOW,
    )


# ---- upsert history -----------------------------------------------------------------------


def upsert_history(chatflow_id: str) -> Call[list[UpsertRecord]]:
    """A chatflow's upsert records (``GET /api/v1/upsert-history/<id>?order=ASC``), oldest
    first, newest last; see :func:`~flowkit.client.records.upsert_record_from_record` for
    what maps to what.

    Flowise answers an unknown chatflow with an empty list, not an error: the client's
    ``upsert_history`` method then asks for the chatflow to tell the two apart.
    """
    return Call(
        "GET",
        f"/upsert-history/{_id(chatflow_id)}",
        _history_parser(chatflow_id),
        params={"order": "ASC"},
        kind="chatflow",
        entity_id=chatflow_id,
    )


def _history_parser(chatflow_id: str) -> Any:
    def parse(payload: Any) -> list[UpsertRecord]:
        found = _list_of(lambda r: records.upsert_record_from_record(r, chatflow_id))(payload)
        # Flowise stores dates to the second: a stable sort keeps its order within one.
        return sorted(found, key=lambda record: record.created_at)

    return parse
