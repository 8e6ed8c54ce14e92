"""The Prometheus provider: Flowise's exact series names, counted as Flowise 3.1 counts."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from collections import Counter as Tally
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flowkit.metrics
from flowkit import Assistant, ChatType, FlowType, Tool, signals
from flowkit.metrics.counting import COUNTERS, FAILURE, SUCCESS
from flowkit.metrics.prometheus import PrometheusRecorder, render

from .helpers import SPEC, failed, flow, series, succeeded


def _render(installation: flowkit.metrics.Installation) -> str:
    return installation.render().decode()


def test_counter_series_have_flowise_names_without_total_suffix() -> None:
    metrics = flowkit.metrics.install(enabled=True)
    for _ in range(4):
        succeeded(signals.chatflow_created, flow())

    text = _render(metrics)

    assert 'chatflow_created{status="success",app="FlowiseAI"} 4\n' in text
    assert "_total" not in text
    assert "_created{" not in text.replace("chatflow_created{", "").replace(
        "agentflow_created{", ""
    )


def test_help_and_type_lines_equal_flowise_3_1_4s() -> None:
    spec = SPEC.read_text().splitlines()
    metrics = flowkit.metrics.install(enabled=True)

    ours = _render(metrics).splitlines()

    for name in COUNTERS:
        expected = [
            line for line in spec if line.startswith((f"# HELP {name} ", f"# TYPE {name} "))
        ]
        assert len(expected) == 2, name
        assert [line for line in ours if line in expected] == expected, name


def test_multiagent_counts_as_agentflow_and_agentflow_v2_as_chatflow() -> None:
    metrics = flowkit.metrics.install(enabled=True)

    succeeded(signals.chatflow_created, flow(FlowType.MULTIAGENT))
    succeeded(signals.chatflow_created, flow(FlowType.AGENTFLOW))
    succeeded(signals.chatflow_created, flow(FlowType.ASSISTANT))
    found = series(_render(metrics))

    assert found['agentflow_created{status="success",app="FlowiseAI"}'] == 1
    assert found['chatflow_created{status="success",app="FlowiseAI"}'] == 2


def test_predictions_split_by_flow_type_and_chat_type() -> None:
    metrics = flowkit.metrics.install(enabled=True, service_name="Acme")
    succeeded(signals.prediction_sent, flow(), chat_type=ChatType.INTERNAL)
    succeeded(signals.prediction_sent, flow(), chat_type=ChatType.EXTERNAL)
    succeeded(signals.prediction_sent, flow(), chat_type=ChatType.EXTERNAL)
    succeeded(signals.prediction_sent, flow(FlowType.MULTIAGENT), chat_type=ChatType.INTERNAL)
    failed("predict", flow(FlowType.MULTIAGENT), chat_type=ChatType.EXTERNAL)

    found = series(_render(metrics))

    assert found['chatflow_prediction_internal{status="success",app="Acme"}'] == 1
    assert found['chatflow_prediction_external{status="success",app="Acme"}'] == 2
    assert found['agentflow_prediction_internal{status="success",app="Acme"}'] == 1
    assert found['agentflow_prediction_external{status="failure",app="Acme"}'] == 1


def test_failures_count_under_the_operations_counter_with_status_failure() -> None:
    metrics = flowkit.metrics.install(enabled=True)
    failed("upsert_vector", "missing-flow-id", chat_type=ChatType.INTERNAL)
    failed("upsert_vector", flow(), chat_type=ChatType.INTERNAL)
    failed("create_chatflow", flow(FlowType.MULTIAGENT), flow_type=FlowType.MULTIAGENT)
    failed("create_tool", Tool(name="t", description="d"))
    failed("delete_tool", "tool-id")

    found = series(_render(metrics))

    assert found['vector_upserted{status="failure",app="FlowiseAI"}'] == 2
    assert found['agentflow_created{status="failure",app="FlowiseAI"}'] == 1
    assert found['tool_created{status="failure",app="FlowiseAI"}'] == 1
    assert not any(key.startswith('vector_upserted{status="success"') for key in found)
    assert (
        found['flowkit_operation_duration_ms_count{operation="delete_tool",status="failure"}'] == 1
    )


def test_tools_assistants_and_upserts_count_on_success() -> None:
    metrics = flowkit.metrics.install(enabled=True)
    succeeded(signals.tool_created, Tool(name="t", description="d"))
    succeeded(signals.assistant_created, Assistant())
    succeeded(signals.vector_upserted, flow(), chat_type=ChatType.INTERNAL)

    found = series(_render(metrics))

    assert found['tool_created{status="success",app="FlowiseAI"}'] == 1
    assert found['assistant_created{status="success",app="FlowiseAI"}'] == 1
    assert found['vector_upserted{status="success",app="FlowiseAI"}'] == 1


def test_updates_and_deletes_only_observe_their_duration() -> None:
    metrics = flowkit.metrics.install(enabled=True)
    succeeded(signals.chatflow_updated, flow(), duration=0.012)
    succeeded(signals.tool_deleted, Tool(name="t", description="d"), duration=0.0005)

    found = series(_render(metrics))

    counted = {key for key in found if key.split("{")[0] in COUNTERS}
    assert counted == set()
    prefix = "flowkit_operation_duration_ms"
    assert found[f'{prefix}_sum{{operation="update_chatflow",status="success"}}'] == 12
    assert found[f'{prefix}_bucket{{operation="delete_tool",status="success",le="1"}}'] == 1
    assert found[f'{prefix}_bucket{{operation="update_chatflow",status="success",le="5"}}'] == 0


def test_histogram_labels_are_operation_and_status_only() -> None:
    metrics = flowkit.metrics.install(enabled=True)
    succeeded(signals.prediction_sent, flow(name="secret-flow-name"), chat_type=ChatType.EXTERNAL)

    lines = [
        key for key in series(_render(metrics)) if key.startswith("flowkit_operation_duration_ms")
    ]

    assert lines
    for key in lines:
        labels = {part.split("=")[0] for part in key.split("{")[1].rstrip("}").split(",")}
        assert labels <= {"operation", "status", "le"}, key
    assert "secret-flow-name" not in _render(metrics)


def test_version_gauge_says_flowkits_version() -> None:
    metrics = flowkit.metrics.install(enabled=True)

    found = series(_render(metrics))

    assert found[f'flowkit_version_info{{version="{flowkit.__version__}",app="FlowiseAI"}}'] == 1


def test_endpoint_serves_metrics_on_127_0_0_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENABLE_METRICS", "true")
    monkeypatch.setenv("FLOWKIT_METRICS_PORT", "0")
    metrics = flowkit.metrics.install()
    succeeded(signals.tool_created, Tool(name="t", description="d"))
    assert metrics.server is not None

    with urllib.request.urlopen(metrics.server.url, timeout=5) as response:
        body = response.read().decode()
        content_type = response.headers["Content-Type"]

    assert metrics.server.host == "127.0.0.1"
    assert 'tool_created{status="success",app="FlowiseAI"} 1' in body
    assert content_type.startswith("text/plain; version=0.0.4")
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(metrics.server.url.replace("/metrics", "/other"), timeout=5)
    assert missing.value.code == 404


def test_uninstall_stops_the_endpoint_and_the_counting() -> None:
    metrics = flowkit.metrics.install(enabled=True, port=0)
    assert metrics.server is not None
    url = metrics.server.url

    flowkit.metrics.uninstall()
    succeeded(signals.tool_created, Tool(name="t", description="d"))

    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)
    assert "tool_created{" not in metrics.render().decode()
    assert flowkit.metrics.installed() is None


def test_wsgi_app_serves_the_installed_metrics_and_503_before() -> None:
    app = flowkit.metrics.wsgi_app()
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        statuses.append(status)

    before = b"".join(app({"REQUEST_METHOD": "GET"}, start_response))
    flowkit.metrics.install(enabled=True)
    succeeded(signals.chatflow_created, flow())
    after = b"".join(app({"REQUEST_METHOD": "GET"}, start_response)).decode()

    assert statuses == ["503 Service Unavailable", "200 OK"]
    assert b"ENABLE_METRICS" in before
    assert 'chatflow_created{status="success",app="FlowiseAI"} 1' in after


class _Broken:
    def bind(self, counter: str | None, operation: str, status: str) -> Any:
        def record(milliseconds: float) -> None:
            raise RuntimeError("recorder is broken")

        return record


def test_a_failing_recorder_never_reaches_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    subscriber = flowkit.metrics.MetricsSubscriber(_Broken()).connect()
    try:
        with caplog.at_level(logging.ERROR, logger="flowkit.metrics"):
            succeeded(signals.chatflow_created, flow())
            succeeded(signals.prediction_sent, flow(), chat_type=ChatType.EXTERNAL)
            failed("predict", flow(), chat_type=ChatType.EXTERNAL)
    finally:
        subscriber.disconnect()

    assert len([r for r in caplog.records if "recorder is broken" in str(r.exc_info)]) == 3


def test_render_skips_created_series_of_any_registry() -> None:
    from prometheus_client import CollectorRegistry, Counter

    registry = CollectorRegistry()
    Counter("jobs", "Jobs done", ("kind",), registry=registry).labels("x").inc(2.5)

    assert render(registry).decode() == (
        '# HELP jobs Jobs done\n# TYPE jobs counter\njobs{kind="x"} 2.5\n'
    )


_OUTCOMES = st.tuples(
    st.sampled_from(list(FlowType)),
    st.sampled_from(list(ChatType)),
    st.sampled_from(["predict", "upsert_vector", "create_chatflow"]),
    st.booleans(),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(_OUTCOMES, max_size=25))
def test_counts_equal_a_model_of_flowise_3_1s_rules(
    outcomes: list[tuple[FlowType, ChatType, str, bool]],
) -> None:
    recorder = PrometheusRecorder(service_name="FlowiseAI", version="0")
    subscriber = flowkit.metrics.MetricsSubscriber(recorder).connect()
    expected: Tally[str] = Tally()
    try:
        for flow_type, chat_type, operation, ok in outcomes:
            kind = "agentflow" if flow_type is FlowType.MULTIAGENT else "chatflow"
            name = {
                "predict": f"{kind}_prediction_{chat_type.value.lower()}",
                "upsert_vector": "vector_upserted",
                "create_chatflow": f"{kind}_created",
            }[operation]
            expected[f'{name}{{status="{SUCCESS if ok else FAILURE}",app="FlowiseAI"}}'] += 1
            sender = flow(flow_type)
            if not ok:
                failed(operation, sender, chat_type=chat_type)
                continue
            signal: Any = {
                "predict": signals.prediction_sent,
                "upsert_vector": signals.vector_upserted,
                "create_chatflow": signals.chatflow_created,
            }[operation]
            succeeded(signal, sender, chat_type=chat_type)
    finally:
        subscriber.disconnect()

    found = series(recorder.render().decode())
    counted = {key: value for key, value in found.items() if key.split("{")[0] in COUNTERS}
    assert counted == dict(expected)
