"""Node and Edge: typed Flowise fields, frozen ids, the derived properties."""

from __future__ import annotations

import pytest

from flowkit import Edge, FlowValidationError, Node


def make_edge(**fields: str | None) -> Edge:
    base: dict[str, str | None] = {"id": "e1", "source": "a_0", "target": "b_0"}
    base.update(fields)
    return Edge.model_validate(base)


def test_node_id_cannot_be_reassigned() -> None:
    node = Node(id="chatOpenAI_0", name="chatOpenAI")

    with pytest.raises(FlowValidationError):
        node.id = "chatOpenAI_1"  # type: ignore[misc]

    assert node.id == "chatOpenAI_0"


@pytest.mark.parametrize("field", ["id", "source", "target"])
def test_edge_ends_and_id_cannot_be_reassigned(field: str) -> None:
    edge = make_edge()

    with pytest.raises(FlowValidationError):
        setattr(edge, field, "other_0")

    assert getattr(edge, field) != "other_0"


def test_node_needs_a_non_empty_id() -> None:
    with pytest.raises(FlowValidationError):
        Node(id="", name="chatOpenAI")


def test_node_type_defaults_to_custom_node() -> None:
    node = Node(id="llmChain_0", name="llmChain")

    assert node.type == "customNode"


def test_node_assignment_is_type_checked() -> None:
    node = Node(id="llmChain_0", name="llmChain")

    with pytest.raises(FlowValidationError):
        node.label = 5  # type: ignore[assignment]


def test_node_rejects_an_unknown_field() -> None:
    with pytest.raises(FlowValidationError):
        Node(id="llmChain_0", name="llmChain", colour="red")  # type: ignore[call-arg]


def test_node_outputs_reads_data_outputs() -> None:
    node = Node(id="llmChain_0", data_extra={"outputs": {"output": "EndingNode"}})

    assert node.outputs == {"output": "EndingNode"}


@pytest.mark.parametrize("outputs", [None, "EndingNode", ["output"]])
def test_node_outputs_is_empty_when_data_outputs_is_not_an_object(outputs: object) -> None:
    node = Node(id="llmChain_0", data_extra={"outputs": outputs})

    assert node.outputs == {}


@pytest.mark.parametrize(
    ("node_type", "name"),
    [("stickyNote", "stickyNote"), ("stickyNote", ""), ("customNode", "stickyNote")],
)
def test_sticky_note_is_recognised_by_type_or_name(node_type: str, name: str) -> None:
    node = Node(id="stickyNote_0", name=name, type=node_type)

    assert node.is_sticky_note


def test_component_node_is_not_a_sticky_note() -> None:
    node = Node(id="llmChain_0", name="llmChain")

    assert not node.is_sticky_note


def test_edge_target_input_is_read_from_the_flowise_handle() -> None:
    edge = make_edge(
        target="conversationalRetrievalQAChain_0",
        target_handle="conversationalRetrievalQAChain_0-input-vectorStoreRetriever-BaseRetriever",
    )

    assert edge.target_input == "vectorStoreRetriever"


@pytest.mark.parametrize("handle", [None, "", "b_0-input-", "somewhere-else-input-model"])
def test_edge_target_input_is_none_for_a_handle_flowise_would_not_write(
    handle: str | None,
) -> None:
    edge = make_edge(target_handle=handle)

    assert edge.target_input is None


def test_edge_type_defaults_to_buttonedge() -> None:
    edge = make_edge()

    assert edge.type == "buttonedge"


def test_a_wrong_field_value_is_a_flowkit_error_naming_the_field_not_pydantics() -> None:
    from flowkit import FlowkitError

    node = Node(id="llmChain_0", name="llmChain")

    with pytest.raises(FlowkitError) as raised:
        node.label = ["not", "a", "string"]  # type: ignore[assignment]

    assert isinstance(raised.value, ValueError)
    assert type(raised.value).__module__ == "flowkit.errors"
    assert "Node: label: Input should be a valid string" in str(raised.value)
    assert "not" not in str(raised.value)  # the value itself is never quoted
    assert node.label == ""
