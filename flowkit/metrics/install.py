"""``install()``: read the settings, build the provider, connect the subscribers.

One installation per process at a time; installing again replaces (and closes) the previous
one. Nothing here imports ``prometheus_client`` or ``opentelemetry`` unless the settings ask
for that provider.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from flowkit.errors import FlowkitError
from flowkit.metrics.counting import MetricsSubscriber
from flowkit.metrics.settings import PROVIDERS, MetricsSettings, Provider, is_http_url

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.export import MetricReader
    from opentelemetry.sdk.trace.export import SpanExporter
    from prometheus_client import CollectorRegistry

    from flowkit.metrics.otel import OTelRecorder
    from flowkit.metrics.prometheus import MetricsServer, PrometheusRecorder
    from flowkit.metrics.traces import TraceRecorder

__all__ = ["Installation", "install", "installed", "status", "uninstall", "wsgi_app"]

logger = logging.getLogger("flowkit.metrics")

_lock = threading.Lock()
_current: Installation | None = None

_StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WSGIApp = Callable[[dict[str, Any], _StartResponse], Iterable[bytes]]


def _flowkit_version() -> str:
    try:
        return version("flowkit")
    except PackageNotFoundError:  # pragma: no cover - a bare source tree
        return "0+unknown"


class Installation:
    """What :func:`install` connected: a metrics provider, an endpoint, traces (each optional).

    :ivar settings: the settings in force.
    :ivar recorder: the :class:`~flowkit.metrics.prometheus.PrometheusRecorder` or
        :class:`~flowkit.metrics.otel.OTelRecorder`; ``None`` when metrics are off.
    :ivar server: the ``/metrics`` endpoint when one was started.
    :ivar traces: the :class:`~flowkit.metrics.traces.TraceRecorder` when traces are on.
    """

    def __init__(
        self,
        settings: MetricsSettings,
        recorder: PrometheusRecorder | OTelRecorder | None,
        server: MetricsServer | None,
        traces: TraceRecorder | None,
    ) -> None:
        self.settings = settings
        self.recorder = recorder
        self.server = server
        self.traces = traces
        self.subscriber = MetricsSubscriber(recorder).connect() if recorder is not None else None
        if traces is not None:
            traces.connect()

    @property
    def metrics_on(self) -> bool:
        """Whether metrics are being counted."""
        return self.recorder is not None

    @property
    def traces_on(self) -> bool:
        """Whether spans are being made."""
        return self.traces is not None

    def render(self) -> bytes:
        """Return the Prometheus exposition text (Flowise's series names).

        :raises FlowkitError: when the provider is not Prometheus (or metrics are off).
        """
        from flowkit.metrics.prometheus import PrometheusRecorder

        if not isinstance(self.recorder, PrometheusRecorder):
            raise FlowkitError(
                "no Prometheus metrics installed: call flowkit.metrics.install(enabled=True, "
                "provider='prometheus') or set ENABLE_METRICS=true"
            )
        return self.recorder.render()

    def flush(self) -> None:
        """Export pending OpenTelemetry metrics and spans now (Prometheus is pulled)."""
        from flowkit.metrics.otel import OTelRecorder

        if isinstance(self.recorder, OTelRecorder):
            self.recorder.flush()
        if self.traces is not None:
            self.traces.flush()

    def close(self) -> None:
        """Disconnect the subscribers, stop the endpoint, export and stop OpenTelemetry.
        Safe to call twice; never raises (a failure is logged)."""
        try:
            if self.subscriber is not None:
                self.subscriber.disconnect()
            if self.server is not None:
                self.server.close()
            if self.traces is not None:
                self.traces.close()
            close = getattr(self.recorder, "close", None)
            if close is not None:
                close()
        except Exception:
            logger.exception("metrics: closing failed")

    def __repr__(self) -> str:
        metrics = self.settings.provider if self.metrics_on else "off"
        endpoint = f", endpoint={self.server.url}" if self.server is not None else ""
        return f"Installation(metrics={metrics}{endpoint}, traces={self.traces_on})"


def install(
    *,
    enabled: bool | None = None,
    provider: Provider | None = None,
    service_name: str | None = None,
    port: int | None = None,
    host: str | None = None,
    traces: bool | None = None,
    otlp_endpoint: str | None = None,
    registry: CollectorRegistry | None = None,
    metric_reader: MetricReader | None = None,
    span_exporter: SpanExporter | None = None,
    environ: Mapping[str, str] | None = None,
) -> Installation:
    """Count Flowise's metrics (and make spans) for every flowkit operation from now on.

    Reads ``ENABLE_METRICS``, ``METRICS_PROVIDER``, ``METRICS_SERVICE_NAME``,
    ``METRICS_OPEN_TELEMETRY_*``, ``FLOWKIT_METRICS_PORT``, ``FLOWKIT_METRICS_HOST`` and
    ``FLOWKIT_TRACES`` (see
    :class:`~flowkit.metrics.settings.MetricsSettings`); each argument given overrides its
    variable. Replaces (and closes) an earlier installation.

    :param enabled: count metrics (``ENABLE_METRICS``).
    :param provider: ``"prometheus"`` or ``"open_telemetry"`` (``METRICS_PROVIDER``).
    :param service_name: the ``app`` label (``METRICS_SERVICE_NAME``, default ``FlowiseAI``).
    :param port: start a Prometheus endpoint at ``/metrics`` on this port (``0``: any free
        port); none is started when neither this nor ``FLOWKIT_METRICS_PORT`` is set.
    :param host: the endpoint's address (default ``127.0.0.1``).
    :param traces: make spans (``FLOWKIT_TRACES``), exported over OTLP/HTTP.
    :param otlp_endpoint: the full OTLP/HTTP URL OpenTelemetry metrics are pushed to
        (``METRICS_OPEN_TELEMETRY_METRIC_ENDPOINT``, e.g. ``http://collector:4318/v1/metrics``);
        by default the ``OTEL_EXPORTER_OTLP_*`` variables decide.
    :param registry: the prometheus-client registry to use (a new one by default).
    :param metric_reader: the OpenTelemetry metric reader (an OTLP/HTTP periodic reader by
        default).
    :param span_exporter: the OpenTelemetry span exporter (OTLP/HTTP, batched, by default).
    :param environ: the variables to read instead of ``os.environ``.
    :returns: the :class:`Installation` (also :func:`installed`).
    :raises FlowkitError: when ``provider`` is not a known provider, or ``otlp_endpoint`` is
        not an ``http://`` or ``https://`` URL.
    :raises ImportError: when the provider's extra (``prometheus`` or ``otel``) is missing.
    :raises OSError: when the endpoint's port cannot be bound.
    """
    if provider is not None and provider not in PROVIDERS:
        raise FlowkitError(f"unknown metrics provider {provider!r}: use one of {PROVIDERS}")
    if otlp_endpoint is not None and not is_http_url(otlp_endpoint):
        raise FlowkitError(
            "otlp_endpoint must be an http:// or https:// URL, such as "
            "'http://localhost:4318/v1/metrics'"
        )
    base = MetricsSettings.from_env(environ)
    settings = MetricsSettings(
        enabled=base.enabled if enabled is None else enabled,
        provider=base.provider if provider is None else provider,
        service_name=base.service_name if service_name is None else service_name,
        port=base.port if port is None else port,
        host=base.host if host is None else host,
        traces=base.traces if traces is None else traces,
        otlp_endpoint=base.otlp_endpoint if otlp_endpoint is None else otlp_endpoint,
        otlp_debug=base.otlp_debug,
        problems=base.problems,
    )
    for problem in settings.problems:
        logger.warning("metrics: %s", problem)
    uninstall()
    recorder: PrometheusRecorder | OTelRecorder | None = None
    server: MetricsServer | None = None
    trace_recorder: TraceRecorder | None = None
    current_version = _flowkit_version()
    try:
        if settings.enabled and settings.provider == "prometheus":
            from flowkit.metrics.prometheus import MetricsServer, PrometheusRecorder

            recorder = PrometheusRecorder(
                service_name=settings.service_name, version=current_version, registry=registry
            )
            if settings.port is not None:
                server = MetricsServer(recorder, settings.host, settings.port)
        elif settings.enabled:
            from flowkit.metrics.otel import OTelRecorder

            recorder = OTelRecorder(
                service_name=settings.service_name,
                version=current_version,
                reader=metric_reader,
                endpoint=settings.otlp_endpoint,
                debug=settings.otlp_debug,
            )
        if settings.traces:
            from flowkit.metrics.traces import TraceRecorder

            trace_recorder = TraceRecorder(
                service_name=settings.service_name, exporter=span_exporter
            )
    except BaseException:
        if server is not None:
            server.close()
        raise
    installation = Installation(settings, recorder, server, trace_recorder)
    global _current
    with _lock:
        _current = installation
    return installation


def installed() -> Installation | None:
    """Return the current installation, or ``None``."""
    return _current


def uninstall() -> None:
    """Close the current installation, if any (subscribers, endpoint, exporters)."""
    global _current
    with _lock:
        current, _current = _current, None
    if current is not None:
        current.close()


def wsgi_app() -> WSGIApp:
    """Return a WSGI app serving the installed Prometheus metrics (mount it at ``/metrics``).

    The app looks the installation up on each request: it answers 503 while no Prometheus
    metrics are installed, so it can be mounted before :func:`install` runs.
    """

    def app(environ: dict[str, Any], start_response: _StartResponse) -> Iterable[bytes]:
        from flowkit.metrics.prometheus import PrometheusRecorder

        current = _current
        recorder = current.recorder if current is not None else None
        if not isinstance(recorder, PrometheusRecorder):
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"flowkit metrics are not installed (ENABLE_METRICS=true)\n"]
        return recorder.wsgi_app()(environ, start_response)

    return app


def status(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Say whether metrics and traces are on, and how, for ``flowkit telemetry status``.

    Describes this process's installation when there is one, else what :func:`install`
    would do with the environment. Imports no extra, opens nothing.

    :returns: ``{"metrics": "...", "traces": "..."}``, one sentence each.
    """
    current = _current
    settings = current.settings if current is not None else MetricsSettings.from_env(environ)
    metrics_on = current.metrics_on if current is not None else settings.enabled
    traces_on = current.traces_on if current is not None else settings.traces
    if metrics_on:
        how = f"on ({settings.provider}, app={settings.service_name!r}"
        if settings.provider == "prometheus":
            if current is not None and current.server is not None:
                how += f", endpoint {current.server.url}"
            elif settings.port is not None:
                how += f", endpoint http://{settings.host}:{settings.port}/metrics"
            else:
                how += ", no endpoint: mount flowkit.metrics.wsgi_app() or set FLOWKIT_METRICS_PORT"
        elif settings.otlp_endpoint is not None:
            how += f", OTLP/HTTP to {_without_credentials(settings.otlp_endpoint)}"
        else:
            how += ", OTLP/HTTP to the OTEL_EXPORTER_OTLP_* endpoint"
        metrics = how + ")"
    else:
        metrics = "off (set ENABLE_METRICS=true to count Flowise's metrics)"
    for problem in settings.problems:
        metrics += f"; {problem}"
    traces = (
        "on (OTLP/HTTP to the OTEL_EXPORTER_OTLP_* endpoint)"
        if traces_on
        else "off (set FLOWKIT_TRACES=true to export spans)"
    )
    return {"metrics": metrics, "traces": traces}


def _without_credentials(url: str) -> str:
    """``url`` without a ``user:password@`` part, for showing on a terminal."""
    scheme, _, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    return f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"
