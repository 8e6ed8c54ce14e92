"""Flowise's counters as OpenTelemetry instruments (extra ``otel``), exported over OTLP/HTTP.

The same names as the Prometheus provider: the ten Flowise counters with ``status`` and
``app`` attributes, ``flowkit_version_info`` (an observable gauge, ``1`` with a ``version``
attribute) and ``flowkit_operation_duration_ms`` (a histogram in ``ms`` with ``operation`` and
``status``). The meter provider is flowkit's own (the global one is left alone), its resource's
``service.name`` is the service name. The counters are observable: flowkit counts them itself
(:mod:`flowkit.metrics.series`, one lock per operation) and the reader collects them, so an
operation does not pay the SDK's per-call attribute handling for them; what is exported is
the same cumulative, monotonic sum. By default a periodic reader pushes to the OTLP/HTTP
endpoint given (Flowise's ``METRICS_OPEN_TELEMETRY_METRIC_ENDPOINT``), else to the one the
standard ``OTEL_EXPORTER_OTLP_*`` variables name.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from flowkit.metrics.counting import (
    COUNTERS,
    DURATION_BUCKETS_MS,
    DURATION_HISTOGRAM,
    VERSION_GAUGE,
)
from flowkit.metrics.series import SeriesCollector

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, Observation
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricReader

__all__ = ["OTelRecorder"]

_COUNTER_LABELS = ("status", "app")


class OTelRecorder:
    """Flowise's counters and the duration histogram on an OpenTelemetry meter.

    :param service_name: the ``app`` attribute and the resource's ``service.name``.
    :param version: the ``version`` attribute of ``flowkit_version_info``.
    :param reader: the metric reader; by default a ``PeriodicExportingMetricReader`` over an
        ``OTLPMetricExporter`` (which reads ``OTEL_EXPORTER_OTLP_*``; the interval is
        ``OTEL_METRIC_EXPORT_INTERVAL``). Tests pass an ``InMemoryMetricReader``.
    :param endpoint: the full OTLP/HTTP metrics URL for the default reader's exporter (e.g.
        ``http://collector:4318/v1/metrics``); ``None`` leaves it to ``OTEL_EXPORTER_OTLP_*``.
        Ignored when ``reader`` is given.
    :param debug: while the recorder is open, log the OpenTelemetry SDK's own messages at
        ``DEBUG`` to standard error (Flowise's ``METRICS_OPEN_TELEMETRY_DEBUG``).
    :raises ImportError: when the OpenTelemetry SDK is not installed (extra ``otel``).
    """

    def __init__(
        self,
        *,
        service_name: str,
        version: str,
        reader: MetricReader | None = None,
        endpoint: str | None = None,
        debug: bool = False,
    ) -> None:
        from opentelemetry.metrics import Observation
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.resources import Resource

        if reader is None:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                OTLPMetricExporter,
            )
            from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

            reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=endpoint))
        self._debug = _DebugLog() if debug else None
        self.reader = reader
        self.provider: MeterProvider = MeterProvider(
            metric_readers=[reader], resource=Resource.create({"service.name": service_name})
        )
        meter = self.provider.get_meter("flowkit")
        # The counters are counted here (one lock per operation, as for Prometheus) and
        # observed when the reader collects: the SDK's synchronous counter cleans and hashes
        # its attributes on every add, about 6 us. Exported the same: a cumulative,
        # monotonic sum of integers per series.
        self._series = SeriesCollector(
            counters=COUNTERS,
            counter_labels=_COUNTER_LABELS,
            histogram=DURATION_HISTOGRAM,
            histogram_doc="",
            histogram_labels=("operation", "status"),
            buckets=DURATION_BUCKETS_MS,
        )
        for name, doc in COUNTERS.items():
            meter.create_observable_counter(
                name, callbacks=[self._observer(name, Observation)], unit="1", description=doc
            )
        self._histogram = meter.create_histogram(
            DURATION_HISTOGRAM,
            unit="ms",
            description="Duration of flowkit operations in ms",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS_MS),
        )
        version_attributes = {"version": version, "app": service_name}

        def version_info(options: CallbackOptions) -> Iterable[Observation]:
            return [Observation(1, version_attributes)]

        meter.create_observable_gauge(
            VERSION_GAUGE, callbacks=[version_info], description="flowkit version info."
        )
        self._app = service_name
        self._closed = False

    def _observer(
        self, counter: str, observation: type[Observation]
    ) -> Callable[[CallbackOptions], Iterable[Observation]]:
        series = self._series

        def observe(options: CallbackOptions) -> Iterable[Observation]:
            return [
                observation(int(count), dict(zip(_COUNTER_LABELS, values, strict=True)))
                for values, count in series.counter_values(counter).items()
            ]

        return observe

    def bind(self, counter: str | None, operation: str, status: str) -> Callable[[float], None]:
        """Return ``record(milliseconds)`` for one outcome, its attributes made once (see
        :class:`~flowkit.metrics.Recorder`). :raises KeyError: for an unknown counter."""
        histogram = self._histogram.record
        attributes = {"operation": operation, "status": status}
        if counter is None:

            def observe(milliseconds: float) -> None:
                histogram(milliseconds, attributes)

            return observe
        add = self._series.recorder(counter, (status, self._app), None)

        def record(milliseconds: float) -> None:
            add(milliseconds)
            histogram(milliseconds, attributes)

        return record

    def flush(self, timeout_millis: float = 10_000) -> bool:
        """Export what has been recorded now. :returns: whether the export succeeded."""
        return bool(self.provider.force_flush(timeout_millis))

    def close(self) -> None:
        """Export what is left and stop the reader. Safe to call twice."""
        if not self._closed:
            self._closed = True
            try:
                self.provider.shutdown()
            finally:
                if self._debug is not None:
                    self._debug.close()


class _DebugLog:
    """A standard-error handler at ``DEBUG`` on the ``opentelemetry`` logger, until closed."""

    def __init__(self) -> None:
        self.logger = logging.getLogger("opentelemetry")
        self.level = self.logger.level
        self.handler = logging.StreamHandler(sys.stderr)
        self.handler.setFormatter(
            logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s")
        )
        self.logger.addHandler(self.handler)
        self.logger.setLevel(logging.DEBUG)

    def close(self) -> None:
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self.level)
