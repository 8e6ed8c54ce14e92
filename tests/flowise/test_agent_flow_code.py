"""An agent flow (v2) built in code with ``add_flowise_node`` and ``connect``, run on a real
Flowise: Start -> LLM on the mock's chat model answers, streamed and not."""

from __future__ import annotations

from flowkit import Chatflow, FlowType, Workspace
from flowkit.backends.events import AGENT_FLOW_EVENT, END, TOKEN

from .conftest import Server


def test_an_agent_flow_built_in_code_runs_on_the_server(
    workspace: Workspace, server: Server, mock_credential: str
) -> None:
    flow = Chatflow(name="flowkit agent flow in code", type=FlowType.AGENTFLOW)
    start = flow.add_flowise_node("startAgentflow")
    llm = flow.add_flowise_node(
        "llmAgentflow",
        inputs={
            "llmModel": "chatOpenAI",
            "llmModelConfig": {
                "modelName": "gpt-4o-mini",
                "basepath": server.mock_url,
                "llmModel": "chatOpenAI",
                "FLOWISE_CREDENTIAL_ID": mock_credential,
            },
            "llmMessages": [{"role": "system", "content": "Answer briefly."}],
        },
    )
    flow.connect(start, llm)
    saved = workspace.create_chatflow(flow)
    try:
        plain = workspace.predict(saved, "Good morning")
        events = list(workspace.stream(saved, "Good morning"))
    finally:
        workspace.delete_chatflow(saved.id)

    assert saved.type == FlowType.AGENTFLOW
    assert plain.text.startswith("MOCK: ")
    assert events[0].event == AGENT_FLOW_EVENT
    assert events[-1].event == END
    assert "".join(e.data for e in events if e.event == TOKEN) == plain.text
