"""What the client sends for each entity and how it reads Flowise's records back."""

from __future__ import annotations

import base64
import json

import pytest

from flowkit import Assistant, Chatflow, Tool
from flowkit.client import NO_CREDENTIAL, FlowiseClient
from flowkit.model.messages import ChatMessage, Role

from .fake_flowise import FakeFlowise

ID = "00000000-0000-0000-0000-000000000004"
DATE = "2026-12-05T08:04:50.000Z"


def _flow() -> Chatflow:
    flow = Chatflow(name="Docs QA")
    flow.add_node("chatOpenAI", category="Chat Models", inputs={"temperature": 0.2})
    return flow


def _record(flow: Chatflow, **changes: object) -> dict[str, object]:
    return {
        "id": ID,
        "name": flow.name,
        "flowData": json.dumps(flow.to_flowise()),
        "type": "CHATFLOW",
        "workspaceId": "w1",
        "createdDate": DATE,
        "updatedDate": DATE,
        **changes,
    }


def test_create_chatflow_sends_flowdata_as_text_and_returns_the_servers_object(
    fake: FakeFlowise, client: FlowiseClient
) -> None:
    flow = _flow()
    fake.json("POST", "/api/v1/chatflows", _record(flow))

    created = client.create_chatflow(flow, {"deployed": True})

    sent = json.loads(fake.seen("POST", "/api/v1/chatflows")[0].body)
    assert isinstance(sent["flowData"], str)
    assert json.loads(sent["flowData"]) == flow.to_flowise()
    assert (sent["name"], sent["type"], sent["deployed"]) == ("Docs QA", "CHATFLOW", True)
    assert "id" not in sent
    assert created is not flow
    assert created.id == ID
    assert created.to_flowise()["nodes"] == flow.to_flowise()["nodes"]


def test_list_chatflows_filters_by_type_and_reads_a_paged_answer(
    fake: FakeFlowise, client: FlowiseClient
) -> None:
    fake.json("GET", "/api/v1/chatflows", {"data": [_record(_flow())], "total": 1})

    flows = client.list_chatflows("AGENTFLOW")

    assert [f.id for f in flows] == [ID]
    assert fake.seen("GET", "/api/v1/chatflows")[0].path.endswith("?type=AGENTFLOW")


def test_a_tool_is_sent_with_its_schema_as_text(fake: FakeFlowise, client: FlowiseClient) -> None:
    schema = [{"id": 0, "property": "city", "type": "string", "required": True}]
    tool = Tool(name="weather", description="d", input_schema=schema, func="return $city")
    record = {**tool.to_flowise(), "schema": json.dumps(schema), "id": ID, "createdDate": DATE}
    fake.json("POST", "/api/v1/tools", record)

    created = client.create_tool(tool)

    sent = json.loads(fake.seen("POST", "/api/v1/tools")[0].body)
    assert json.loads(sent["schema"]) == schema
    assert created.id == ID
    assert created.schema_properties == schema


def test_an_assistant_without_credential_gets_the_placeholder_and_reads_back_none(
    fake: FakeFlowise, client: FlowiseClient
) -> None:
    record = {
        "id": ID,
        "details": json.dumps({"name": "helper"}),
        "credential": NO_CREDENTIAL,
        "iconSrc": None,
        "type": "CUSTOM",
        "createdDate": DATE,
    }
    fake.json("POST", "/api/v1/assistants", record)

    created = client.create_assistant(Assistant(details={"name": "helper"}))

    sent = json.loads(fake.seen("POST", "/api/v1/assistants")[0].body)
    assert sent["credential"] == NO_CREDENTIAL
    assert json.loads(sent["details"]) == {"name": "helper"}
    assert created.credential is None
    assert created.details == {"name": "helper"}


def test_credentials_are_read_as_ids_and_names_only(
    fake: FakeFlowise, client: FlowiseClient
) -> None:
    record = {"id": ID, "name": "mock", "credentialName": "openAIApi", "encryptedData": "SECRET"}
    fake.json("GET", "/api/v1/credentials", [record])

    (credential,) = client.list_credentials("openAIApi")

    assert (credential.id, credential.name, credential.credential_name) == (ID, "mock", "openAIApi")
    assert "SECRET" not in repr(credential)
    assert "SECRET" not in credential.model_dump_json()
    assert fake.seen("GET", "/api/v1/credentials")[0].path.endswith("credentialName=openAIApi")


