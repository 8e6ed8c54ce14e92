"""The entities that sit beside chatflows: :class:`Tool` and :class:`Assistant`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from flowkit.model.chatflow import new_id, utc_now
from flowkit.model.enums import AssistantType

__all__ = ["Assistant", "Tool"]


class Tool(BaseModel):
    """A Flowise custom tool: a name, a description, an input schema and a function.

    :param id: the tool id (a uuid4 string unless given); cannot change.
    :param name: the tool's name (the one user-chosen text Flowise's telemetry sends).
    :param description: what the tool does, for the model that calls it.
    :param color: the display colour.
    :param icon_src: the icon's address (Flowise ``iconSrc``).
    :param schema: the input properties, as Flowise exports them (a JSON string) or as a
        list; given back exactly as given.
    :param func: the function's source text.
    :param extra: every other key of the export, verbatim.
    """

    # No ``populate_by_name``: with it, pydantic's mypy plugin types ``__init__`` with
    # ``schema_`` and rejects the documented ``Tool(schema=...)``.
    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    id: str = Field(default_factory=new_id, min_length=1, frozen=True)
    name: str = Field(min_length=1)
    description: str = ""
    color: str | None = None
    icon_src: str | None = None
    # Stored as ``schema_`` (pydantic's BaseModel has a deprecated ``schema()``); read and
    # written as ``tool.schema`` and ``Tool(schema=...)``.
    schema_: str | list[Any] | None = Field(default=None, alias="schema")
    func: str | None = None
    created_at: datetime = Field(default_factory=utc_now)
    extra: dict[str, Any] = Field(default_factory=dict)

    _layout: tuple[str, ...] | None = PrivateAttr(default=None)

    @property  # type: ignore[override]
    def schema(self) -> str | list[Any] | None:
        """The input properties exactly as given: Flowise's JSON string, or a list."""
        return self.schema_

    @schema.setter
    def schema(self, value: str | list[Any] | None) -> None:
        self.schema_ = value

    @property
    def schema_properties(self) -> list[Any]:
        """The input properties as a list, parsed from the JSON string when need be.

        :returns: ``[]`` when there is no schema or it is not a JSON list.
        """
        value = self.schema
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):  # not JSON, or nested too deeply to parse
                return []
        return value if isinstance(value, list) else []

    @classmethod
    def from_flowise(cls, source: str | bytes | Path | Mapping[str, Any]) -> Tool:
        """Load a Flowise tool export; see :func:`flowkit.flowise.tool_from_flowise`.

        :raises FlowValidationError: when the input is not a well-formed tool export.
        """
        from flowkit import flowise

        return flowise.tool_from_flowise(source)

    def to_flowise(self) -> dict[str, Any]:
        """Return the tool as Flowise exports it; see :func:`flowkit.flowise.tool_to_flowise`."""
        from flowkit import flowise

        return flowise.tool_to_flowise(self)


class Assistant(BaseModel):
    """A Flowise assistant.

    :param id: the assistant id (a uuid4 string unless given); cannot change.
    :param details: the assistant's details (name, instructions, model, ...), as Flowise
        keeps them.
    :param credential: a credential id, if any.
    :param icon_src: the icon's address.
    :param type: the :class:`AssistantType` (``CUSTOM`` by default).
    """

    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    id: str = Field(default_factory=new_id, min_length=1, frozen=True)
    details: dict[str, Any] = Field(default_factory=dict)
    credential: str | None = None
    icon_src: str | None = None
    type: AssistantType = AssistantType.CUSTOM
    created_at: datetime = Field(default_factory=utc_now)
