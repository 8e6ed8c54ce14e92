"""The entities that sit beside chatflows: :class:`Tool` and :class:`Assistant`.

Both serialize as their Flowise API records (``model_dump()`` / ``model_dump_json()``) and
read such a record back (``model_validate`` / ``model_validate_json``) into an equal entity.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator

from flowkit.errors import FlowValidationError
from flowkit.model.build import build
from flowkit.model.chatflow import iso_time, new_id, utc_now
from flowkit.model.checked import CheckedModel
from flowkit.model.enums import AssistantType
from flowkit.model.flowdata import assemble, emitted
from flowkit.model.jsondata import clone, kind_of, parse_json, read_json
from flowkit.model.parts import KEY_ORDER_FIELDS

__all__ = ["Assistant", "Tool", "tool_from_flowise", "tool_to_flowise"]

# (Flowise key, model field) pairs, in the order Flowise writes them.
_TOOL_KEYS = (
    ("id", "id"),
    ("name", "name"),
    ("description", "description"),
    ("color", "color"),
    ("iconSrc", "icon_src"),
    ("schema", "input_schema"),
    ("func", "func"),
    ("createdDate", "created_at"),
)
_TOOL_FIELDS = dict(_TOOL_KEYS)
_GENERATED = frozenset({"id", "createdDate"})  # written for a loaded tool only if it had them
# Flowise keys that are not field names: read as their fields in any input.
_RENAMED = {"iconSrc": "icon_src", "schema": "input_schema", "createdDate": "created_at"}


def _renamed(data: Mapping[str, Any]) -> dict[str, Any]:
    return {_RENAMED.get(k, k): v for k, v in data.items()}


class Tool(CheckedModel):
    """A Flowise custom tool: a name, a description, an input schema and a function.

    :param id: the tool id (a uuid4 string unless given); cannot change.
    :param name: the tool's name (the one user-chosen text Flowise's telemetry sends).
    :param description: what the tool does, for the model that calls it.
    :param color: the display colour.
    :param icon_src: the icon's address (Flowise ``iconSrc``).
    :param input_schema: the input properties, as Flowise exports them (a JSON string) or as
        a list; given back exactly as given. Flowise's key ``schema`` is accepted too.
    :param func: the function's source text.
    :param created_at: when it was created (Flowise ``createdDate``).
    :param extra: every other key of the export or record, verbatim.
    :param key_order: the key order of the Flowise object it was read from (None when built
        in code); not compared by ``==``.

    ``model_dump()`` gives the tool as its Flowise API record (``id``, ``name``,
    ``description``, ``color``, ``iconSrc``, ``schema``, ``func``, ``createdDate``, the
    ``extra`` keys), and ``model_validate`` reads one back into an equal tool.
    """

    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    id: str = Field(default_factory=new_id, min_length=1, frozen=True)
    name: str = Field(min_length=1)
    description: str = ""
    color: str | None = None
    icon_src: str | None = None
    input_schema: str | list[Any] | None = None
    func: str | None = None
    created_at: datetime = Field(default_factory=utc_now)
    extra: dict[str, Any] = Field(default_factory=dict)
    key_order: tuple[str, ...] | None = Field(default=None, repr=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tool):
            return NotImplemented
        return _content(self) == _content(other)

    @model_validator(mode="before")
    @classmethod
    def _from_flowise_keys(cls, data: Any) -> Any:
        """Read Flowise's keys (``schema``, ``iconSrc``, ``createdDate``); a record (it has
        ``createdDate``) keeps its other keys in ``extra`` and its key order."""
        if not isinstance(data, Mapping):
            return data
        if "createdDate" not in data:
            return _renamed(data)
        return _record_fields(data)

    @model_serializer(mode="plain")
    def _to_record(self) -> dict[str, Any]:
        known = emitted(self, _TOOL_KEYS, self.key_order, _GENERATED)
        known["id"] = self.id
        known["createdDate"] = iso_time(self.created_at)
        return assemble(self.key_order or tuple(k for k, _ in _TOOL_KEYS), known, self.extra)

    @property
    def schema_properties(self) -> list[Any]:
        """The input properties as a list, parsed from the JSON string when need be.

        :returns: ``[]`` when there is no schema or it is not a JSON list.
        """
        value = self.input_schema
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):  # not JSON, or nested too deeply to parse
                return []
        return value if isinstance(value, list) else []

    @classmethod
    def from_flowise(cls, source: str | bytes | Path | Mapping[str, Any]) -> Tool:
        """Load a Flowise tool export; see :func:`tool_from_flowise`.

        :raises FlowValidationError: when the input is not a well-formed tool export.
        """
        return tool_from_flowise(source)

    def to_flowise(self) -> dict[str, Any]:
        """Return the tool as Flowise exports it; see :func:`tool_to_flowise`."""
        return tool_to_flowise(self)


def _record_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in obj.items():
        if key in _TOOL_FIELDS:
            fields[_TOOL_FIELDS[key]] = value
        else:
            extra[key] = clone(value)
    fields["extra"] = extra
    fields["key_order"] = tuple(obj)
    return fields


def _content(model: BaseModel) -> dict[str, Any]:
    return {k: v for k, v in model.__dict__.items() if k not in KEY_ORDER_FIELDS}


def tool_from_flowise(source: str | bytes | Path | Mapping[str, Any]) -> Tool:
    """Load a Flowise tool export (``{name, description, color, iconSrc, schema, func}``) or
    API record, from a mapping, JSON text or a file.

    :raises FlowValidationError: when the input is not JSON, not an object, has no name, or
        a field has the wrong type.
    """
    try:
        obj = read_json(source)
    except RecursionError:
        raise FlowValidationError("the tool is nested too deeply to read; flatten it") from None
    if not isinstance(obj, dict):
        raise FlowValidationError(
            f"a Flowise tool must be a JSON object, got {kind_of(obj)}; pass a tool export"
        )
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise FlowValidationError("tool has no name (a non-empty string); give it one")
    fields = _record_fields(obj)
    if not obj.get("createdDate"):
        fields.pop("created_at", None)  # an export has no date (or an empty one): now
        if "createdDate" in obj:
            fields["extra"]["createdDate"] = obj["createdDate"]
    return build(Tool, fields, f"tool {name!r}")


def tool_to_flowise(tool: Tool) -> dict[str, Any]:
    """Return the tool as Flowise exports it, keys in the source's order.

    A tool built in code is written without its ``id`` and ``createdDate`` (as the
    marketplace exports are).
    """
    order = tool.key_order
    pairs = _TOOL_KEYS if order is not None else _TOOL_KEYS[1:-1]
    known = emitted(tool, pairs, order, _GENERATED)
    if "createdDate" in known:
        known["createdDate"] = iso_time(tool.created_at)
    return assemble(order, known, tool.extra)


class Assistant(CheckedModel):
    """A Flowise assistant.

    :param id: the assistant id (a uuid4 string unless given); cannot change.
    :param details: the assistant's details (name, instructions, model, ...), as Flowise
        keeps them (a JSON string in a record is read as its object).
    :param credential: a credential id, if any.
    :param icon_src: the icon's address (Flowise ``iconSrc``).
    :param type: the :class:`AssistantType` (``CUSTOM`` by default).
    :param created_at: when it was created (Flowise ``createdDate``).
    :param extra: every other key of a Flowise record (``workspaceId``, ...), verbatim.

    ``model_dump()`` gives the assistant as its Flowise API record (``id``, ``details`` as
    JSON text, ``credential``, ``iconSrc``, ``type``, ``createdDate``, the ``extra`` keys);
    ``model_validate`` reads one back into an equal assistant.
    """

    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    id: str = Field(default_factory=new_id, min_length=1, frozen=True)
    details: dict[str, Any] = Field(default_factory=dict)
    credential: str | None = None
    icon_src: str | None = None
    type: AssistantType = AssistantType.CUSTOM
    created_at: datetime = Field(default_factory=utc_now)
    extra: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_record(cls, data: Any) -> Any:
        """Read Flowise's keys; ``details`` given as JSON text is parsed; a record (it has
        ``createdDate``) keeps its other keys in ``extra``."""
        if not isinstance(data, Mapping):
            return data
        fields = _renamed(data)
        if isinstance(fields.get("details"), str | bytes):
            fields["details"] = parse_json(fields["details"], "assistant details")
        if "createdDate" in data:
            known = set(cls.model_fields)
            extra = {k: clone(v) for k, v in fields.items() if k not in known}
            fields = {k: v for k, v in fields.items() if k in known}
            fields["extra"] = {**fields.get("extra", {}), **extra}
        return fields

    @model_serializer(mode="plain")
    def _to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": self.id,
            "details": json.dumps(self.details, separators=(",", ":")),
            "credential": self.credential,
            "iconSrc": self.icon_src,
            "type": self.type.value,
            "createdDate": iso_time(self.created_at),
        }
        for key, value in self.extra.items():
            record.setdefault(key, clone(value))
        return record
