"""OTLP/HTTP export of metrics, spans and telemetry log records to a receiver on 127.0.0.1,
with a secret planted in every user-fillable field and found nowhere in what arrives."""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from otlp_receiver import OTLPReceiver

from .conftest import APP, PYTHON, app_env

pytestmark = pytest.mark.integration

SECRET = "S3CR3T"


@pytest.fixture(scope="module")
def received(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    receiver = OTLPReceiver()
    try:
        env = app_env(
            tmp_path_factory.mktemp("home"),
            ENABLE_METRICS="true",
            METRICS_PROVIDER="open_telemetry",
            FLOWKIT_TRACES="true",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_METRIC_EXPORT_INTERVAL="600000",
            FLOWKIT_TELEMETRY_SINK="otel",
        )
        done = subprocess.run(
            [PYTHON, str(APP), "otlp"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "DONE", done.stdout
        yield receiver.received
    finally:
        receiver.close()


def _metrics(received: Any) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for request in received.requests["/v1/metrics"]:
        for rm in MessageToDict(request).get("resourceMetrics", []):
            for sm in rm.get("scopeMetrics", []):
                for metric in sm.get("metrics", []):
                    found.setdefault(metric["name"], []).append(metric)
    return found


def _attributes(point: dict[str, Any]) -> dict[str, str]:
    return {a["key"]: next(iter(a["value"].values())) for a in point.get("attributes", [])}


def _last_sum(metrics: list[dict[str, Any]]) -> dict[tuple[tuple[str, str], ...], int]:
    # Cumulative temporality: the last export holds the totals.
    points = metrics[-1]["sum"]["dataPoints"]
    return {tuple(sorted(_attributes(p).items())): int(p["asInt"]) for p in points}


def test_no_secret_reaches_the_collector(received: Any) -> None:
    assert received.raw, "nothing arrived"
    assert all(SECRET.encode() not in body for body in received.raw)
    for requests in received.requests.values():
        for request in requests:
            assert SECRET not in str(MessageToDict(request))


def test_metrics_arrive_with_flowises_names_and_counts(received: Any) -> None:
    metrics = _metrics(received)

    created = _last_sum(metrics["chatflow_created"])
    upserted = _last_sum(metrics["vector_upserted"])
    external = _last_sum(metrics["chatflow_prediction_external"])

    assert created == {(("app", "FlowiseAI"), ("status", "success")): 7}
    assert upserted == {
        (("app", "FlowiseAI"), ("status", "success")): 3,
        (("app", "FlowiseAI"), ("status", "failure")): 2,
    }
    assert external == {
        (("app", "FlowiseAI"), ("status", "success")): 5,
        (("app", "FlowiseAI"), ("status", "failure")): 2,
    }
    histogram = metrics["flowkit_operation_duration_ms"][-1]
    assert histogram["unit"] == "ms"
    keys = {frozenset(_attributes(p)) for p in histogram["histogram"]["dataPoints"]}
    assert keys == {frozenset({"operation", "status"})}


def test_spans_arrive_one_per_operation_with_node_children(received: Any) -> None:
    spans = [
        span
        for request in received.requests["/v1/traces"]
        for rs in MessageToDict(request)["resourceSpans"]
        for ss in rs["scopeSpans"]
        for span in ss["spans"]
    ]
    roots = [s for s in spans if "parentSpanId" not in s]
    children = [s for s in spans if "parentSpanId" in s]

    assert Counter(s["name"] for s in roots) == {
        "create_chatflow": 8,
        "upsert_vector": 5,
        "predict": 8,
        "create_tool": 1,
        "create_assistant": 1,
    }
    root_ids = {s["spanId"] for s in roots}
    assert children
    assert all(c["parentSpanId"] in root_ids for c in children)
    names = Counter(c["name"] for c in children)
    # Custom components' names are the user's: they show as "custom" (5 slowEcho runs and
    # the tool that raised); built-in and Flowise components by name.
    assert names["node custom"] == 6
    assert names["node memoryVectorStore"] >= 3
    assert names["node retrievalQAChain"] == 1
    failed = [s for s in spans if s.get("status", {}).get("code") == "STATUS_CODE_ERROR"]
    # 2 upserts, 2 predictions and the node that raised; none says why in words.
    assert len(failed) == 5
    assert all("message" not in s["status"] for s in failed)


def test_telemetry_events_arrive_as_log_records_of_the_wire_envelope(received: Any) -> None:
    records = [
        record
        for request in received.requests["/v1/logs"]
        for rl in MessageToDict(request)["resourceLogs"]
        for sl in rl["scopeLogs"]
        for record in sl["logRecords"]
    ]

    assert Counter(r["eventName"] for r in records) == {
        "chatflow_created": 8,
        "vector_upserted": 3,
        "prediction_sent": 6,
        "tool_created": 1,
        "assistant_created": 1,
    }
    for record in records:
        body = {kv["key"] for kv in record["body"]["kvlistValue"]["values"]}
        assert body == {"event", "distinctId", "properties", "timestamp", "uuid"}
        assert "attributes" not in record
