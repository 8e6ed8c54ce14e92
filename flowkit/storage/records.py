"""How entities become rows of a workspace file and come back: the Flowise API record of a
chatflow (its ``flowData`` kept as text), chatflows whose graph is parsed on first use, and
the exact pydantic state of tools and assistants.

Everything here is pure: no file, no SQL. :mod:`flowkit.storage.sqlite` stores the texts.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, PrivateAttr

from flowkit.errors import FlowValidationError
from flowkit.flowise import chatflow_from_flowise, chatflow_to_flowise
from flowkit.model import Assistant, Chatflow, FlowType, Tool

__all__ = [
    "ChatflowRow",
    "StoredChatflow",
    "chatflow_row",
    "content_hash",
    "dumps",
    "entity_from_state",
    "entity_state",
    "stored_chatflow",
]

# Private attributes a stored chatflow has before its graph is parsed; every other one comes
# from the parse.
_EAGER_ATTRS = frozenset({"_revision", "_flow_data"})
_PARSE_LOCK = threading.Lock()


def dumps(value: Any, what: str) -> str:
    """Return ``value`` as compact JSON text, ASCII only (a lone surrogate in a value is
    escaped, so any str a flow holds can be stored).

    :param what: names the value in the error, e.g. ``"chatflow 'f1'"``.
    :raises FlowValidationError: when a value is not JSON (a set, an object, ...).
    """
    try:
        return json.dumps(value, separators=(",", ":"), default=_default)
    except (TypeError, ValueError) as exc:
        raise FlowValidationError(f"{what} cannot be stored: {exc}") from None


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"a {type(value).__name__} value is not JSON")


def content_hash(name: str, flow_type: str, flow_data: str) -> str:
    """The sha256 (hex) of what a revision holds: name, type and ``flowData`` text, never
    its times, so that equal flows saved at different times hash alike."""
    digest = hashlib.sha256()
    for part in (name, flow_type, flow_data):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


# ---- chatflows ----------------------------------------------------------------------------


# The fields a chatflow row keeps in columns of their own; every other field of the model
# (flow_extra, and Flowise's deployed, isPublic, ... where the model has them) is kept, by
# field name, in the JSON column ``fields``.
_COLUMN_FIELDS = frozenset({"id", "name", "type", "created_at", "updated_at"})


@dataclass(frozen=True, slots=True)
class ChatflowRow:
    """A chatflow as the ``chat_flow`` table keeps it: Flowise's API record, its
    ``flowData`` as text."""

    id: str
    name: str
    type: str
    flow_data: str
    created_date: str
    updated_date: str
    fields: str
    hash: str


def chatflow_row(flow: Chatflow) -> ChatflowRow:
    """Serialize ``flow`` for storage.

    :raises FlowValidationError: when a value of the flow is not JSON.
    """
    what = f"chatflow {flow.id!r}"
    flow_data = dumps(chatflow_to_flowise(flow), what)
    defaults = _field_defaults()
    others = {
        k: v
        for k, v in flow.__dict__.items()
        if k not in _COLUMN_FIELDS and not (k in defaults and _same_default(v, defaults[k]))
    }
    fields = dumps(others, what) if others else "{}"
    kind = flow.type.value
    return ChatflowRow(
        id=flow.id,
        name=flow.name,
        type=kind,
        flow_data=flow_data,
        created_date=flow.created_at.isoformat(),
        updated_date=flow.updated_at.isoformat(),
        fields=fields,
        hash=content_hash(flow.name, kind, flow_data + fields),
    )


class StoredChatflow(Chatflow):
    """A :class:`~flowkit.Chatflow` read from a workspace file whose graph is parsed from
    its ``flowData`` text on first use (listing 10,000 flows parses none of them).

    It behaves as a Chatflow in every way (``isinstance(flow, Chatflow)`` holds); parsing is
    thread-safe and happens at most once.
    """

    _flow_data: str | None = PrivateAttr(default=None)

    def __repr_name__(self) -> str:
        return "Chatflow"

    def __getattr__(self, item: str) -> Any:
        if item in type(self).__private_attributes__:
            private = object.__getattribute__(self, "__pydantic_private__")
            if private is not None and item not in private and private.get("_flow_data"):
                self._parse_graph(private)
                return private[item]
        return super().__getattr__(item)  # type: ignore[misc]

    def _parse_graph(self, private: dict[str, Any]) -> None:
        with _PARSE_LOCK:
            text = private.get("_flow_data")
            if not text:
                return
            parsed = chatflow_from_flowise(text, id=self.id, name=self.name, type=self.type)
            for attr, value in (parsed.__pydantic_private__ or {}).items():
                if attr not in _EAGER_ATTRS:
                    private.setdefault(attr, value)
            private["_flow_data"] = None


def stored_chatflow(
    *,
    id: str,
    name: str,
    type: str,
    created_date: str,
    updated_date: str,
    fields: str,
    flow_data: str,
    parse: bool,
) -> Chatflow:
    """Rebuild a stored chatflow; its graph is parsed now when ``parse``, else on first use.

    The values were validated when the flow was saved, so they are set without validating
    them again (listing 10,000 flows costs microseconds each); a field this flowkit has but
    the row lacks gets its default.

    :raises FlowValidationError: when ``parse`` and the stored ``flowData`` is not a flow.
    """
    values: dict[str, Any] = {
        "id": id,
        "name": name,
        "type": FlowType(type),
        "created_at": datetime.fromisoformat(created_date),
        "updated_at": datetime.fromisoformat(updated_date),
    }
    stored = json.loads(fields) if fields != "{}" else {}
    flow = StoredChatflow.__new__(StoredChatflow)
    full: dict[str, Any] = {}
    for field_name, info in _model_fields():
        if field_name in values:
            full[field_name] = values[field_name]
        elif field_name in stored:
            full[field_name] = stored[field_name]
        else:
            full[field_name] = info.get_default(call_default_factory=True)
    object.__setattr__(flow, "__dict__", full)
    object.__setattr__(flow, "__pydantic_fields_set__", set(values) | stored.keys())
    object.__setattr__(flow, "__pydantic_extra__", None)
    private: dict[str, Any] = {"_revision": 0, "_flow_data": flow_data}
    object.__setattr__(flow, "__pydantic_private__", private)
    if parse:
        flow._parse_graph(private)
    return flow


@functools.cache
def _model_fields() -> list[tuple[str, Any]]:
    return list(StoredChatflow.model_fields.items())


@functools.cache
def _field_defaults() -> dict[str, Any]:
    """The default of each field kept in ``fields`` (a default is not written)."""
    return {
        name: info.get_default(call_default_factory=True)
        for name, info in _model_fields()
        if name not in _COLUMN_FIELDS
    }


def _same_default(value: Any, default: Any) -> bool:
    return type(value) is type(default) and value == default


# ---- tools and assistants -----------------------------------------------------------------


def entity_state(entity: Tool | Assistant) -> str:
    """The exact pydantic state of a tool or assistant as JSON text: every field (by
    alias), which fields were set, and the key order of the Flowise export it came from.

    :raises FlowValidationError: when a value is not JSON.
    """
    fields = type(entity).model_fields
    values = {(info.alias or name): getattr(entity, name) for name, info in fields.items()}
    private = {
        key: value
        for key, value in (entity.__pydantic_private__ or {}).items()
        if value is None or isinstance(value, str | int | float | tuple | list | dict)
    }
    state = {"fields": values, "set": sorted(entity.model_fields_set), "private": private}
    kind = type(entity).__name__.lower()
    return dumps(state, f"{kind} {entity.id!r}")


def entity_from_state(kind: type[BaseModel], text: str) -> Any:
    """Rebuild a tool or assistant from :func:`entity_state`'s text."""
    state = json.loads(text)
    entity = kind.model_validate(state["fields"])
    object.__setattr__(entity, "__pydantic_fields_set__", set(state["set"]))
    private = entity.__pydantic_private__
    if private is not None:
        for key, value in (state.get("private") or {}).items():
            if key in private:  # what this flowkit's model still has
                private[key] = tuple(value) if isinstance(value, list) else value
    return entity
