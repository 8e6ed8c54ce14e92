"""The OpenTelemetry provider: the same instruments, read with an in-memory reader."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.metrics import export as otel_metrics

import flowkit.metrics
from flowkit import ChatType, FlowType, Tool, signals
from flowkit.metrics.counting import COUNTERS

from .helpers import failed, flow, succeeded


def _points(reader: Any) -> dict[str, list[tuple[dict[str, Any], Any]]]:
    data = reader.get_metrics_data()
    found: dict[str, list[tuple[dict[str, Any], Any]]] = {}
    for resource_metrics in data.resource_metrics:
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                found[metric.name] = [
                    (dict(point.attributes), point) for point in metric.data.data_points
                ]
    return found


def _install(reader: Any) -> flowkit.metrics.Installation:
    return flowkit.metrics.install(
        enabled=True, provider="open_telemetry", service_name="Acme", metric_reader=reader
    )


def test_counters_carry_flowises_names_and_status_and_app_attributes() -> None:
    reader = otel_metrics.InMemoryMetricReader()
    _install(reader)
    succeeded(signals.chatflow_created, flow())
    succeeded(signals.chatflow_created, flow())
    succeeded(signals.prediction_sent, flow(FlowType.MULTIAGENT), chat_type=ChatType.INTERNAL)
    failed("upsert_vector", "gone", chat_type=ChatType.INTERNAL)

    points = _points(reader)

    assert [(a, p.value) for a, p in points["chatflow_created"]] == [
        ({"status": "success", "app": "Acme"}, 2)
    ]
    assert [(a, p.value) for a, p in points["agentflow_prediction_internal"]] == [
        ({"status": "success", "app": "Acme"}, 1)
    ]
    assert [(a, p.value) for a, p in points["vector_upserted"]] == [
        ({"status": "failure", "app": "Acme"}, 1)
    ]
    assert set(points) - set(COUNTERS) == {
        "flowkit_version_info",
        "flowkit_operation_duration_ms",
    }


def test_duration_histogram_is_in_ms_with_operation_and_status() -> None:
    reader = otel_metrics.InMemoryMetricReader()
    _install(reader)
    succeeded(signals.prediction_sent, flow(), chat_type=ChatType.EXTERNAL, duration=0.25)
    failed("predict", flow(), chat_type=ChatType.EXTERNAL, duration=0.003)

    points = {
        tuple(sorted(a.items())): p for a, p in _points(reader)["flowkit_operation_duration_ms"]
    }

    ok = points[(("operation", "predict"), ("status", "success"))]
    bad = points[(("operation", "predict"), ("status", "failure"))]
    assert (ok.count, ok.sum) == (1, 250)
    assert (bad.count, bad.sum) == (1, 3)
    assert list(ok.explicit_bounds) == list(flowkit.metrics.DURATION_BUCKETS_MS)


def test_version_info_is_one_with_the_version() -> None:
    reader = otel_metrics.InMemoryMetricReader()
    _install(reader)

    [(attributes, point)] = _points(reader)["flowkit_version_info"]

    assert attributes == {"version": flowkit.__version__, "app": "Acme"}
    assert point.value == 1


def test_the_resource_names_the_service() -> None:
    reader = otel_metrics.InMemoryMetricReader()
    _install(reader)
    succeeded(signals.chatflow_created, flow())

    data = reader.get_metrics_data()

    assert data.resource_metrics[0].resource.attributes["service.name"] == "Acme"


def test_counters_are_cumulative_monotonic_sums_of_integers_across_collections() -> None:
    from opentelemetry.sdk.metrics.export import AggregationTemporality, Sum

    reader = otel_metrics.InMemoryMetricReader()
    _install(reader)
    succeeded(signals.tool_created, Tool(name="t", description="d"))
    _points(reader)  # a first collection
    succeeded(signals.tool_created, Tool(name="u", description="d"))

    data = reader.get_metrics_data()
    [metric] = [
        m
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == "tool_created"
    ]
    assert isinstance(metric.data, Sum)
    assert metric.data.is_monotonic
    assert metric.data.aggregation_temporality is AggregationTemporality.CUMULATIVE
    [point] = metric.data.data_points
    assert (dict(point.attributes), point.value, type(point.value)) == (
        {"status": "success", "app": "Acme"},
        2,
        int,
    )
