"""Tool and Assistant: ids, the tool schema as given, the assistant's default type."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowkit import (
    Assistant,
    AssistantType,
    Chatflow,
    ChatType,
    FlowType,
    FlowValidationError,
    Tool,
)

SCHEMA_LIST = [
    {"id": 0, "property": "message", "description": "what to send", "type": "string"},
    {"id": 1, "property": "urgent", "description": "", "type": "boolean", "required": True},
]

json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
schema_rows = st.lists(st.dictionaries(st.text(max_size=8), json_scalars, max_size=4), max_size=4)


def is_uuid4(value: str) -> bool:
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return False
    return parsed.version == 4 and str(parsed) == value


@pytest.mark.parametrize(
    "make",
    [lambda: Chatflow(), lambda: Tool(name="send"), lambda: Assistant()],
    ids=["chatflow", "tool", "assistant"],
)
def test_entity_gets_a_uuid4_id_when_none_is_given(make: Any) -> None:
    first, second = make(), make()

    assert is_uuid4(first.id)
    assert first.id != second.id


@pytest.mark.parametrize(
    "make",
    [
        lambda: Chatflow(id="flow-1"),
        lambda: Tool(id="flow-1", name="send"),
        lambda: Assistant(id="flow-1"),
    ],
    ids=["chatflow", "tool", "assistant"],
)
def test_entity_keeps_the_id_it_is_given(make: Any) -> None:
    entity = make()

    assert entity.id == "flow-1"


@pytest.mark.parametrize(
    "make",
    [lambda: Chatflow(), lambda: Tool(name="send"), lambda: Assistant()],
    ids=["chatflow", "tool", "assistant"],
)
def test_entity_id_cannot_be_reassigned(make: Any) -> None:
    entity = make()

    with pytest.raises(FlowValidationError):
        entity.id = "another"

    assert entity.id != "another"


def test_tool_schema_given_as_json_string_comes_back_as_the_same_string() -> None:
    text = json.dumps(SCHEMA_LIST)

    tool = Tool(name="send", schema=text)

    assert tool.input_schema == text


def test_tool_schema_given_as_list_comes_back_as_the_same_list() -> None:
    tool = Tool(name="send", schema=SCHEMA_LIST)

    assert tool.input_schema == SCHEMA_LIST


@settings(max_examples=50, deadline=None)
@given(rows=schema_rows, as_text=st.booleans())
def test_tool_schema_properties_are_the_same_whether_given_as_string_or_list(
    rows: list[dict[str, Any]], as_text: bool
) -> None:
    tool = Tool(name="send", schema=json.dumps(rows) if as_text else rows)

    assert tool.schema_properties == rows


@pytest.mark.parametrize("schema", [None, "not json", '{"an": "object"}'])
def test_tool_schema_properties_are_empty_when_the_schema_is_not_a_list(
    schema: str | None,
) -> None:
    tool = Tool(name="send", schema=schema)

    assert tool.schema_properties == []


def test_tool_schema_can_be_replaced_by_assignment() -> None:
    tool = Tool(name="send", schema=SCHEMA_LIST)

    tool.input_schema = "[]"

    assert tool.input_schema == "[]"


def test_tool_needs_a_name() -> None:
    with pytest.raises(FlowValidationError):
        Tool(name="")


def test_assistant_type_defaults_to_custom() -> None:
    assistant = Assistant()

    assert assistant.type is AssistantType.CUSTOM


def test_assistant_type_accepts_the_flowise_spelling() -> None:
    assistant = Assistant(type="OPENAI")

    assert assistant.type is AssistantType.OPENAI


@pytest.mark.parametrize(
    ("enum", "values"),
    [
        (FlowType, ["CHATFLOW", "AGENTFLOW", "MULTIAGENT", "ASSISTANT"]),
        (AssistantType, ["OPENAI", "AZURE", "CUSTOM"]),
        (ChatType, ["INTERNAL", "EXTERNAL"]),
    ],
)
def test_enum_values_are_spelled_as_flowise_spells_them(enum: Any, values: list[str]) -> None:
    assert [member.value for member in enum] == values
