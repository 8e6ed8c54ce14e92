"""A telemetry sink that exports the anonymized events as OpenTelemetry log records over
OTLP/HTTP (extra ``otel``), so a collector can route them anywhere.

Each event becomes one log record whose body is exactly the event's wire envelope
(``{event, distinctId, properties, timestamp, uuid}``, as a structured map, keys in the
contract's order), whose ``event_name`` is the event's name and whose timestamp is the
event's. Nothing else is added: no attributes, no trace context. The resource says only
``service.name`` (and the SDK's own ``telemetry.sdk.*``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from flowkit.errors import DeliveryError
from flowkit.telemetry.envelope import TelemetryEvent

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import ReadableLogRecord
    from opentelemetry.sdk._logs.export import LogRecordExporter

__all__ = ["OTelLogSink"]


class OTelLogSink:
    """Deliver telemetry batches as OTLP log records (one export request per batch).

    Follows the :class:`~flowkit.telemetry.sinks.Sink` protocol: nothing is imported,
    opened or sent before the first :meth:`send`; a failed export raises
    :class:`~flowkit.errors.DeliveryError` and the telemetry client decides about retrying.

    :param endpoint: the full OTLP/HTTP logs URL (``http://collector:4318/v1/logs``); by
        default the exporter reads ``OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`` or
        ``OTEL_EXPORTER_OTLP_ENDPOINT`` (``http://localhost:4318`` otherwise).
    :param headers: extra request headers (default: ``OTEL_EXPORTER_OTLP_*HEADERS``).
    :param timeout: seconds per export request (default: ``OTEL_EXPORTER_OTLP_*TIMEOUT``).
    :param service_name: the resource's ``service.name``.
    :param exporter: an OpenTelemetry ``LogRecordExporter`` to use instead of OTLP/HTTP
        (tests pass an ``InMemoryLogRecordExporter``).
    """

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        service_name: str = "flowkit",
        exporter: LogRecordExporter | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.headers = dict(headers) if headers is not None else None
        self.timeout = timeout
        self.service_name = service_name
        self._exporter = exporter
        self._lock = threading.Lock()
        self._closed = False

    def _exporter_now(self) -> LogRecordExporter:
        with self._lock:
            if self._exporter is None:
                from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

                self._exporter = OTLPLogExporter(
                    endpoint=self.endpoint, headers=self.headers, timeout=self.timeout
                )
            return self._exporter

    def records(self, batch: Sequence[TelemetryEvent]) -> list[ReadableLogRecord]:
        """Return the log records :meth:`send` exports for ``batch`` (one per event, in order).

        :raises ImportError: when the OpenTelemetry SDK is not installed (extra ``otel``).
        """
        from opentelemetry._logs import LogRecord, SeverityNumber
        from opentelemetry.sdk._logs import ReadableLogRecord
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope

        resource = Resource.create({"service.name": self.service_name})
        scope = InstrumentationScope("flowkit.telemetry")
        out = []
        for event in batch:
            nanos = int(event.timestamp.timestamp() * 1_000_000) * 1000
            record = LogRecord(
                timestamp=nanos,
                observed_timestamp=nanos,
                severity_text="INFO",
                severity_number=SeverityNumber.INFO,
                body=event.to_wire(),
                event_name=event.event,
            )
            out.append(
                ReadableLogRecord(log_record=record, resource=resource, instrumentation_scope=scope)
            )
        return out

    def send(self, batch: Sequence[TelemetryEvent]) -> None:
        """Export ``batch`` as one OTLP request of log records, in order.

        :param batch: the events; an empty batch sends nothing.
        :raises DeliveryError: (retryable) when the export failed (the collector was
            unreachable or refused it); (not retryable) when the sink is closed or an event
            cannot be encoded.
        """
        if not batch:
            return
        if self._closed:
            raise DeliveryError("the OTLP log sink is closed", retryable=False)
        from opentelemetry.sdk._logs.export import LogRecordExportResult

        try:
            records = self.records(batch)
        except Exception as exc:
            raise DeliveryError(
                f"cannot encode {len(batch)} telemetry events as log records: {exc}",
                retryable=False,
            ) from exc
        result = self._exporter_now().export(records)
        if result is not LogRecordExportResult.SUCCESS:
            where = self.endpoint or "the OTEL_EXPORTER_OTLP_* endpoint"
            raise DeliveryError(
                f"the OTLP/HTTP export of {len(batch)} telemetry events to {where} failed",
                retryable=True,
            )

    def close(self) -> None:
        """Shut the exporter down (its connections). Safe to call twice."""
        with self._lock:
            exporter, self._closed = self._exporter, True
            self._exporter = None
        if exporter is not None:
            exporter.shutdown()  # type: ignore[no-untyped-call]

    def __repr__(self) -> str:
        return f"OTelLogSink(endpoint={self.endpoint!r})"
