"""The built-in offline components, alone and wired into a real retrieval flow."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowkit.errors import ComponentError
from flowkit.model import Chatflow
from flowkit.runtime import Document, builtin_registry, retrieval_demo_flow, run
from flowkit.runtime.builtins import (
    fake_chat_model,
    hashing_embeddings,
    memory_vector_store,
    retrieval_qa_chain,
)
from flowkit.runtime.offline import (
    FakeChatModel,
    HashingEmbeddings,
    PromptTemplate,
    RecursiveCharacterTextSplitter,
    VectorIndex,
)

PARAGRAPHS = [
    "Volcanoes form where molten rock rises through cracks in the crust. Basaltic lava "
    "flows quietly across wide shields, while sticky andesite traps gas until violent "
    "eruptions blast ash columns high into the stratosphere and cool the climate for years.",
    "Honeybees live in colonies ruled by a single queen. Worker bees forage for nectar and "
    "pollen, dance to tell sisters where flowers bloom, and fan their wings to evaporate "
    "water from the comb until the nectar thickens into honey that feeds the hive in winter.",
    "Apollo astronauts reached the Moon aboard the Saturn V rocket. Armstrong and Aldrin "
    "landed the lunar module Eagle in the Sea of Tranquility during July 1969, while Collins "
    "orbited above in the command module Columbia waiting to bring the crew home safely.",
    "Sourdough bread rises thanks to a starter of wild yeast and lactobacilli. Bakers feed "
    "the starter flour and water, fold the dough gently over several hours, and bake loaves "
    "in a hot covered pot so steam gives the crust its glossy blistered crackle and tang.",
    "Chess openings such as the Sicilian Defence and the Queen's Gambit shape the middle "
    "game. Players develop knights and bishops quickly, castle the king into safety, and "
    "fight for the central squares before launching attacks against the opposing pawns.",
]
TEXT = "\n\n".join(PARAGRAPHS)
MARKETPLACE = Path(__file__).resolve().parents[1] / "data" / "flowise" / "chatflows"  # vendored
QUESTION = "Which rocket carried the Apollo astronauts and the lunar module to the Moon?"


def data_uri(text: str, name: str) -> str:
    payload = base64.b64encode(text.encode()).decode()
    return f"data:text/plain;base64,{payload},filename:{name}"


def run_node(flow: Chatflow, node_id: str, **kwargs: Any) -> Any:
    kwargs.setdefault("mode", "predict")
    return run(flow, node_id, registry=builtin_registry(), **kwargs)


# ---- splitter ----------------------------------------------------------------------------

short_words = st.text(alphabet="abcdefghij", min_size=1, max_size=8)
separators = st.sampled_from([" ", "\n", "\n\n", "  "])


@st.composite
def texts_of_short_words(draw: st.DrawFn) -> str:
    words = draw(st.lists(short_words, min_size=1, max_size=120))
    return "".join(w + draw(separators) for w in words)


@given(text=texts_of_short_words(), size=st.integers(11, 200), data=st.data())
def test_splitter_chunks_never_exceed_chunk_size_and_cover_every_word(
    text: str, size: int, data: st.DataObject
) -> None:
    overlap = data.draw(st.integers(0, size - 1))
    splitter = RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=overlap)

    chunks = splitter.split_text(text)

    assert all(len(chunk) <= size for chunk in chunks)
    assert all(chunk in text for chunk in chunks)
    chunk_words = {w for chunk in chunks for w in chunk.split()}
    assert set(text.split()) == chunk_words


@given(text=st.text(max_size=600), size=st.integers(1, 120))
def test_splitter_without_overlap_keeps_all_text_in_order(text: str, size: int) -> None:
    splitter = RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=0)

    chunks = splitter.split_text(text)

    assert re.sub(r"\s", "", "".join(chunks)) == re.sub(r"\s", "", text)


def test_splitter_overlaps_consecutive_chunks() -> None:
    splitter = RecursiveCharacterTextSplitter(chunk_size=20, chunk_overlap=5)

    chunks = splitter.split_text("the quick brown fox jumps over the lazy dog")

    assert chunks == ["the quick brown fox", "fox jumps over the", "the lazy dog"]


def test_splitter_component_reads_flowise_ui_strings() -> None:
    flow = Chatflow()
    node = flow.add_node(
        "recursiveCharacterTextSplitter", inputs={"chunkSize": "300", "chunkOverlap": ""}
    )

    splitter = run_node(flow, node.id)

    assert (splitter.chunk_size, splitter.chunk_overlap) == (300, 200)


def test_splitter_component_defaults_to_1000_and_200() -> None:
    flow = Chatflow()
    node = flow.add_node("recursiveCharacterTextSplitter")

    splitter = run_node(flow, node.id)

    assert (splitter.chunk_size, splitter.chunk_overlap) == (1000, 200)


def test_splitter_component_refuses_a_non_numeric_size_naming_the_input() -> None:
    flow = Chatflow()
    node = flow.add_node("recursiveCharacterTextSplitter", inputs={"chunkSize": "big"})

    with pytest.raises(ComponentError, match="'chunkSize' must be a whole number >= 1") as caught:
        run_node(flow, node.id)

    assert caught.value.node_id == node.id


# ---- embeddings ----------------------------------------------------------------------------


def test_embedding_follows_the_documented_blake2b_scheme() -> None:
    vector = HashingEmbeddings(dimension=8).embed_query("Hello, hello world!")

    # "hello" (twice) hashes to bucket 5 with sign -1, "world" to bucket 7 with sign +1.
    expected = [0.0] * 8
    for token in ("hello", "hello", "world"):
        h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "big")
        expected[h % 8] += -1.0 if h >> 63 else 1.0
    norm = math.sqrt(sum(v * v for v in expected))
    assert vector == pytest.approx([v / norm for v in expected])
    assert vector == pytest.approx([0, 0, 0, 0, 0, -2 / math.sqrt(5), 0, 1 / math.sqrt(5)])


def test_embedding_is_the_same_in_processes_with_different_hash_seeds() -> None:
    code = (
        "import json; from flowkit.runtime.offline import HashingEmbeddings;"
        "print(json.dumps(HashingEmbeddings(64).embed_query('stable vectors across runs')))"
    )
    vectors = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        vectors.append(json.loads(result.stdout))

    here = HashingEmbeddings(64).embed_query("stable vectors across runs")
    assert vectors[0] == vectors[1] == here


@given(text=st.text(max_size=200), dimension=st.integers(1, 64))
def test_embedding_is_unit_length_or_zero(text: str, dimension: int) -> None:
    vector = HashingEmbeddings(dimension).embed_query(text)

    norm = math.sqrt(sum(v * v for v in vector))
    assert len(vector) == dimension
    assert norm == pytest.approx(1.0) or norm == 0.0


# ---- loaders -------------------------------------------------------------------------------


def test_plain_text_loader_splits_and_adds_json_metadata() -> None:
    flow = Chatflow()
    splitter = flow.add_node(
        "recursiveCharacterTextSplitter", inputs={"chunkSize": 400, "chunkOverlap": 0}
    )
    loader = flow.add_node("plainText", inputs={"text": TEXT, "metadata": '{"topic": "mix"}'})
    flow.connect(splitter, loader, "textSplitter")

    documents = run_node(flow, loader.id, mode="upsert")

    assert [d.page_content for d in documents] == PARAGRAPHS
    assert all(d.metadata == {"topic": "mix"} for d in documents)


def test_text_file_reads_a_flowise_base64_data_uri() -> None:
    flow = Chatflow()
    loader = flow.add_node(
        "textFile",
        inputs={"txtFile": data_uri("café notes", "notes.txt"), "textSplitter": "", "metadata": ""},
    )

    documents = run_node(flow, loader.id, mode="upsert")

    assert documents == [Document(page_content="café notes", metadata={"source": "notes.txt"})]


def test_text_file_reads_a_json_list_of_data_uris() -> None:
    files = json.dumps([data_uri("first", "a.txt"), data_uri("second", "b.txt")])
    flow = Chatflow()
    loader = flow.add_node("textFile", inputs={"txtFile": files})

    documents = run_node(flow, loader.id, mode="upsert")

    assert [(d.metadata["source"], d.page_content) for d in documents] == [
        ("a.txt", "first"),
        ("b.txt", "second"),
    ]


def test_text_file_reads_a_path(tmp_path: Path) -> None:
    path = tmp_path / "guide.txt"
    path.write_text("read me", encoding="utf-8")
    flow = Chatflow()
    loader = flow.add_node("textFile", inputs={"txtFile": str(path)})

    documents = run_node(flow, loader.id, mode="upsert")

    assert documents == [Document(page_content="read me", metadata={"source": "guide.txt"})]


def test_text_file_missing_path_names_the_node(tmp_path: Path) -> None:
    flow = Chatflow()
    loader = flow.add_node("textFile", inputs={"txtFile": str(tmp_path / "ghost.txt")})

    with pytest.raises(ComponentError, match=r"cannot read .*ghost\.txt") as caught:
        run_node(flow, loader.id, mode="upsert")

    assert caught.value.node_id == loader.id


# ---- retrieval -----------------------------------------------------------------------------


def test_retrieval_answer_quotes_exactly_the_paragraph_the_question_is_about() -> None:
    flow = retrieval_demo_flow(TEXT, top_k=1)
    registry = builtin_registry()
    state: dict[str, Any] = {}
    assert all(200 < len(p) < 400 for p in PARAGRAPHS)  # one paragraph per chunk

    added = run(flow, "memoryVectorStore_0", mode="upsert", registry=registry, state=state)
    answer = run(
        flow,
        "retrievalQAChain_0",
        mode="predict",
        question=QUESTION,
        registry=registry,
        state=state,
    )

    assert added == {"num_added": 5, "num_updated": 0, "num_skipped": 0, "num_deleted": 0}
    assert answer["text"] == f'According to the context: "{PARAGRAPHS[2]}"'
    assert [d.page_content for d in answer["source_documents"]] == [PARAGRAPHS[2]]


def test_model_picks_the_paragraph_among_several_retrieved() -> None:
    flow = retrieval_demo_flow(TEXT, top_k=5)
    registry = builtin_registry()
    state: dict[str, Any] = {}
    run(flow, "memoryVectorStore_0", mode="upsert", registry=registry, state=state)

    answer = run(
        flow,
        "retrievalQAChain_0",
        mode="predict",
        question=QUESTION,
        registry=registry,
        state=state,
    )

    assert len(answer["source_documents"]) == 5
    assert answer["text"] == f'According to the context: "{PARAGRAPHS[2]}"'


@pytest.mark.parametrize("top_k", [1, 2, "3", 5, 9])
def test_retriever_returns_top_k_documents(top_k: int | str) -> None:
    flow = retrieval_demo_flow(TEXT)
    flow.node("memoryVectorStore_0").inputs["topK"] = top_k
    registry = builtin_registry()
    state: dict[str, Any] = {}
    run(flow, "memoryVectorStore_0", mode="upsert", registry=registry, state=state)

    retriever = run(flow, "memoryVectorStore_0", mode="predict", registry=registry, state=state)

    assert len(retriever.retrieve(QUESTION)) == min(int(top_k), 5)


def test_prediction_before_any_upsert_retrieves_nothing() -> None:
    flow = retrieval_demo_flow(TEXT)

    answer = run_node(flow, "retrievalQAChain_0", question="Anyone there?", state={})

    assert answer == {"text": 'Echo: "Anyone there?"', "source_documents": []}


def test_store_flattens_documents_from_several_loaders() -> None:
    flow = Chatflow()
    first = flow.add_node("plainText", inputs={"text": "one"})
    second = flow.add_node("plainText", inputs={"text": "two"})
    embeddings = flow.add_node("hashingEmbeddings")
    store = flow.add_node("memoryVectorStore", category="Vector Stores")
    flow.connect(first, store, "document")
    flow.connect(second, store, "document")
    flow.connect(embeddings, store, "embeddings")

    assert run_node(flow, store.id, mode="upsert")["num_added"] == 2


def test_store_without_embeddings_says_what_to_connect() -> None:
    flow = Chatflow()
    store = flow.add_node("memoryVectorStore", inputs={"embeddings": ""})

    with pytest.raises(ComponentError, match="'embeddings' is not connected"):
        run_node(flow, store.id, mode="upsert")


def test_store_survives_concurrent_upserts_and_predictions() -> None:
    flow = retrieval_demo_flow(TEXT, top_k=2)
    registry = builtin_registry()
    state: dict[str, Any] = {}
    errors: list[BaseException] = []

    def upsert() -> None:
        run(flow, "memoryVectorStore_0", mode="upsert", registry=registry, state=state)

    def predict() -> None:
        answer = run(
            flow,
            "retrievalQAChain_0",
            mode="predict",
            question=QUESTION,
            registry=registry,
            state=state,
        )
        assert answer["text"] in (
            f'According to the context: "{PARAGRAPHS[2]}"',
            f'Echo: "{QUESTION}"',
        )

    def repeat(action: Callable[[], None]) -> None:
        try:
            for _ in range(15):
                action()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=repeat, args=(a,)) for a in [upsert, predict] * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    # The same documents upserted 60 times are kept once (keyed by content and source).
    assert len(VectorIndex(state["memoryVectorStore_0"])) == 5


# ---- prompt, model, llm chain ----------------------------------------------------------------


def test_prompt_format_leaves_unknown_names_as_they_are() -> None:
    prompt = PromptTemplate("Tell {audience} about {question} in {style}", {"style": "verse"})

    assert prompt.format(question="bees") == "Tell {audience} about bees in verse"


def test_llm_chain_formats_the_prompt_with_json_prompt_values() -> None:
    flow = Chatflow()
    prompt = flow.add_node(
        "promptTemplate",
        inputs={
            "template": "Answer as a {role}. Question: {question}",
            "promptValues": '{"role": "pirate"}',
        },
    )
    model = flow.add_node("fakeChatModel", inputs={"prefix": "Bot: "})
    chain = flow.add_node("llmChain", category="Chains")
    flow.connect(prompt, chain, "prompt")
    flow.connect(model, chain, "model")

    answer = run_node(flow, chain.id, question="Where is the gold?")

    assert answer == {"text": 'Bot: Echo: "Where is the gold?"'}


def test_fake_model_quotes_the_context_document_sharing_most_words() -> None:
    documents = [Document(page_content=p) for p in PARAGRAPHS]

    answer = FakeChatModel().invoke("Question: how do worker bees make honey", documents)

    assert answer == f'According to the context: "{PARAGRAPHS[1]}"'


def test_chain_in_upsert_mode_is_refused() -> None:
    flow = retrieval_demo_flow(TEXT)

    with pytest.raises(ComponentError, match="predict mode only") as caught:
        run_node(flow, "retrievalQAChain_0", mode="upsert")

    assert caught.value.node_id == "retrievalQAChain_0"


def test_real_flowise_export_runs_offline_with_builtins_standing_in() -> None:
    flow = Chatflow.from_flowise(MARKETPLACE / "Conversational Retrieval QA Chain.json")
    registry = builtin_registry()
    registry.register("faiss", memory_vector_store, category="Vector Stores")
    registry.register("openAIEmbeddings", hashing_embeddings)
    registry.register("chatMistralAI", fake_chat_model)
    registry.register("conversationalRetrievalQAChain", retrieval_qa_chain)
    registry.register("documentStore", lambda inputs, context: [])
    upload = {"txtFile": {"textFile_0": data_uri(TEXT, "topics.txt")}}
    state: dict[str, Any] = {}

    added = run(flow, "faiss_0", mode="upsert", registry=registry, state=state, overrides=upload)
    answer = run(
        flow,
        "conversationalRetrievalQAChain_0",
        mode="predict",
        question=QUESTION,
        registry=registry,
        state=state,
        overrides=upload,
    )

    assert added["num_added"] == 2  # chunkSize 1000: three paragraphs, then two
    assert PARAGRAPHS[2] in answer["text"]
    assert {d.metadata["source"] for d in answer["source_documents"]} == {"topics.txt"}
