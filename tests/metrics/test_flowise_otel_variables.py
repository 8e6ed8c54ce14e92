"""Flowise's own OpenTelemetry variables: ``METRICS_OPEN_TELEMETRY_METRIC_ENDPOINT``,
``..._PROTOCOL`` and ``..._DEBUG``, read as a Flowise server reads them, with metrics pushed to
a real OTLP/HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from hypothesis import given
from hypothesis import strategies as st
from otlp_receiver import OTLPReceiver

import flowkit.metrics
from flowkit import Workspace
from flowkit.errors import FlowkitError
from flowkit.metrics import MetricsSettings
from flowkit.runtime import retrieval_demo_flow

SECRET = "S3CR3T"
OTEL_ON = {"ENABLE_METRICS": "true", "METRICS_PROVIDER": "open_telemetry"}


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    server = OTLPReceiver()
    try:
        yield server
    finally:
        server.close()


def test_flowises_variables_set_the_endpoint_and_debug() -> None:
    settings = MetricsSettings.from_env(
        {
            **OTEL_ON,
            "METRICS_OPEN_TELEMETRY_METRIC_ENDPOINT": " http://collector:4318/v1/metrics ",
            "METRICS_OPEN_TELEMETRY_PROTOCOL": "PROTO",
            "METRICS_OPEN_TELEMETRY_DEBUG": "true",
        }
    )

    assert settings.enabled is True
    assert settings.otlp_endpoint == "http://collector:4318/v1/metrics"
    assert settings.otlp_debug is True
    assert settings.problems == ()


def test_without_them_the_standard_otel_variables_decide() -> None:
    settings = MetricsSettings.from_env(OTEL_ON)

    assert (settings.enabled, settings.otlp_endpoint, settings.otlp_debug) == (True, None, False)


def test_grpc_turns_metrics_off_and_says_what_to_set_instead() -> None:
    settings = MetricsSettings.from_env({**OTEL_ON, "METRICS_OPEN_TELEMETRY_PROTOCOL": "grpc"})

    assert settings.enabled is False
    [problem] = settings.problems
    assert "'grpc' is not supported" in problem
    assert "4318" in problem


def test_the_protocol_matters_only_to_the_open_telemetry_provider() -> None:
    settings = MetricsSettings.from_env(
        {"ENABLE_METRICS": "true", "METRICS_OPEN_TELEMETRY_PROTOCOL": "grpc"}
    )

    assert (settings.enabled, settings.provider, settings.problems) == (True, "prometheus", ())


@pytest.mark.parametrize(
    "endpoint",
    [f"ftp://user:{SECRET}@collector/v1/metrics", f"collector:4318/{SECRET}", "http://"],
)
def test_an_endpoint_that_is_not_an_http_url_turns_metrics_off_without_echoing_it(
    endpoint: str,
) -> None:
    settings = MetricsSettings.from_env(
        {**OTEL_ON, "METRICS_OPEN_TELEMETRY_METRIC_ENDPOINT": endpoint}
    )

    assert settings.enabled is False
    assert settings.otlp_endpoint is None  # never handed to an exporter
    [problem] = settings.problems
    assert "METRICS_OPEN_TELEMETRY_METRIC_ENDPOINT is not an http:// or https:// URL" in problem
    assert SECRET not in problem


@given(st.text(max_size=10))
def test_any_protocol_text_never_raises(raw: str) -> None:
    settings = MetricsSettings.from_env({**OTEL_ON, "METRICS_OPEN_TELEMETRY_PROTOCOL": raw})

    usable = raw.strip().lower() in ("", "http", "proto")
    assert settings.enabled is usable
    assert len(settings.problems) == (0 if usable else 1)


def test_install_refuses_an_otlp_endpoint_argument_that_is_not_an_http_url() -> None:
    with pytest.raises(FlowkitError, match="otlp_endpoint must be an http:// or https:// URL"):
        flowkit.metrics.install(enabled=True, provider="open_telemetry", otlp_endpoint="collector")

    assert flowkit.metrics.installed() is None


def test_status_names_the_endpoint_without_its_credentials() -> None:
    env = {
        **OTEL_ON,
        "METRICS_OPEN_TELEMETRY_METRIC_ENDPOINT": f"https://ops:{SECRET}@collector:4318/v1/metrics",
    }

    line = flowkit.metrics.status(env)["metrics"]

    assert "OTLP/HTTP to https://collector:4318/v1/metrics" in line
    assert SECRET not in line


def _sums(received: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], int]:
    """The last export's counter values, by name and attributes (cumulative temporality)."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
    for request in received.requests["/v1/metrics"]:
        for resource in MessageToDict(request).get("resourceMetrics", []):
            for scope in resource.get("scopeMetrics", []):
                for metric in scope.get("metrics", []):
                    for point in metric.get("sum", {}).get("dataPoints", []):
                        attributes = tuple(
                            sorted(
                                (a["key"], next(iter(a["value"].values())))
                                for a in point.get("attributes", [])
                            )
                        )
                        found[(metric["name"], attributes)] = int(point["asInt"])
    return found


def test_metrics_go_to_flowises_endpoint_variable_not_the_otel_default(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in OTEL_ON.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("METRICS_SERVICE_NAME", "Acme")
    monkeypatch.setenv(
        "METRICS_OPEN_TELEMETRY_METRIC_ENDPOINT", f"{receiver.endpoint}/otel/v1/metrics"
    )
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"{receiver.endpoint}/ignored")
    installation = flowkit.metrics.install()
    workspace = Workspace()
    flow = workspace.create_chatflow(retrieval_demo_flow("Doors open at eight.", name="office"))
    workspace.upsert_vector(flow)
    workspace.predict(flow, "When do doors open?")

    installation.close()  # exports what is left

    assert receiver.received.paths, "nothing arrived"
    assert set(receiver.received.paths) == {"/otel/v1/metrics"}
    sums = _sums(receiver.received)
    labels = (("app", "Acme"), ("status", "success"))
    assert sums[("chatflow_created", labels)] == 1
    assert sums[("vector_upserted", labels)] == 1
    assert sums[("chatflow_prediction_external", labels)] == 1


def test_debug_logs_the_sdks_messages_to_stderr_while_installed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    sdk_logger = logging.getLogger("opentelemetry")
    level_before, handlers_before = sdk_logger.level, list(sdk_logger.handlers)
    monkeypatch.setenv("METRICS_OPEN_TELEMETRY_DEBUG", "true")
    monkeypatch.setenv("METRICS_OPEN_TELEMETRY_METRIC_ENDPOINT", "http://127.0.0.1:9/v1/metrics")
    installation = flowkit.metrics.install(
        enabled=True, provider="open_telemetry", metric_reader=InMemoryMetricReader()
    )
    logging.getLogger("opentelemetry.sdk.metrics").debug("a debug line")

    installation.close()
    logging.getLogger("opentelemetry.sdk.metrics").debug("after close")

    err = capsys.readouterr().err
    assert "opentelemetry.sdk.metrics DEBUG a debug line" in err
    assert "after close" not in err
    assert (sdk_logger.level, sdk_logger.handlers) == (level_before, handlers_before)
