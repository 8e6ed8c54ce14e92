"""The Workspace's operations: saving and reading, upsert and predict, and how they fail.

Every failure here is also checked to send no signal at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest

from flowkit import signals
from flowkit.errors import ComponentError, FlowkitError, FlowValidationError
from flowkit.model import Assistant, Chatflow, Tool
from flowkit.runtime import (
    ComponentRegistry,
    Document,
    RunContext,
    UpsertResult,
    builtin_registry,
    default_registry,
    retrieval_demo_flow,
)
from flowkit.workspace import Workspace

PARAGRAPHS = [
    "Lighthouses guide ships past dangerous reefs at night. A rotating Fresnel lens focuses "
    "the lamp into a steady beam, and each tower flashes its own pattern so that sailors can "
    "tell one coastline beacon from another through fog and rain.",
    "Glaciers carve deep valleys as compacted snow slides slowly downhill over centuries. "
    "Meltwater polishes the bedrock beneath the ice, and moraines of gravel and boulders mark "
    "where a glacier once stopped before it retreated up the mountain.",
    "Origami artists fold a single square of paper into cranes, frogs and flowers without "
    "scissors or glue. Valley folds and mountain folds alternate, and crease patterns planned "
    "in advance let a flat sheet collapse into intricate three dimensional models.",
    "Coral reefs are built by tiny polyps that secrete limestone skeletons in warm shallow "
    "seas. Algae living inside the polyps feed them through photosynthesis, and bleaching "
    "follows when heat waves drive the algae out and leave the coral white.",
    "Marathon runners train their endurance with long slow miles, tempo intervals and careful "
    "tapering. On race day they sip electrolytes, pace themselves evenly across forty two "
    "kilometres, and save their energy for the last punishing stretch.",
]
TEXT = "\n\n".join(PARAGRAPHS)
QUESTIONS = [
    "What does a rotating Fresnel lens do for lighthouses guiding ships at night?",
    "How do glaciers carve valleys and leave moraines of boulders?",
    "How do origami artists fold paper cranes without scissors or glue?",
    "Why does coral bleaching follow when heat waves drive the algae out of the polyps?",
    "How do marathon runners train endurance and pace themselves on race day?",
]


pytestmark = pytest.mark.usefixtures("no_receiver_left_behind")


# ---- helpers ---------------------------------------------------------------------------------


@contextmanager
def listening() -> Iterator[list[tuple[str, object, dict[str, Any]]]]:
    """Record every flowkit signal sent inside the block as ``(name, sender, kwargs)``."""
    heard: list[tuple[str, object, dict[str, Any]]] = []
    with ExitStack() as stack:
        for signal in signals.SIGNALS:

            def record(sender: object, _name: str = signal.name, **kwargs: Any) -> None:
                heard.append((_name, sender, kwargs))

            stack.enter_context(signal.connected_to(record))
        yield heard


def workspace(components: ComponentRegistry | None = None) -> Workspace:
    return Workspace(components=components if components is not None else builtin_registry())


def qa_flow(*, top_k: int = 1, name: str = "docs QA") -> Chatflow:
    return retrieval_demo_flow(TEXT, name=name, top_k=top_k)


def llm_flow() -> Chatflow:
    """A flow with no vector store: prompt and model into an LLM chain."""
    flow = Chatflow(name="echo")
    prompt = flow.add_node(
        "promptTemplate", category="Prompts", inputs={"template": "Question: {question}"}
    )
    model = flow.add_node("fakeChatModel", category="Chat Models")
    chain = flow.add_node("llmChain", category="Chains")
    flow.connect(prompt, chain, "prompt")
    flow.connect(model, chain, "model")
    return flow


def two_store_flow(*, upload: int | None = None) -> Chatflow:
    """One loader feeding two ``memoryVectorStore`` nodes, each feeding its own chain.

    :param upload: the index of the store that gets ``fileUpload: True``, if any.
    """
    flow = Chatflow(name="two stores")
    splitter = flow.add_node(
        "recursiveCharacterTextSplitter",
        category="Text Splitters",
        inputs={"chunkSize": 400, "chunkOverlap": 0},
    )
    loader = flow.add_node("plainText", category="Document Loaders", inputs={"text": TEXT})
    embeddings = flow.add_node("hashingEmbeddings", category="Embeddings")
    model = flow.add_node("fakeChatModel", category="Chat Models")
    flow.connect(splitter, loader, "textSplitter")
    for i in range(2):
        store = flow.add_node(
            "memoryVectorStore",
            category="Vector Stores",
            inputs={"topK": 5, "fileUpload": i == upload},
        )
        chain = flow.add_node("retrievalQAChain", category="Chains")
        flow.connect(loader, store, "document")
        flow.connect(embeddings, store, "embeddings")
        flow.connect(store, chain, "vectorStoreRetriever")
        flow.connect(model, chain, "model")
    return flow


def with_component(name: str, func: Callable[[dict[str, Any], RunContext], Any]) -> Workspace:
    """A workspace whose registry is the built-ins plus (or with) ``func`` as ``name``."""
    registry = builtin_registry().copy()
    registry.register(name, func)
    return workspace(registry)


# ---- saving ----------------------------------------------------------------------------------

ENTITIES: list[tuple[str, str, Callable[[], Any]]] = [
    ("chatflow", "create_chatflow", qa_flow),
    ("tool", "create_tool", lambda: Tool(name="calculator")),
    ("assistant", "create_assistant", lambda: Assistant(details={"name": "helper"})),
]
ENTITY_IDS = [kind for kind, _, _ in ENTITIES]


@pytest.mark.parametrize(("kind", "create", "make"), ENTITIES, ids=ENTITY_IDS)
def test_create_returns_the_entity_and_get_returns_an_equal_copy(
    kind: str, create: str, make: Callable[[], Any]
) -> None:
    ws = workspace()
    entity = make()

    stored = getattr(ws, create)(entity)
    got = getattr(ws, f"get_{kind}")(entity.id)

    assert stored is entity
    assert got == entity
    assert got is not entity


@pytest.mark.parametrize(("kind", "create", "make"), ENTITIES, ids=ENTITY_IDS)
def test_creating_an_existing_id_fails_keeps_the_first_and_sends_nothing(
    kind: str, create: str, make: Callable[[], Any]
) -> None:
    ws = workspace()
    first = make()
    getattr(ws, create)(first)
    second = make().model_copy(update={"id": first.id})

    with listening() as heard, pytest.raises(FlowkitError, match=first.id):
        getattr(ws, create)(second)

    assert heard == []
    assert getattr(ws, f"get_{kind}")(first.id) == first
    assert getattr(ws, f"{kind}s") == [first]


@pytest.mark.parametrize(
    ("create", "hint"),
    [
        ("create_chatflow", "Chatflow.from_flowise"),
        ("create_tool", "Tool.from_flowise"),
        ("create_assistant", "Assistant(details="),
    ],
)
def test_create_with_the_wrong_type_says_how_to_build_the_right_one(create: str, hint: str) -> None:
    ws = workspace()

    with listening() as heard, pytest.raises(FlowkitError) as raised:
        getattr(ws, create)({"id": "x", "name": "a dict"})

    assert hint in str(raised.value)
    assert "got dict" in str(raised.value)
    assert heard == []


def test_an_invalid_chatflow_is_refused_not_stored_and_sends_nothing() -> None:
    ws = workspace()
    flow = Chatflow(name="no ending node")
    loader = flow.add_node("plainText", category="Document Loaders")
    splitter = flow.add_node("recursiveCharacterTextSplitter", category="Text Splitters")
    flow.connect(splitter, loader, "textSplitter")

    with listening() as heard, pytest.raises(FlowValidationError, match="no valid ending node"):
        ws.create_chatflow(flow)

    assert heard == []
    assert ws.chatflows == []
    with pytest.raises(FlowkitError):
        ws.get_chatflow(flow.id)


# ---- reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ENTITY_IDS)
def test_get_of_an_unknown_id_names_the_id(kind: str) -> None:
    ws = workspace()

    with pytest.raises(FlowkitError, match="'ghost-42'"):
        getattr(ws, f"get_{kind}")("ghost-42")


@pytest.mark.parametrize(("kind", "create", "make"), ENTITIES, ids=ENTITY_IDS)
def test_listing_keeps_creation_order(kind: str, create: str, make: Callable[[], Any]) -> None:
    ws = workspace()
    entities = [make() for _ in range(4)]

    for entity in entities:
        getattr(ws, create)(entity)

    listed = getattr(ws, f"{kind}s")
    assert [e.id for e in listed] == [e.id for e in entities]
    assert all(a == b and a is not b for a, b in zip(listed, entities, strict=True))


def test_a_listing_is_a_copy_the_caller_may_change() -> None:
    ws = workspace()
    flow = ws.create_chatflow(qa_flow())

    ws.chatflows.clear()

    assert ws.chatflows == [flow]


def test_the_default_workspace_runs_with_the_default_registry() -> None:
    ws = Workspace()
    flow = ws.create_chatflow(qa_flow())

    ws.upsert_vector(flow)
    result = ws.predict(flow, QUESTIONS[0])

    assert ws.components is default_registry()
    assert result.text == f'According to the context: "{PARAGRAPHS[0]}"'


# ---- upsert and the stop-node rules ------------------------------------------------------------


def test_upsert_returns_the_stop_node_and_how_many_were_added() -> None:
    ws = workspace()
    flow = ws.create_chatflow(qa_flow())

    result = ws.upsert_vector(flow)

    assert isinstance(result, UpsertResult)
    assert result.stop_node_id == "memoryVectorStore_0"
    assert result.num_added == len(PARAGRAPHS)


def test_upsert_without_a_vector_store_fails_and_sends_nothing() -> None:
    ws = workspace()
    flow = ws.create_chatflow(llm_flow())

    with listening() as heard, pytest.raises(FlowValidationError, match="no vector store"):
        ws.upsert_vector(flow)

    assert heard == []


def test_upsert_with_two_vector_stores_and_no_stop_node_names_both_and_sends_nothing() -> None:
    ws = workspace()
    flow = ws.create_chatflow(two_store_flow())

    with listening() as heard, pytest.raises(FlowValidationError) as raised:
        ws.upsert_vector(flow)

    message = str(raised.value)
    assert "memoryVectorStore_0" in message
    assert "memoryVectorStore_1" in message
    assert "stop_node_id" in message
    assert heard == []


def test_upsert_with_an_explicit_stop_node_fills_that_store_only() -> None:
    ws = workspace()
    flow = ws.create_chatflow(two_store_flow())

    result = ws.upsert_vector(flow, stop_node_id="memoryVectorStore_0")
    # predict ends at the last chain, the one fed by memoryVectorStore_1
    answer = ws.predict(flow, QUESTIONS[0])

    assert result.stop_node_id == "memoryVectorStore_0"
    assert result.num_added == len(PARAGRAPHS)
    assert answer.source_documents == []


def test_upsert_with_the_other_explicit_stop_node_fills_that_one() -> None:
    ws = workspace()
    flow = ws.create_chatflow(two_store_flow())

    result = ws.upsert_vector(flow, stop_node_id="memoryVectorStore_1")
    answer = ws.predict(flow, QUESTIONS[0])

    assert result.stop_node_id == "memoryVectorStore_1"
    assert len(answer.source_documents) == len(PARAGRAPHS)


@pytest.mark.parametrize("upload", [0, 1])
def test_upsert_picks_the_one_vector_store_with_file_upload(upload: int) -> None:
    ws = workspace()
    flow = ws.create_chatflow(two_store_flow(upload=upload))

    with listening() as heard:
        result = ws.upsert_vector(flow)

    assert result.stop_node_id == f"memoryVectorStore_{upload}"
    [(_, _, kwargs)] = heard
    assert kwargs["stop_node_id"] == f"memoryVectorStore_{upload}"


@pytest.mark.parametrize(
    ("stop_node_id", "reason"),
    [("ghost_0", "is not in the flow"), ("plainText_0", "is not a vector store")],
)
def test_upsert_with_a_wrong_stop_node_fails_and_sends_nothing(
    stop_node_id: str, reason: str
) -> None:
    ws = workspace()
    flow = ws.create_chatflow(qa_flow())

    with listening() as heard, pytest.raises(FlowValidationError, match=reason) as raised:
        ws.upsert_vector(flow, stop_node_id=stop_node_id)

    assert stop_node_id in str(raised.value)
    assert heard == []


# ---- predict -----------------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(len(PARAGRAPHS)))
def test_a_question_is_answered_by_quoting_the_paragraph_that_holds_its_words(index: int) -> None:
    ws = workspace()
    flow = ws.create_chatflow(qa_flow())
    ws.upsert_vector(flow)

    result = ws.predict(flow, QUESTIONS[index])

    assert result.text == f'According to the context: "{PARAGRAPHS[index]}"'
    assert [d.page_content for d in result.source_documents] == [PARAGRAPHS[index]]
    assert all(isinstance(d, Document) for d in result.source_documents)


def test_predict_before_any_upsert_retrieves_nothing() -> None:
    ws = workspace()
    flow = ws.create_chatflow(qa_flow())

    result = ws.predict(flow, QUESTIONS[0])

    assert result.source_documents == []
    assert result.text.startswith("Echo: ")


def test_a_flow_without_retrieval_answers_with_no_source_documents() -> None:
    ws = workspace()
    flow = ws.create_chatflow(llm_flow())

    result = ws.predict(flow, "What is two plus two?")

    assert result.text == 'Echo: "What is two plus two?"'
    assert result.source_documents == []


def test_vector_data_belongs_to_its_flow() -> None:
    ws = workspace()
    filled = ws.create_chatflow(qa_flow(name="filled"))
    empty = ws.create_chatflow(qa_flow(name="empty"))
    ws.upsert_vector(filled)

    result = ws.predict(empty, QUESTIONS[0])

    assert result.source_documents == []


def test_predict_by_id_answers_like_predict_by_flow() -> None:
    ws = workspace()
    flow = ws.create_chatflow(qa_flow())
    ws.upsert_vector(flow)

    by_id = ws.predict(flow.id, QUESTIONS[1], chat_id="c")
    by_flow = ws.predict(flow, QUESTIONS[1], chat_id="c")

    assert by_id == by_flow


# ---- overrides ---------------------------------------------------------------------------------


def test_a_top_k_override_changes_how_many_documents_are_retrieved() -> None:
    ws = workspace()
    flow = ws.create_chatflow(qa_flow(top_k=1))
    ws.upsert_vector(flow)

    result = ws.predict(flow, QUESTIONS[2], overrides={"topK": 3})

    assert len(result.source_documents) == 3
    assert result.source_documents[0].page_content == PARAGRAPHS[2]


def test_an_override_keyed_by_node_id_reaches_that_node() -> None:
    ws = workspace()
    flow = ws.create_chatflow(qa_flow(top_k=1))
    ws.upsert_vector(flow)

    result = ws.predict(flow, QUESTIONS[2], overrides={"topK": {"memoryVectorStore_0": 2}})

    assert len(result.source_documents) == 2


def test_an_override_lasts_for_one_operation_only() -> None:
    ws = workspace()
    flow = ws.create_chatflow(qa_flow(top_k=1))
    ws.upsert_vector(flow)
    ws.predict(flow, QUESTIONS[2], overrides={"topK": 4})

    result = ws.predict(flow, QUESTIONS[2])

    assert len(result.source_documents) == 1
    assert flow.node("memoryVectorStore_0").inputs["topK"] == 1


def test_an_upsert_override_reaches_the_document_loader() -> None:
    ws = workspace()
    flow = ws.create_chatflow(qa_flow())

    result = ws.upsert_vector(flow, overrides={"text": PARAGRAPHS[3]})

    assert result.num_added == 1


# ---- failures send nothing ----------------------------------------------------------------------


def test_predict_with_a_missing_component_names_the_node_and_how_to_register_it() -> None:
    ws = workspace()
    flow = Chatflow(name="needs a real model")
    prompt = flow.add_node("promptTemplate", category="Prompts", inputs={"template": "{question}"})
    model = flow.add_node("chatOpenAI", category="Chat Models")
    chain = flow.add_node("llmChain", category="Chains")
    flow.connect(prompt, chain, "prompt")
    flow.connect(model, chain, "model")
    ws.create_chatflow(flow)

    with listening() as heard, pytest.raises(ComponentError) as raised:
        ws.predict(flow, "hello?")

    assert raised.value.node_id == model.id
    assert repr(model.id) in str(raised.value)
    assert '@component("chatOpenAI", category="Chat Models")' in str(raised.value)
    assert heard == []


def test_upsert_with_a_missing_component_fails_and_sends_nothing() -> None:
    registry = builtin_registry()
    registry.unregister("hashingEmbeddings")
    ws = workspace(registry)
    flow = ws.create_chatflow(qa_flow())

    with listening() as heard, pytest.raises(ComponentError, match="hashingEmbeddings_0"):
        ws.upsert_vector(flow)

    assert heard == []


def test_predict_with_a_failing_component_names_the_node_and_chains_the_cause() -> None:
    original = ValueError("the model is on fire")

    def failing_model(inputs: dict[str, Any], context: RunContext) -> Any:
        raise original

    ws = with_component("fakeChatModel", failing_model)
    flow = ws.create_chatflow(qa_flow())
    ws.upsert_vector(flow)

    with listening() as heard, pytest.raises(ComponentError) as raised:
        ws.predict(flow, QUESTIONS[0])

    assert "'fakeChatModel_0'" in str(raised.value)
    assert raised.value.node_id == "fakeChatModel_0"
    assert raised.value.__cause__ is original
    assert heard == []


def test_upsert_with_a_failing_component_names_the_node_and_chains_the_cause() -> None:
    original = RuntimeError("disk full")

    def failing_store(inputs: dict[str, Any], context: RunContext) -> Any:
        raise original

    ws = with_component("memoryVectorStore", failing_store)
    flow = ws.create_chatflow(qa_flow())

    with listening() as heard, pytest.raises(ComponentError) as raised:
        ws.upsert_vector(flow)

    assert "'memoryVectorStore_0'" in str(raised.value)
    assert raised.value.__cause__ is original
    assert heard == []


@pytest.mark.parametrize("operation", ["predict", "upsert_vector"])
def test_an_unsaved_flow_is_refused_and_sends_nothing(operation: str) -> None:
    ws = workspace()
    flow = qa_flow()
    args = (flow, QUESTIONS[0]) if operation == "predict" else (flow,)

    with listening() as heard, pytest.raises(FlowkitError, match="create_chatflow") as raised:
        getattr(ws, operation)(*args)

    assert flow.id in str(raised.value)
    assert heard == []


def test_an_unknown_flow_id_is_refused_naming_the_id() -> None:
    ws = workspace()

    with listening() as heard, pytest.raises(FlowkitError, match="'ghost-7'"):
        ws.predict("ghost-7", "anyone there?")

    assert heard == []


@pytest.mark.parametrize(
    "bad",
    [{"chat_type": "PUBLIC"}, {"chat_id": ""}],
    ids=["unknown chat type", "empty chat id"],
)
def test_predict_with_a_bad_argument_fails_with_flowkit_error_and_sends_nothing(
    bad: dict[str, Any],
) -> None:
    ws = workspace()
    flow = ws.create_chatflow(qa_flow())

    with listening() as heard, pytest.raises(FlowkitError):
        ws.predict(flow, QUESTIONS[0], **bad)

    assert heard == []


def test_an_ending_node_giving_no_text_fails_naming_the_node_and_sends_nothing() -> None:
    ws = with_component("llmChain", lambda inputs, context: 42)
    flow = ws.create_chatflow(llm_flow())

    with listening() as heard, pytest.raises(FlowkitError, match="'llmChain_0'"):
        ws.predict(flow, "hello?")

    assert heard == []


def test_an_ending_node_giving_malformed_documents_fails_with_flowkit_error() -> None:
    ws = with_component(
        "llmChain", lambda inputs, context: {"text": "hi", "source_documents": ["not a document"]}
    )
    flow = ws.create_chatflow(llm_flow())

    with listening() as heard, pytest.raises(FlowkitError, match="'llmChain_0'"):
        ws.predict(flow, "hello?")

    assert heard == []


def test_a_vector_store_reporting_a_malformed_count_fails_with_flowkit_error() -> None:
    ws = with_component("memoryVectorStore", lambda inputs, context: {"num_added": "many"})
    flow = ws.create_chatflow(qa_flow())

    with listening() as heard, pytest.raises(FlowkitError, match="'memoryVectorStore_0'"):
        ws.upsert_vector(flow)

    assert heard == []


def test_whatever_else_the_vector_store_reports_is_kept() -> None:
    ws = with_component(
        "memoryVectorStore", lambda inputs, context: {"num_added": 3, "num_skipped": 2}
    )
    flow = ws.create_chatflow(qa_flow())

    result = ws.upsert_vector(flow)

    assert result.num_added == 3
    assert result.model_dump() == {
        "stop_node_id": "memoryVectorStore_0",
        "num_added": 3,
        "num_skipped": 2,
    }
