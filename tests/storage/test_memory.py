"""MemoryStore: the Store protocol in memory, atomic, thread-safe, copies in and out."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowkit import AlreadyExistsError, ArgumentTypeError, ChatMessage, NotFoundError
from flowkit.model import Assistant, Chatflow, Tool
from flowkit.model.messages import Role
from flowkit.runtime import retrieval_demo_flow
from flowkit.storage import MemoryStore, Store

KINDS: list[tuple[type[Any], Any]] = [
    (Chatflow, lambda: retrieval_demo_flow("a\n\nb", name="f")),
    (Tool, lambda: Tool(name="calc")),
    (Assistant, lambda: Assistant(details={"name": "a"})),
]
IDS = ["chatflow", "tool", "assistant"]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def message(flow_id: str, chat_id: str, content: str) -> ChatMessage:
    return ChatMessage(chatflow_id=flow_id, chat_id=chat_id, role=Role.USER, content=content)


def test_memory_store_is_a_store() -> None:
    assert isinstance(MemoryStore(), Store)


@pytest.mark.parametrize(("kind", "make"), KINDS, ids=IDS)
def test_save_get_list_replace_delete(kind: type[Any], make: Any) -> None:
    store = MemoryStore()
    first, second = make(), make()
    store.save(first)
    store.save(second)

    assert store.get(kind, first.id) == first
    assert [e.id for e in store.list(kind)] == [first.id, second.id]

    changed = (
        first.model_copy(update={"name": "renamed"})
        if kind is not Assistant
        else (first.model_copy(update={"details": {"name": "renamed"}}))
    )
    store.replace(changed)
    assert [e.id for e in store.list(kind)] == [first.id, second.id]
    assert store.get(kind, first.id) == changed

    assert store.delete(kind, first.id) == changed
    assert [e.id for e in store.list(kind)] == [second.id]


@pytest.mark.parametrize(("kind", "make"), KINDS, ids=IDS)
def test_entities_go_in_and_come_out_as_copies(kind: type[Any], make: Any) -> None:
    store = MemoryStore()
    entity = make()
    store.save(entity)
    got = store.get(kind, entity.id)

    assert got is not entity
    assert store.list(kind)[0] is not got


def test_a_flow_changed_after_save_or_get_changes_nothing_kept() -> None:
    store = MemoryStore()
    flow = retrieval_demo_flow("a\n\nb", name="f")
    store.save(flow)
    flow.add_node("plainText", category="Document Loaders")
    got = store.get(Chatflow, flow.id)
    got.add_node("plainText", category="Document Loaders")

    assert len(store.get(Chatflow, flow.id).nodes) == 6


@pytest.mark.parametrize(("kind", "make"), KINDS, ids=IDS)
def test_missing_and_taken_ids_have_named_errors(kind: type[Any], make: Any) -> None:
    store = MemoryStore()
    entity = make()
    store.save(entity)

    with pytest.raises(AlreadyExistsError) as taken:
        store.save(entity)
    with pytest.raises(NotFoundError) as missing:
        store.get(kind, "nope")
    with pytest.raises(NotFoundError):
        store.replace(make())
    with pytest.raises(NotFoundError):
        store.delete(kind, "nope")

    assert taken.value.entity_id == entity.id
    assert (missing.value.kind, missing.value.entity_id) == (
        IDS[[k for k, _ in KINDS].index(kind)],
        "nope",
    )


def test_kinds_are_kept_apart() -> None:
    store = MemoryStore()
    tool = Tool(name="calc")
    store.save(tool)

    with pytest.raises(NotFoundError):
        store.get(Assistant, tool.id)


def test_anything_else_is_an_argument_type_error() -> None:
    with pytest.raises(ArgumentTypeError, match="Chatflow, Tool and Assistant"):
        MemoryStore().save({"id": "x"})  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        MemoryStore().list(dict)  # type: ignore[type-var]


def test_chat_messages_by_flow_and_conversation_oldest_first() -> None:
    store = MemoryStore()
    store.add_chat_messages([message("f", "a", "1"), message("f", "b", "2")])
    store.add_chat_messages([message("f", "a", "3"), message("g", "a", "4")])

    assert [m.content for m in store.chat_messages("f")] == ["1", "2", "3"]
    assert [m.content for m in store.chat_messages("f", "a")] == ["1", "3"]
    assert store.delete_chat_messages("f", "a") == 2
    assert [m.content for m in store.chat_messages("f")] == ["2"]
    assert store.delete_chat_messages("f") == 1
    assert store.delete_chat_messages("f") == 0
    assert [m.content for m in store.chat_messages("g")] == ["4"]


def test_a_batch_with_a_wrong_item_adds_nothing() -> None:
    store = MemoryStore()

    with pytest.raises(ArgumentTypeError, match="ChatMessage"):
        store.add_chat_messages([message("f", "a", "1"), "not a message"])  # type: ignore[list-item]

    assert store.chat_messages("f") == []


def test_deleting_a_chatflow_forgets_its_messages_and_state() -> None:
    store = MemoryStore()
    flow = retrieval_demo_flow("a", name="f")
    store.save(flow)
    store.add_chat_messages([message(flow.id, "a", "hi")])
    store.save_state(flow.id, {"node": [1, 2]})

    store.delete(Chatflow, flow.id)

    assert store.chat_messages(flow.id) == []
    assert store.load_state(flow.id) == {}


@given(state=st.dictionaries(st.text(), json_values, max_size=5))
def test_state_round_trips_as_a_fresh_copy(state: dict[str, Any]) -> None:
    store = MemoryStore()
    store.save_state("f", state)

    loaded = store.load_state("f")
    loaded["extra"] = 1

    assert store.load_state("f") == state


def test_state_that_is_not_json_is_refused_and_nothing_is_kept() -> None:
    store = MemoryStore()
    store.save_state("f", {"ok": 1})

    with pytest.raises(ArgumentTypeError, match="JSON data"):
        store.save_state("f", {"index": object()})
    with pytest.raises(ArgumentTypeError):
        store.save_state("f", {"x": float("nan")})

    assert store.load_state("f") == {"ok": 1}


def test_threads_saving_the_same_id_keep_exactly_one() -> None:
    store = MemoryStore()
    tool = Tool(name="calc")
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def save() -> None:
        barrier.wait()
        try:
            store.save(tool)
            outcomes.append("saved")
        except AlreadyExistsError:
            outcomes.append("taken")

    threads = [threading.Thread(target=save) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["saved"] + ["taken"] * 7
    assert len(store.list(Tool)) == 1


def test_close_is_harmless_twice() -> None:
    store = MemoryStore()
    store.close()
    store.close()
