"""SQLiteStore keeps entities, chat messages and component state in a real file, reopened."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowkit.errors import (
    AlreadyExistsError,
    ArgumentTypeError,
    FlowValidationError,
    NotFoundError,
    StorageError,
)
from flowkit.model import Assistant, Chatflow, Tool
from flowkit.model.messages import ChatMessage, Role
from flowkit.storage.base import Store
from flowkit.storage.sqlite import SQLiteStore
from flowkit.storage.upserts import UpsertRecord

from .helpers import small_flow


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "flows.db"


@pytest.fixture
def store(path: Path) -> SQLiteStore:
    opened = SQLiteStore(path)
    yield opened  # type: ignore[misc]
    opened.close()


def test_store_satisfies_the_store_protocol(store: SQLiteStore) -> None:
    assert isinstance(store, Store)


def test_a_saved_chatflow_reads_back_equal_after_reopening(path: Path) -> None:
    flow = small_flow()
    with SQLiteStore(path) as store:
        store.save(flow)
    with SQLiteStore(path) as store:
        again = store.get(Chatflow, flow.id)
    assert isinstance(again, Chatflow)
    assert again.to_flowise() == flow.to_flowise()
    assert (again.id, again.name, again.type) == (flow.id, flow.name, flow.type)
    assert (again.created_at, again.updated_at) == (flow.created_at, flow.updated_at)


def test_changing_a_flow_after_save_or_get_never_changes_the_file(store: SQLiteStore) -> None:
    flow = small_flow()
    store.save(flow)
    flow.add_node("calculator")
    got = store.get(Chatflow, flow.id)
    got.remove_node("llmChain_0")
    assert [n.id for n in store.get(Chatflow, flow.id).nodes] == [
        "chatOpenAI_0",
        "promptTemplate_0",
        "llmChain_0",
    ]


def test_saving_an_id_twice_is_refused(store: SQLiteStore) -> None:
    flow = small_flow()
    store.save(flow)
    with pytest.raises(AlreadyExistsError, match=flow.id):
        store.save(flow)
    assert len(store.list(Chatflow)) == 1


def test_missing_ids_raise_not_found_naming_kind_and_file(store: SQLiteStore, path: Path) -> None:
    for kind, name in ((Chatflow, "chatflow"), (Tool, "tool"), (Assistant, "assistant")):
        with pytest.raises(NotFoundError, match=f"no {name} with id 'nope'") as caught:
            store.get(kind, "nope")
        assert str(path) in str(caught.value)
        assert (caught.value.kind, caught.value.entity_id) == (name, "nope")
    with pytest.raises(NotFoundError):
        store.replace(small_flow())
    with pytest.raises(NotFoundError):
        store.delete(Tool, "nope")


def test_list_keeps_the_order_of_first_save(store: SQLiteStore) -> None:
    flows = [small_flow(f"flow {n}") for n in range(5)]
    for flow in flows:
        store.save(flow)
    store.replace(flows[0])
    assert [f.id for f in store.list(Chatflow)] == [f.id for f in flows]


def test_list_parses_no_graph_until_one_is_used(store: SQLiteStore) -> None:
    store.save(small_flow())
    (listed,) = store.list(Chatflow)
    private = listed.__pydantic_private__ or {}
    assert "_graph" not in private
    assert [n.id for n in listed.nodes] == ["chatOpenAI_0", "promptTemplate_0", "llmChain_0"]
    assert "_graph" in private
    assert len(listed.edges) == 2


def test_a_listed_flow_can_be_changed_and_saved(store: SQLiteStore) -> None:
    store.save(small_flow())
    (listed,) = store.list(Chatflow)
    listed.add_node("calculator")
    store.replace(listed)
    assert store.get(Chatflow, listed.id).has_node("calculator_0")


def test_a_copy_of_a_listed_flow_parses_its_own_graph(store: SQLiteStore) -> None:
    store.save(small_flow())
    (listed,) = store.list(Chatflow)
    copied = listed.model_copy()
    copied.add_node("calculator")
    assert not listed.has_node("calculator_0")
    assert len(copied.nodes) == 4


def test_delete_returns_the_flow_and_forgets_what_belongs_to_it(store: SQLiteStore) -> None:
    flow = small_flow()
    store.save(flow)
    store.add_chat_messages(
        [ChatMessage(chatflow_id=flow.id, chat_id="c", role=Role.USER, content="q")]
    )
    store.save_state(flow.id, {"memoryVectorStore_0": {"docs": ["a"]}})
    store.add_upsert_record(UpsertRecord(chatflow_id=flow.id, stop_node_id="x", num_added=1))
    deleted = store.delete(Chatflow, flow.id)
    assert deleted.to_flowise() == flow.to_flowise()
    assert store.list(Chatflow) == []
    assert store.chat_messages(flow.id) == []
    assert store.load_state(flow.id) == {}
    assert store.upsert_history(flow.id) == []
    store.save(flow)  # the id is free again, and its revisions start over
    assert [r.number for r in store.revisions(flow.id)] == [1]


def test_tools_and_assistants_round_trip_exactly(path: Path) -> None:
    tool = Tool.from_flowise(
        {"name": "add", "description": "adds", "color": "red", "schema": "[]", "func": "1", "x": 2}
    )
    built = Tool(name="built", schema=[{"property": "a"}])
    assistant = Assistant(details={"name": "helper", "instructions": "be kind"}, credential="c1")
    with SQLiteStore(path) as store:
        for entity in (tool, built, assistant):
            store.save(entity)
    with SQLiteStore(path) as store:
        got_tool, got_built = store.list(Tool)
        got_assistant = store.get(Assistant, assistant.id)
    assert got_tool == tool
    assert got_tool.to_flowise() == tool.to_flowise()
    assert got_built == built
    assert got_built.to_flowise() == built.to_flowise()
    assert got_built.to_flowise()["schema"] == [{"property": "a"}]
    assert got_assistant == assistant


def test_tool_replace_and_delete(store: SQLiteStore) -> None:
    tool = Tool(name="t")
    store.save(tool)
    tool.description = "better"
    store.replace(tool)
    assert store.get(Tool, tool.id).description == "better"
    assert store.delete(Tool, tool.id).description == "better"
    assert store.count(Tool) == 0


def test_a_value_that_is_not_json_is_refused_naming_the_flow(store: SQLiteStore) -> None:
    flow = small_flow()
    flow.node("chatOpenAI_0").inputs["bad"] = {1, 2}
    with pytest.raises(FlowValidationError, match=f"chatflow {flow.id!r} cannot be stored"):
        store.save(flow)
    assert store.list(Chatflow) == []


def test_an_unknown_kind_is_an_argument_type_error(store: SQLiteStore) -> None:
    with pytest.raises(ArgumentTypeError, match="not 'str'"):
        store.list(str)  # type: ignore[type-var]


def test_chat_messages_keep_order_per_conversation(path: Path) -> None:
    messages = [
        ChatMessage(chatflow_id="f", chat_id=chat, role=role, content=f"{chat}{n}")
        for n in range(3)
        for chat in ("a", "b")
        for role in (Role.USER, Role.API)
    ]
    with SQLiteStore(path) as store:
        store.add_chat_messages(messages)
    with SQLiteStore(path) as store:
        assert store.chat_messages("f") == messages
        assert store.chat_messages("f", "a") == [m for m in messages if m.chat_id == "a"]
        assert store.delete_chat_messages("f", "a") == 6
        assert store.chat_messages("f") == [m for m in messages if m.chat_id == "b"]
        assert store.delete_chat_messages("f") == 6
        assert store.delete_chat_messages("f") == 0


def test_a_duplicate_message_id_adds_none_of_the_batch(store: SQLiteStore) -> None:
    first = ChatMessage(chatflow_id="f", chat_id="c", role=Role.USER, content="q")
    store.add_chat_messages([first])
    fresh = ChatMessage(chatflow_id="f", chat_id="c", role=Role.API, content="a")
    with pytest.raises(AlreadyExistsError):
        store.add_chat_messages([fresh, first])
    assert store.chat_messages("f") == [first]


def test_component_state_survives_reopening_and_is_replaced_whole(path: Path) -> None:
    state = {"memoryVectorStore_0": {"docs": [{"text": "x", "vector": [0.1, 0.2]}]}}
    with SQLiteStore(path) as store:
        store.save_state("f", state)
    with SQLiteStore(path) as store:
        assert store.load_state("f") == state
        store.save_state("f", {"other_0": 1})
        assert store.load_state("f") == {"other_0": 1}
        assert store.load_state("g") == {}


def test_state_that_is_not_json_names_the_node(store: SQLiteStore) -> None:
    with pytest.raises(FlowValidationError, match="node 'vs_0'"):
        store.save_state("f", {"vs_0": object()})


def test_upsert_history_keeps_counts_in_order(store: SQLiteStore) -> None:
    records = [
        UpsertRecord(chatflow_id="f", stop_node_id="vs_0", num_added=2),
        UpsertRecord(chatflow_id="f", stop_node_id="vs_0", num_skipped=2, num_deleted=1),
    ]
    for record in records:
        store.add_upsert_record(record)
    assert store.upsert_history("f") == records


def test_a_closed_store_says_so_and_closing_twice_is_harmless(path: Path) -> None:
    store = SQLiteStore(path)
    store.close()
    store.close()
    with pytest.raises(StorageError, match="is closed"):
        store.list(Chatflow)


def test_generation_changes_with_the_flow_or_its_state_in_any_connection(path: Path) -> None:
    flow = small_flow()
    with SQLiteStore(path) as store, SQLiteStore(path) as other:
        assert store.generation(flow.id) == 0
        store.save(flow)
        seen = [other.generation(flow.id)]
        other.replace(flow)
        seen.append(store.generation(flow.id))
        other.save_state(flow.id, {"vs_0": [1]})
        seen.append(store.generation(flow.id))
        store.add_chat_messages(
            [ChatMessage(chatflow_id=flow.id, chat_id="c", role=Role.USER, content="q")]
        )
        seen.append(store.generation(flow.id))  # messages are not the flow or its state
        store.delete(Chatflow, flow.id)
        store.save(flow)  # created again: the number goes on, never back to an old one
        seen.append(other.generation(flow.id))
    assert seen == [1, 2, 3, 3, 5]