def test_chat_messages_are_filtered_and_typed(fake: FakeFlowise, client: FlowiseClient) -> None:
    row = {"id": "m1", "role": "apiMessage", "chatflowid": ID, "content": "hi", "chatId": "c1"}
    fake.json("GET", f"/api/v1/chatmessage/{ID}", [{**row, "createdDate": DATE}])
    fake.json("DELETE", f"/api/v1/chatmessage/{ID}", {"raw": [], "affected": 2})

    (message,) = client.chat_messages(ID, chat_id="c1", order="DESC")
    deleted = client.delete_chat_messages(ID, chat_id="c1", hard_delete=True)

    assert message == ChatMessage(
        id="m1", chatflow_id=ID, chat_id="c1", role=Role.API, content="hi", created_at=DATE
    )
    assert fake.seen("GET", f"/api/v1/chatmessage/{ID}")[0].path.endswith("chatId=c1&order=DESC")
    assert deleted == 2
    assert "hardDelete=true" in fake.seen("DELETE", f"/api/v1/chatmessage/{ID}")[0].path


def test_a_prediction_sends_history_overrides_and_uploads(
    fake: FakeFlowise, client: FlowiseClient
) -> None:
    from flowkit.backends.base import Upload

    answer = {"text": "yes", "chatId": "c2", "sourceDocuments": [{"pageContent": "p"}]}
    fake.json("POST", f"/api/v1/prediction/{ID}", answer)
    history = [ChatMessage(chatflow_id=ID, chat_id="c2", role=Role.USER, content="before")]

    prediction = client.predict(
        ID,
        "q",
        chat_id="c2",
        overrides={"sessionId": "s"},
        history=history,
        uploads=[Upload(name="a.txt", data=b"abc", mime="text/plain")],
    )

    sent = json.loads(fake.seen("POST", f"/api/v1/prediction/{ID}")[0].body)
    assert sent["history"] == [{"role": "userMessage", "content": "before"}]
    assert sent["overrideConfig"] == {"sessionId": "s"}
    assert sent["chatId"] == "c2"
    (upload,) = sent["uploads"]
    assert upload["data"] == "data:text/plain;base64," + base64.b64encode(b"abc").decode()
    assert (prediction.text, prediction.chat_id) == ("yes", "c2")
    assert prediction.source_documents[0].page_content == "p"


def test_an_upsert_sends_json_or_multipart_files(fake: FakeFlowise, client: FlowiseClient) -> None:
    from flowkit.backends.base import Upload

    fake.json("POST", f"/api/v1/vector/upsert/{ID}", {"numAdded": 3, "numSkipped": 1})

    plain = client.upsert_vector(ID, stop_node_id="faiss_0", overrides={"chunkSize": 60})
    files = client.upsert_vector(ID, files=[Upload(name="doc.txt", data=b"hello file")])

    first, second = fake.seen("POST", f"/api/v1/vector/upsert/{ID}")
    assert json.loads(first.body) == {"stopNodeId": "faiss_0", "overrideConfig": {"chunkSize": 60}}
    assert second.headers["Content-Type"].startswith("multipart/form-data")
    assert b'filename="doc.txt"' in second.body
    assert b"hello file" in second.body
    assert (plain.stop_node_id, plain.num_added) == ("faiss_0", 3)
    assert plain.model_dump()["num_skipped"] == 1
    assert files.num_added == 3


def test_an_unknown_filter_or_flow_type_is_refused_before_sending(
    fake: FakeFlowise, client: FlowiseClient
) -> None:
    from flowkit.errors import ArgumentTypeError

    with pytest.raises(ArgumentTypeError, match="chat_id"):
        client.chat_messages(ID, chatid="c1")
    with pytest.raises(ArgumentTypeError, match="AGENTFLOW"):
        client.list_chatflows("AGENT")

    assert fake.requests == []
