"""What :func:`flowkit.metrics.install` reads from the environment, as Flowise names it.

Flowise's own variables (``ENABLE_METRICS``, ``METRICS_PROVIDER``, ``METRICS_SERVICE_NAME``)
plus flowkit's (``FLOWKIT_METRICS_PORT``, ``FLOWKIT_METRICS_HOST``, ``FLOWKIT_TRACES``). The
OpenTelemetry exporters read the standard ``OTEL_EXPORTER_OTLP_*`` variables themselves.
Reading settings imports no extra, opens nothing and never raises for a value it does not
understand: a bad value turns the feature off and says why in :attr:`MetricsSettings.problems`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["DEFAULT_SERVICE_NAME", "PROVIDERS", "MetricsSettings", "Provider"]

Provider = Literal["prometheus", "open_telemetry"]
PROVIDERS: tuple[Provider, ...] = ("prometheus", "open_telemetry")
"""The values ``METRICS_PROVIDER`` takes, as Flowise spells them."""

DEFAULT_SERVICE_NAME = "FlowiseAI"
"""The ``app`` label when ``METRICS_SERVICE_NAME`` is not set (Flowise's default)."""

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
    :param problems: why a value was ignored, one sentence each.
    """

    enabled: bool = False
    provider: Provider = "prometheus"
    service_name: str = DEFAULT_SERVICE_NAME
    port: int | None = None
    host: str = "127.0.0.1"
    traces: bool = False
    problems: tuple[str, ...] = field(default=())

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MetricsSettings:
        """Read the settings from ``environ`` (``os.environ`` when ``None``).

        :returns: the settings; unknown providers and bad ports are listed in ``problems``
            and turn metrics off (provider) or the endpoint off (port). Never raises.
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
        return cls(
            enabled=enabled,
            provider=provider,
            service_name=(env.get("METRICS_SERVICE_NAME") or "").strip() or DEFAULT_SERVICE_NAME,
            port=port,
            host=(env.get("FLOWKIT_METRICS_HOST") or "").strip() or "127.0.0.1",
            traces=_flag(env.get("FLOWKIT_TRACES")),
            problems=tuple(problems),
        )
