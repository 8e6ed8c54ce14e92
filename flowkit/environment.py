"""Every environment variable flowkit reads, in one place.

Programs and test suites that must run isolated from the developer's shell (flowkit's own
``tests/conftest.py`` among them) clear these; :func:`flowkit_variables` finds the ones set.
Nothing here reads the environment at import time.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ANY_CASE_VARIABLES",
    "ENVIRONMENT_PREFIXES",
    "ENVIRONMENT_VARIABLES",
    "flowkit_variables",
]

ENVIRONMENT_VARIABLES: tuple[str, ...] = (
    # telemetry: opting out (Flowise's names) and where events go
    "DISABLE_FLOWISE_TELEMETRY",
    "DO_NOT_TRACK",
    "FLOWKIT_HOME",
    "FLOWKIT_TELEMETRY_FILE",
    "FLOWKIT_TELEMETRY_SINK",
    "FLOWKIT_TELEMETRY_PROFILE",
    "FLOWKIT_TELEMETRY_ORG_ID",
    "FLOWKIT_TELEMETRY_EXIT_SECONDS",
    "FLOWKIT_TELEMETRY_OUTBOX_MAX_MB",
    "POSTHOG_PUBLIC_API_KEY",
    "POSTHOG_HOST",
    # a real Flowise server behind the workspace and the CLI
    "FLOWISE_URL",
    "FLOWISE_API_KEY",
    # metrics and traces (Flowise's names, then flowkit's)
    "ENABLE_METRICS",
    "METRICS_PROVIDER",
    "METRICS_SERVICE_NAME",
    "METRICS_OPEN_TELEMETRY_METRIC_ENDPOINT",
    "METRICS_OPEN_TELEMETRY_PROTOCOL",
    "METRICS_OPEN_TELEMETRY_DEBUG",
    "FLOWKIT_METRICS_HOST",
    "FLOWKIT_METRICS_PORT",
    "FLOWKIT_TRACES",
    "PROMETHEUS_MULTIPROC_DIR",
)
"""The variables flowkit reads by name (from the environment, and for the telemetry
opt-outs also from a ``.env`` file)."""

ENVIRONMENT_PREFIXES: tuple[str, ...] = ("FLOWKIT_TELEMETRY_", "POSTHOG_", "OTEL_")
"""Families of variables read as a group: flowkit's telemetry options, PostHog's, and the
OpenTelemetry SDK's own (``OTEL_EXPORTER_OTLP_*``, ``OTEL_SERVICE_NAME``, ...), which the
exporters flowkit builds read themselves."""


ANY_CASE_VARIABLES: tuple[str, ...] = ("DISABLE_FLOWISE_TELEMETRY", "DO_NOT_TRACK")
"""The opt-outs, which flowkit reads in any ASCII case (``do_not_track=1`` opts out too)."""


def flowkit_variables(names: Iterable[str]) -> list[str]:
    """Return those of ``names`` that flowkit reads, in their order.

    :param names: variable names, e.g. ``os.environ`` (its keys).
    :returns: every name in :data:`ENVIRONMENT_VARIABLES`, starting with one of
        :data:`ENVIRONMENT_PREFIXES`, or one of :data:`ANY_CASE_VARIABLES` in any case.
    """
    exact = frozenset(ENVIRONMENT_VARIABLES)
    any_case = frozenset(ANY_CASE_VARIABLES)
    return [
        n
        for n in names
        if n in exact or n.startswith(ENVIRONMENT_PREFIXES) or n.upper() in any_case
    ]
