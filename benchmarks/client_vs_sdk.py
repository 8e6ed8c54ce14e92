"""flowkit's Flowise client against the official SDK's way, on one real Flowise server.

Run (a Flowise 3.x and the OpenAI mock running, e.g. as ``make test-flowise`` starts them)::

    FLOWISE_URL=http://127.0.0.1:3000 FLOWISE_API_KEY=... \\
        .venv/bin/python benchmarks/client_vs_sdk.py [--calls 100] [--rounds 3] \\
        [--mock-url http://127.0.0.1:3199/v1]

Two workloads, each ``--calls`` calls per run and ``--rounds`` runs per side, the two
sides' calls interleaved one by one so that a drift of the server (other load, a growing
database) touches both alike:

* predictions: the RAG test flow (tests/data/flowise-server/rag-flow.json, pointed at the
  mock) asked the same question. flowkit: ``FlowiseClient.predict`` on one client (pooled
  keep-alive connections). The reference: PyPI ``flowise`` 1.0.4, the official SDK:
  ``Flowise(...).create_prediction(PredictionData(...))`` (it asks
  ``/chatflows-streaming/<id>`` first, then posts the prediction, each with a new
  ``requests`` connection).
* creates: the same chatflow created. flowkit: ``FlowiseClient.create_chatflow``. The
  reference, since the SDK has no create: plain ``requests.post`` with the same JSON body,
  one call each (as the cURL recipes do). Every created flow is deleted after its run (not
  timed).

Prints every run (total seconds, milliseconds per call), the medians, and the ratio
reference/flowkit (above 1: flowkit is faster). Exit 0 once it ran to the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RAG_FLOW = REPO / "tests" / "data" / "flowise-server" / "rag-flow.json"
QUESTION = "What is the capital of Zubrowka?"
CREDENTIAL_NAME = "flowkit-benchmark-mock-openai"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("FLOWISE_URL"))
    parser.add_argument("--api-key", default=os.environ.get("FLOWISE_API_KEY"))
    parser.add_argument(
        "--mock-url",
        default=os.environ.get("FLOWKIT_MOCK_OPENAI_URL", "http://127.0.0.1:3199/v1"),
        help="the OpenAI-compatible mock the RAG flow's models call",
    )
    parser.add_argument("--calls", type=int, default=100, help="calls per run (default 100)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per side (default 3)")
    args = parser.parse_args()
    if not args.url or not args.api_key:
        parser.error("give --url and --api-key (or FLOWISE_URL and FLOWISE_API_KEY)")
    return args


def _rag_flow_data(client: Any, mock_url: str) -> dict[str, Any]:
    credential = next(
        (c.id for c in client.list_credentials("openAIApi") if c.name == CREDENTIAL_NAME), None
    )
    if credential is None:
        made = client.create_credential(CREDENTIAL_NAME, "openAIApi", {"openAIApiKey": "sk-mock"})
        credential = made.id
    data: dict[str, Any] = json.loads(RAG_FLOW.read_text())
    for node in data["nodes"]:
        if "basepath" in node["data"].get("inputs", {}):
            node["data"]["inputs"]["basepath"] = mock_url
        if node["data"].get("credential"):
            node["data"]["credential"] = credential
    return data


def _compare(
    title: str,
    sides: dict[str, Callable[[], None]],
    calls: int,
    rounds: int,
    after_run: Callable[[], None],
) -> float:
    """Run ``rounds`` runs of ``calls`` calls per side, the two sides' calls interleaved one
    by one (A B, B A, A B, ...) so that a drifting server touches both alike; print every
    run and the medians; return the ratio of the reference's median run to flowkit's."""
    print(f"\n== {title}: {calls} calls per run, {rounds} runs per side, calls interleaved")
    names = list(sides)
    runs: dict[str, list[float]] = {name: [] for name in names}
    each: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        totals = dict.fromkeys(names, 0.0)
        for call in range(calls):
            for name in names if call % 2 == 0 else reversed(names):
                started = time.perf_counter()
                sides[name]()
                elapsed = time.perf_counter() - started
                totals[name] += elapsed
                each[name].append(elapsed)
        after_run()
        for name in names:
            runs[name].append(totals[name])
            per_call = totals[name] / calls * 1000
            print(f"  run {index + 1} {name:<30} {totals[name]:7.3f} s  {per_call:7.2f} ms/call")
    flowkit_name, reference_name = names
    for name in names:
        median_run = statistics.median(runs[name])
        median_call = statistics.median(each[name]) * 1000
        print(f"  median {name:<27} {median_run:7.3f} s per run, {median_call:7.2f} ms per call")
    ratio = statistics.median(runs[reference_name]) / statistics.median(runs[flowkit_name])
    print(f"  ratio {reference_name} / {flowkit_name}: {ratio:.2f}x")
    return ratio


def main() -> int:
    args = _arguments()
    import requests
    from flowise import (  # type: ignore[import-untyped]  # the official SDK, PyPI flowise 1.0.4
        Flowise,
        PredictionData,
    )

    import flowkit
    from flowkit import Chatflow
    from flowkit.client import FlowiseClient
    from flowkit.client.records import chatflow_body

    print("flowkit client vs the official SDK's way (requests, one call each)")
    print(f"server {args.url}, flowkit {flowkit.__version__}, requests {version('requests')}")
    print(f"python {sys.version.split()[0]}")

    client = FlowiseClient(args.url, api_key=args.api_key, timeout=120)
    try:
        print(f"Flowise {client.version()}")
        data = _rag_flow_data(client, args.mock_url)
        flow = Chatflow.from_flowise(data, name="flowkit benchmark RAG")
        saved = client.create_chatflow(flow)
        client.upsert_vector(saved.id)
        sdk = Flowise(base_url=args.url, api_key=args.api_key)
        headers = {"Authorization": f"Bearer {args.api_key}"}
        body = chatflow_body(flow)
        created: list[str] = []

        def flowkit_predict() -> None:
            client.predict(saved.id, QUESTION)

        def sdk_predict() -> None:
            (answer,) = sdk.create_prediction(
                PredictionData(chatflowId=saved.id, question=QUESTION, streaming=False)
            )
            assert isinstance(answer, dict)

        def flowkit_create() -> None:
            created.append(client.create_chatflow(flow).id)

        def requests_create() -> None:
            response = requests.post(
                f"{args.url}/api/v1/chatflows", json=body, headers=headers, timeout=120
            )
            response.raise_for_status()
            created.append(response.json()["id"])

        def delete_created() -> None:
            for flow_id in created:
                client.delete_chatflow(flow_id)
            created.clear()

        def nothing() -> None:
            pass

        flowkit_predict()  # warm both paths (connections, the server's caches)
        sdk_predict()
        predictions = _compare(
            "predictions",
            {
                "flowkit FlowiseClient.predict": flowkit_predict,
                "SDK create_prediction": sdk_predict,
            },
            args.calls,
            args.rounds,
            nothing,
        )
        creates = _compare(
            "creates",
            {"flowkit create_chatflow": flowkit_create, "requests.post": requests_create},
            args.calls,
            args.rounds,
            delete_created,
        )
        client.delete_chatflow(saved.id)
    finally:
        client.close()
    print("\n== summary (reference time / flowkit time; above 1: flowkit faster)")
    print(f"  predictions: {predictions:.2f}x")
    print(f"  creates:     {creates:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
