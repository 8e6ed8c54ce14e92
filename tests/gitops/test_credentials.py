"""Credentials by name: ids become names on the way out and ids of the target on the way in."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from flowkit.gitops import Credentials
from flowkit.gitops.credentials import named, resolved


def _flow(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"nodes": list(nodes), "edges": []}


def _node(node_id: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "data": {"id": node_id, "name": node_id.split("_")[0], **data}}


def test_node_and_agent_flow_credentials_are_written_by_name() -> None:
    flow = _flow(
        _node("chatOpenAI_0", credential="id-1", inputs={"modelName": "gpt"}),
        _node(
            "llmAgentflow_0",
            inputs={"llmModelConfig": {"credential": "", "FLOWISE_CREDENTIAL_ID": "id-2"}},
        ),
    )
    book = Credentials([("id-1", "openai"), ("id-2", "azure")])

    warnings = named(flow, "chatflow", book)

    assert warnings == []
    assert flow["nodes"][0]["data"]["credential"] == "credential:openai"
    config = flow["nodes"][1]["data"]["inputs"]["llmModelConfig"]
    assert config == {"credential": "", "FLOWISE_CREDENTIAL_ID": "credential:azure"}
    assert "id-1" not in json.dumps(flow)
    assert "id-2" not in json.dumps(flow)


def test_a_dangling_id_is_left_out_with_a_warning_naming_the_node() -> None:
    flow = _flow(_node("chatOpenAI_0", credential="gone"))

    warnings = named(flow, "chatflow", Credentials([]))

    assert flow["nodes"][0]["data"]["credential"] == ""
    assert warnings == ["node 'chatOpenAI_0': credential id 'gone' is unknown there, left out"]


def test_names_resolve_to_the_targets_ids() -> None:
    flow = _flow(_node("chatOpenAI_0", credential="credential:openai"))

    problems = resolved(flow, "chatflow", Credentials([("other-id", "openai")]))

    assert problems == []
    assert flow["nodes"][0]["data"]["credential"] == "other-id"


def test_a_missing_credential_is_a_problem_naming_node_and_credential() -> None:
    flow = _flow(_node("chatOpenAI_0", credential="credential:openai"))

    problems = resolved(flow, "chatflow", Credentials([("x", "azure")]))

    assert problems == [
        "node 'chatOpenAI_0' needs credential 'openai', which the target has not: "
        "create it there under that name"
    ]


def test_two_credentials_of_one_name_are_a_problem_naming_both_ids() -> None:
    flow = _flow(_node("chatOpenAI_0", credential="credential:openai"))

    problems = resolved(flow, "chatflow", Credentials([("a1", "openai"), ("b2", "openai")]))

    assert len(problems) == 1
    assert "(a1, b2)" in problems[0]


def test_a_raw_id_in_a_file_is_refused() -> None:
    flow = _flow(_node("chatOpenAI_0", credential="6ab7da6b-5e21"))

    problems = resolved(flow, "chatflow", Credentials([("6ab7da6b-5e21", "openai")]))

    assert len(problems) == 1
    assert "raw credential '6ab7da6b-5e21'" in problems[0]


def test_a_local_workspace_keeps_credentials_by_name() -> None:
    flow = _flow(_node("chatOpenAI_0", credential="openai"))
    book = Credentials.by_name()

    named(flow, "chatflow", book)
    assert flow["nodes"][0]["data"]["credential"] == "credential:openai"
    resolved(flow, "chatflow", book)
    assert flow["nodes"][0]["data"]["credential"] == "openai"


def test_a_custom_assistants_placeholder_credential_is_dropped_silently() -> None:
    data = {"details": {"name": "a"}, "credential": "random-uuid", "type": "CUSTOM"}

    assert named(data, "assistant", Credentials([])) == []
    assert "credential" not in data


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8), st.text(min_size=1, max_size=12), min_size=1, max_size=5
    )
)
def test_names_then_ids_give_back_the_same_flow_on_the_same_server(ids: dict[str, str]) -> None:
    names = {credential_id: f"name {i}" for i, credential_id in enumerate(ids)}
    book = Credentials(names.items())
    nodes = [_node(f"n_{i}", credential=credential_id) for i, credential_id in enumerate(ids)]
    flow = _flow(*nodes)
    original = json.loads(json.dumps(flow))

    assert named(flow, "chatflow", book) == []
    assert resolved(flow, "chatflow", book) == []
    assert flow == original
