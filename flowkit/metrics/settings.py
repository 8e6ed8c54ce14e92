"""What :func:`flowkit.metrics.install` reads from the environment, as Flowise names it.

Flowise's own variables (``ENABLE_METRICS``, ``METRICS_PROVIDER``, ``METRICS_SERVICE_NAME``,
and for OpenTelemetry ``METRICS_OPEN_TELEMETRY_METRIC_ENDPOINT``,
``METRICS_OPEN_TELEMETRY_PROTOCOL`` and ``METRICS_OPEN_TELEMETRY_DEBUG``) plus flowkit's
(``FLOWKIT_METRICS_PORT``, ``FLOWKIT_METRICS_HOST``, ``FLOWKIT_TRACES``). Without Flowise's
endpoint variable the OpenTelemetry exporters read the standard ``OTEL_EXPORTER_OTLP_*``
variables themselves.
Reading settings imports no extra, opens nothing and never raises for a value it does not
understand: a bad value turns the feature off and says why in :attr:`MetricsSettings.problems`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "DEFAULT_SERVICE_NAME",
    "OTLP_PROTOCOLS",
    "PROVIDERS",
    "MetricsSettings",
    "Provider",
    "is_http_url",
]

Provider = Literal["prometheus", "open_telemetry"]
PROVIDERS: tuple[Provider, ...] = ("prometheus", "open_telemetry")
"""The values ``METRICS_PROVIDER`` takes, as Flowise spells them."""

DEFAULT_SERVICE_NAME = "FlowiseAI"
"""The ``app`` label when ``METRICS_SERVICE_NAME`` is not set (Flowise's default)."""

OTLP_PROTOCOLS: tuple[str, ...] = ("http", "proto")
"""The ``METRICS_OPEN_TELEMETRY_PROTOCOL`` values flowkit exports with: both are OTLP/HTTP
with protobuf bodies, which every collector's HTTP receiver (port 4318) takes. Flowise's
third value, ``grpc``, is refused with a problem (flowkit ships no gRPC exporter)."""

_TRUE = frozenset({"true", "1", "yes", "on"})


def _flag(value: str | None) -> bool:
    return value is not None and value.strip().lower() in _TRUE


@dataclass(frozen=True)
class MetricsSettings:
    """The metrics and traces settings, resolved.

    :param enabled: whether metrics are counted (``ENABLE_METRICS=true``).
    :param provider: ``"prometheus"`` or ``"open_telemetry"`` (``METRICS_PROVIDER``).
    :param service_name: the ``app`` label and OpenTelemetry ``service.name``.
    :param port: where the Prometheus endpoint listens (``FLOWKIT_METRICS_PORT``; ``0`` picks
        a free port); ``None`` starts no endpoint (mount :func:`~flowkit.metrics.wsgi_app`).
    :param host: the endpoint's address (``FLOWKIT_METRICS_HOST``, default ``127.0.0.1``).
    :param traces: whether spans are made (``FLOWKIT_TRACES=true``).
    :param otlp_endpoint: the full OTLP/HTTP metrics URL
        (``METRICS_OPEN_TELEMETRY_METRIC_ENDPOINT``, e.g. ``http://collector:4318/v1/metrics``);
        ``None`` leaves it to ``OTEL_EXPORTER_OTLP_*``.
    :param otlp_debug: log the OpenTelemetry SDK's debug messages to standard error
        (``METRICS_OPEN_TELEMETRY_DEBUG=true``).
    :param problems: why a value was ignored, one sentence each.
    """

    enabled: bool = False
    provider: Provider = "prometheus"
    service_name: str = DEFAULT_SERVICE_NAME
    port: int | None = None
    host: str = "127.0.0.1"
    traces: bool = False
    otlp_endpoint: str | None = None
    otlp_debug: bool = False
    problems: tuple[str, ...] = field(default=())

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MetricsSettings:
        """Read the settings from ``environ`` (``os.environ`` when ``None``).

        :returns: the settings; unknown providers and bad ports are listed in ``problems``
            and turn metrics off (provider) or the endpoint off (port), as do, for the
            ``open_telemetry`` provider, an endpoint that is not an ``http(s)://`` URL and a
            protocol other than ``http`` or ``proto``. Never raises.
        """
        env = os.environ if environ is None else environ
        problems: list[str] = []
        enabled = _flag(env.get("ENABLE_METRICS"))
        raw_provider = (env.get("METRICS_PROVIDER") or "prometheus").strip().lower()
        provider: Provider = "prometheus"
        if raw_provider in PROVIDERS:
            provider = "prometheus" if raw_provider == "prometheus" else "open_telemetry"
        else:
            problems.append(
                f"METRICS_PROVIDER={raw_provider!r} is not one of {', '.join(PROVIDERS)}: "
                "metrics are off"
            )
            enabled = False
        port: int | None = None
        raw_port = (env.get("FLOWKIT_METRICS_PORT") or "").strip()
        if raw_port:
            if raw_port.isascii() and raw_port.isdigit() and int(raw_port) <= 65535:
                port = int(raw_port)
            else:
                problems.append(
                    f"FLOWKIT_METRICS_PORT={raw_port!r} is not a port number (0-65535): "
                    "no endpoint is started"
                )
        endpoint = (env.get("METRICS_OPEN_TELEMETRY_METRIC_ENDPOINT") or "").strip() or None
        problem = _otlp_problem(endpoint, env.get("METRICS_OPEN_TELEMETRY_PROTOCOL"))
        if problem is not None:
            if endpoint is not None and not is_http_url(endpoint):
                endpoint = None  # never handed to an exporter, whatever else is set
            if provider == "open_telemetry" and enabled:
                problems.append(problem)
                enabled = False
        return cls(
            enabled=enabled,
            provider=provider,
            service_name=(env.get("METRICS_SERVICE_NAME") or "").strip() or DEFAULT_SERVICE_NAME,
            port=port,
            host=(env.get("FLOWKIT_METRICS_HOST") or "").strip() or "127.0.0.1",
            traces=_flag(env.get("FLOWKIT_TRACES")),
            otlp_endpoint=endpoint,
            otlp_debug=_flag(env.get("METRICS_OPEN_TELEMETRY_DEBUG")),
            problems=tuple(problems),
        )


def _otlp_problem(endpoint: str | None, raw_protocol: str | None) -> str | None:
    """Why Flowise's OpenTelemetry variables cannot be used, or ``None`` when they can."""
    protocol = (raw_protocol or "").strip().lower() or "http"
    if protocol == "grpc":
        return (
            "METRICS_OPEN_TELEMETRY_PROTOCOL='grpc' is not supported: flowkit exports OTLP "
            "over HTTP; set it to http and point METRICS_OPEN_TELEMETRY_METRIC_ENDPOINT at the "
            "collector's HTTP receiver (port 4318, path /v1/metrics): metrics are off"
        )
    if protocol not in OTLP_PROTOCOLS:
        return (
            f"METRICS_OPEN_TELEMETRY_PROTOCOL={protocol!r} is not one of http, proto: "
            "metrics are off"
        )
    if endpoint is not None and not is_http_url(endpoint):
        # The value is not repeated: a URL may carry credentials, and problems are logged.
        return (
            "METRICS_OPEN_TELEMETRY_METRIC_ENDPOINT is not an http:// or https:// URL "
            "(e.g. http://localhost:4318/v1/metrics): metrics are off"
        )
    return None


def is_http_url(text: str) -> bool:
    """Whether ``text`` is an ``http://`` or ``https://`` URL with a host."""
    scheme, sep, rest = text.partition("://")
    return bool(sep) and scheme.lower() in ("http", "https") and bool(rest.split("/", 1)[0])
