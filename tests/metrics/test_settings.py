"""Reading the metrics settings from Flowise's variables, and the status lines."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

import flowkit.metrics
from flowkit.errors import FlowkitError
from flowkit.metrics import MetricsSettings


def test_defaults_are_flowises_metrics_off_prometheus_flowiseai() -> None:
    settings = MetricsSettings.from_env({})

    assert settings == MetricsSettings(
        enabled=False, provider="prometheus", service_name="FlowiseAI", port=None, traces=False
    )


def test_flowise_variables_are_read() -> None:
    settings = MetricsSettings.from_env(
        {
            "ENABLE_METRICS": "true",
            "METRICS_PROVIDER": "open_telemetry",
            "METRICS_SERVICE_NAME": "Acme",
            "FLOWKIT_METRICS_PORT": "9464",
            "FLOWKIT_METRICS_HOST": "0.0.0.0",
            "FLOWKIT_TRACES": "TRUE",
        }
    )

    assert (settings.enabled, settings.provider, settings.service_name) == (
        True,
        "open_telemetry",
        "Acme",
    )
    assert (settings.port, settings.host, settings.traces) == (9464, "0.0.0.0", True)


def test_unknown_provider_turns_metrics_off_and_says_why() -> None:
    settings = MetricsSettings.from_env({"ENABLE_METRICS": "true", "METRICS_PROVIDER": "statsd"})

    assert settings.enabled is False
    assert "METRICS_PROVIDER='statsd'" in settings.problems[0]


@given(st.text(max_size=12))
def test_any_port_text_never_raises(raw: str) -> None:
    settings = MetricsSettings.from_env({"FLOWKIT_METRICS_PORT": raw})

    stripped = raw.strip()
    valid = stripped.isdigit() and stripped.isascii() and int(stripped) <= 65535
    assert settings.port == (int(stripped) if valid else None)
    assert bool(settings.problems) == (bool(stripped) and not valid)


def test_install_rejects_an_unknown_provider_argument() -> None:
    with pytest.raises(FlowkitError, match="unknown metrics provider 'statsd'"):
        flowkit.metrics.install(enabled=True, provider="statsd")  # type: ignore[arg-type]


def test_status_says_off_by_default_and_how_to_turn_on() -> None:
    assert flowkit.metrics.status({}) == {
        "metrics": "off (set ENABLE_METRICS=true to count Flowise's metrics)",
        "traces": "off (set FLOWKIT_TRACES=true to export spans)",
    }


def test_status_describes_the_environment_before_install() -> None:
    found = flowkit.metrics.status(
        {"ENABLE_METRICS": "true", "FLOWKIT_METRICS_PORT": "9464", "FLOWKIT_TRACES": "1"}
    )

    assert found["metrics"] == (
        "on (prometheus, app='FlowiseAI', endpoint http://127.0.0.1:9464/metrics)"
    )
    assert found["traces"].startswith("on (OTLP/HTTP")


def test_status_describes_the_running_installation() -> None:
    metrics = flowkit.metrics.install(enabled=True, port=0)
    assert metrics.server is not None

    assert flowkit.metrics.status({})["metrics"].endswith(f"endpoint {metrics.server.url})")


def test_importing_flowkit_metrics_imports_no_extra() -> None:
    code = (
        "import sys, flowkit.metrics\n"
        "flowkit.metrics.status()\n"
        "extras = ('prometheus_client', 'opentelemetry')\n"
        "loaded = [m for m in sys.modules if m.startswith(extras)]\n"
        "print(loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )

    assert done.stdout.strip() == "[]"


def test_flowkit_telemetry_status_says_whether_metrics_and_traces_are_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from flowkit.cli import main

    monkeypatch.setenv("ENABLE_METRICS", "true")
    monkeypatch.setenv("METRICS_PROVIDER", "open_telemetry")

    assert main(["telemetry", "status"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert "Metrics: on (open_telemetry, app='FlowiseAI', OTLP/HTTP to the " in "\n".join(lines)
    assert lines[-1] == "Traces: off (set FLOWKIT_TRACES=true to export spans)"
