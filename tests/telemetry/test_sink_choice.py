"""``FLOWKIT_TELEMETRY_SINK`` names the sink: posthog, file, log or otel."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from flowkit.errors import FlowkitError
from flowkit.runtime import retrieval_demo_flow
from flowkit.telemetry import JsonlSink, LoggingSink, PostHogSink, Telemetry, TelemetrySettings
from telemetry.helpers import send_prediction


def made_sink(home: Path, **settings: Any) -> object:
    telemetry = Telemetry(settings=TelemetrySettings(home=home, **settings), synchronous=True)
    return telemetry._make_sink()


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("file", JsonlSink), ("log", LoggingSink), ("LOG", LoggingSink), ("posthog", PostHogSink)],
)
def test_the_variable_names_the_sink(
    kind: str, expected: type, flowkit_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWKIT_TELEMETRY_SINK", kind)

    sink = made_sink(flowkit_home, posthog_api_key="phc_x")

    assert type(sink) is expected


def test_file_wins_over_a_posthog_key(flowkit_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWKIT_TELEMETRY_SINK", "file")

    sink = made_sink(flowkit_home, posthog_api_key="phc_x")

    assert isinstance(sink, JsonlSink)
    assert sink.path == flowkit_home / "telemetry.jsonl"


def test_log_sink_logs_the_wire_events(
    flowkit_home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("FLOWKIT_TELEMETRY_SINK", "log")
    telemetry = Telemetry(settings=TelemetrySettings(home=flowkit_home), synchronous=True)
    telemetry.connect()

    with caplog.at_level(logging.INFO, "flowkit.telemetry.events"):
        send_prediction(retrieval_demo_flow("x"), "c-1")
    telemetry.shutdown()

    assert any('"chatId":"c-1"' in r.getMessage() for r in caplog.records)
    assert not (flowkit_home / "telemetry.jsonl").exists()


def test_otel_uses_the_otel_log_sink(flowkit_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flowkit.telemetry import otel_sink

    monkeypatch.setenv("FLOWKIT_TELEMETRY_SINK", "otel")

    sink = made_sink(flowkit_home)

    assert type(sink) is otel_sink.OTelLogSink


def test_otel_without_the_extra_says_what_to_install(
    flowkit_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWKIT_TELEMETRY_SINK", "otel")
    real_find_spec = __import__("importlib.util").util.find_spec

    def without_otel(name: str, *args: Any) -> Any:
        return None if name.startswith("opentelemetry") else real_find_spec(name, *args)

    monkeypatch.setattr("importlib.util.find_spec", without_otel)

    with pytest.raises(FlowkitError, match=r"pip install 'flowkit\[otel\]'"):
        Telemetry(settings=TelemetrySettings(home=flowkit_home))


def test_an_unknown_sink_is_ignored_with_a_warning(
    flowkit_home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("FLOWKIT_TELEMETRY_SINK", "carrier-pigeon")

    with caplog.at_level(logging.WARNING, "flowkit.telemetry"):
        sink = made_sink(flowkit_home)

    assert isinstance(sink, JsonlSink)
    assert any("FLOWKIT_TELEMETRY_SINK" in r.getMessage() for r in caplog.records)
