"""OTelLogSink: the wire envelope, exactly, as OTLP log records."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime

import pytest
from opentelemetry.sdk._logs import export as logs_export

from flowkit.errors import DeliveryError
from flowkit.telemetry.envelope import TelemetryEvent
from flowkit.telemetry.otel_sink import OTelLogSink
from flowkit.telemetry.sinks import Sink


def _event(name: str = "prediction_sent") -> TelemetryEvent:
    return TelemetryEvent(
        event=name,
        distinct_id="instance-1",
        properties={
            "version": "3.1.4",
            "chatflowId": "flow-1",
            "flowGraph": {"nodes": ["chatOpenAI_0"], "edges": []},
            "subscriptionId": None,
        },
        timestamp=datetime(2026, 12, 7, 6, 30, 1, 250000, tzinfo=UTC),
        uuid="0b6f1d2e-0000-4000-8000-000000000001",
    )


def test_it_is_a_sink() -> None:
    assert isinstance(OTelLogSink(), Sink)


def test_each_event_becomes_one_record_whose_body_is_the_wire_envelope() -> None:
    exporter = logs_export.InMemoryLogRecordExporter()
    sink = OTelLogSink(exporter=exporter)
    events = [_event(), _event("chatflow_created")]

    sink.send(events)

    records = exporter.get_finished_logs()
    assert [r.log_record.body for r in records] == [e.to_wire() for e in events]
    assert [r.log_record.event_name for r in records] == ["prediction_sent", "chatflow_created"]
    assert records[0].log_record.timestamp == 1796625001250000000
    assert [dict(r.log_record.attributes or {}) for r in records] == [{}, {}]


def test_an_empty_batch_sends_nothing() -> None:
    exporter = logs_export.InMemoryLogRecordExporter()

    OTelLogSink(exporter=exporter).send([])

    assert exporter.get_finished_logs() == ()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_collector_is_a_retryable_delivery_error() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1/logs"
    sink = OTelLogSink(endpoint=url, timeout=1)

    started = time.monotonic()
    with pytest.raises(DeliveryError, match="OTLP/HTTP export of 1 telemetry events") as raised:
        sink.send([_event()])

    assert raised.value.retryable is True
    assert time.monotonic() - started < 10
    sink.close()


def test_a_closed_sink_refuses_without_retry() -> None:
    sink = OTelLogSink(exporter=logs_export.InMemoryLogRecordExporter())
    sink.close()
    sink.close()

    with pytest.raises(DeliveryError) as raised:
        sink.send([_event()])

    assert raised.value.retryable is False


def test_nothing_is_built_before_the_first_send() -> None:
    sink = OTelLogSink(endpoint="http://127.0.0.1:9/v1/logs")

    assert sink._exporter is None
    sink.close()
