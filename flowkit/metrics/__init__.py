"""Flowise's metrics for flowkit: Prometheus or OpenTelemetry counters with Flowise's names and
labels, an operation-duration histogram, and (opt-in) traces.

Nothing is imported from ``prometheus_client`` or ``opentelemetry`` until :func:`install`
needs it (extras ``prometheus`` and ``otel``)::

    import flowkit.metrics

    metrics = flowkit.metrics.install(enabled=True, port=9464)  # or ENABLE_METRICS=true
    # ... http://127.0.0.1:9464/metrics shows chatflow_created{status="success",app="FlowiseAI"}
"""

from __future__ import annotations

from flowkit.metrics.counting import (
    COUNTERS,
    DURATION_BUCKETS_MS,
    DURATION_HISTOGRAM,
    VERSION_GAUGE,
    MetricsSubscriber,
    Recorder,
)
from flowkit.metrics.install import Installation, install, installed, status, uninstall, wsgi_app
from flowkit.metrics.settings import MetricsSettings

__all__ = [
    "COUNTERS",
    "DURATION_BUCKETS_MS",
    "DURATION_HISTOGRAM",
    "VERSION_GAUGE",
    "Installation",
    "MetricsSettings",
    "MetricsSubscriber",
    "Recorder",
    "install",
    "installed",
    "status",
    "uninstall",
    "wsgi_app",
]
