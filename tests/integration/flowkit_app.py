"""A flowkit program for the integration tests: runs a fixed list of Workspace operations
with metrics (and traces, and telemetry over OTLP) configured from its environment.

``python flowkit_app.py serve``: metrics as the environment says (Prometheus with
``FLOWKIT_METRICS_PORT``), run :data:`OPERATIONS`, print ``READY <port>``, keep serving until
stdin closes. ``python flowkit_app.py otlp``: also traces and telemetry through
:class:`~flowkit.telemetry.otel_sink.OTelLogSink`, with the secret planted in every field a
user can fill, and ``FLOWKIT_TELEMETRY_SINK=otel`` choosing the sink; flush everything,
print ``DONE``, exit.

Every operation (counts the tests check):

* create_chatflow: 4 chatflows + 1 MULTIAGENT flow + 1 slow flow + 1 flow whose tool
  component raises + 1 flow without a store -> chatflow_created{success} 7,
  agentflow_created{success} 1
* upsert_vector: 3 successes; 2 failures (no vector store; unknown id)
  -> vector_upserted{success} 3, vector_upserted{failure} 2
* predict: 5 external on the slow flow (each ~30 ms); 1 internal on a chatflow; 2 failures
  (a component raises; unknown id) -> chatflow_prediction_external{success} 5, {failure} 2,
  chatflow_prediction_internal{success} 1
* create_tool 1, create_assistant 1.
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Any

from flowkit import Assistant, Chatflow, FlowType, Tool, Workspace, component
from flowkit.runtime import retrieval_demo_flow

SECRET = "S3CR3T"
"""Planted in every user-fillable field; must never reach Prometheus or the collector."""


@component("slowEcho", category="Chains")
def _slow_echo(inputs: dict[str, Any], context: Any) -> str:
    time.sleep(0.03)
    return f"{SECRET}-answer: {inputs.get('systemMessage', '')}"


@component("failingSecretTool", category="Tools")
def _failing(inputs: dict[str, Any], context: Any) -> str:
    raise ValueError(f"{SECRET}-error-message from a component")


def _flow(name: str) -> Chatflow:
    flow = retrieval_demo_flow(f"{SECRET}-document text.\n\nMore {SECRET} text.", name=name)
    return flow


def run_operations() -> None:
    """Run the documented list of operations once."""
    workspace = Workspace()
    flows = [_flow(f"{SECRET}-flow-name-{i}") for i in range(4)]
    for flow in flows:
        flow.node("plainText_0").credential = f"{SECRET}-credential-id"
        workspace.create_chatflow(flow)
    multi = Chatflow(name=f"{SECRET}-multiagent", type=FlowType.MULTIAGENT)
    multi.add_node("slowEcho", category="Chains", id=f"{SECRET}_custom_node_id")
    workspace.create_chatflow(multi)
    slow = Chatflow(name=f"{SECRET}-slow")
    slow.add_node("slowEcho", category="Chains", inputs={"systemMessage": f"{SECRET}-prompt"})
    workspace.create_chatflow(slow)
    broken = Chatflow(name=f"{SECRET}-broken")
    tool = broken.add_node("failingSecretTool", category="Tools")
    chain = broken.add_node("slowEcho", category="Chains")
    broken.connect(tool, chain, "tools")
    workspace.create_chatflow(broken)
    storeless = Chatflow(name=f"{SECRET}-storeless")
    storeless.add_node("slowEcho", category="Chains")
    workspace.create_chatflow(storeless)

    for flow in flows[:3]:
        workspace.upsert_vector(flow)
    for target in (storeless, f"{SECRET}-missing-flow-id"):
        with contextlib.suppress(Exception):
            workspace.upsert_vector(target)

    for _ in range(5):
        workspace.predict(slow, f"{SECRET}-question")
    workspace.predict(flows[0], f"{SECRET}-question", chat_type="INTERNAL")
    for target in (broken, f"{SECRET}-missing-flow-id"):
        with contextlib.suppress(Exception):
            workspace.predict(target, f"{SECRET}-question")

    # A tool's name is part of Flowise's own tool_created payload (toolName), so it is not
    # planted; its description and code are.
    workspace.create_tool(
        Tool(name="calculator", description=f"{SECRET}-description", func=f"{SECRET}()")
    )
    workspace.create_assistant(Assistant(details={"instructions": f"{SECRET}-instructions"}))


def serve() -> None:
    import flowkit.metrics

    installation = flowkit.metrics.install()
    assert installation.server is not None, "set ENABLE_METRICS=true and FLOWKIT_METRICS_PORT"
    run_operations()
    print(f"READY {installation.server.port}", flush=True)
    sys.stdin.read()  # until the test closes our stdin
    flowkit.metrics.uninstall()


def otlp() -> None:
    import flowkit.metrics
    from flowkit.telemetry import Telemetry

    installation = flowkit.metrics.install()
    telemetry = Telemetry().connect()  # FLOWKIT_TELEMETRY_SINK=otel: OTelLogSink
    run_operations()
    installation.flush()
    assert telemetry.flush(timeout=20), "telemetry was not delivered to the collector"
    telemetry.shutdown()
    flowkit.metrics.uninstall()
    print("DONE", flush=True)


if __name__ == "__main__":
    {"serve": serve, "otlp": otlp}[sys.argv[1]]()
