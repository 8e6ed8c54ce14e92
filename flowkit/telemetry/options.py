"""The telemetry pipeline's own environment variables, read from the process environment.

===================================  ======================================================
``FLOWKIT_TELEMETRY_PROFILE``        wire profile, ``flowise-1`` (default) or ``flowise-3``
``FLOWKIT_TELEMETRY_SINK``           ``posthog``, ``file``, ``log`` or ``otel`` (default:
                                     PostHog when ``POSTHOG_PUBLIC_API_KEY`` is set, else a
                                     file)
``FLOWKIT_TELEMETRY_ORG_ID``         the distinctId of the ``flowise-3`` profile
``FLOWKIT_TELEMETRY_EXIT_SECONDS``   the exit flush's budget, 5 seconds by default
``FLOWKIT_TELEMETRY_OUTBOX_MAX_MB``  the outbox's size cap, 64 MB by default
===================================  ======================================================

A value that cannot be used is ignored, with one warning naming it, and the default holds:
telemetry options never stop a program. Nothing is read at import time.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from flowkit.telemetry.events import DEFAULT_PROFILE, PROFILES, Profile

__all__ = ["SINKS", "SinkKind", "TelemetryOptions"]

logger = logging.getLogger("flowkit.telemetry")

SinkKind = Literal["posthog", "file", "log", "otel"]
SINKS: tuple[SinkKind, ...] = ("posthog", "file", "log", "otel")
"""The sinks ``FLOWKIT_TELEMETRY_SINK`` can name."""


@dataclass(frozen=True, slots=True)
class TelemetryOptions:
    """The pipeline's options (see the module's table).

    :param profile: the wire profile.
    :param sink: the sink named by ``FLOWKIT_TELEMETRY_SINK``, or None for the default.
    :param organization_id: the ``flowise-3`` distinctId, or None.
    :param exit_seconds: the exit flush's budget.
    :param outbox_max_bytes: the outbox's size cap.
    """

    profile: Profile = DEFAULT_PROFILE
    sink: SinkKind | None = None
    organization_id: str | None = None
    exit_seconds: float = 5.0
    outbox_max_bytes: int = 64_000_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TelemetryOptions:
        """Read the options from ``environ`` (default: ``os.environ``). Never raises."""
        env = os.environ if environ is None else environ
        profile: Profile = DEFAULT_PROFILE
        raw = env.get("FLOWKIT_TELEMETRY_PROFILE", "").strip()
        if raw in PROFILES:
            profile = raw
        elif raw:
            _ignored("FLOWKIT_TELEMETRY_PROFILE", raw, ", ".join(PROFILES))
        sink: SinkKind | None = None
        raw = env.get("FLOWKIT_TELEMETRY_SINK", "").strip().lower()
        if raw in SINKS:
            sink = raw
        elif raw:
            _ignored("FLOWKIT_TELEMETRY_SINK", raw, ", ".join(SINKS))
        org = env.get("FLOWKIT_TELEMETRY_ORG_ID", "").strip() or None
        exit_seconds = _number(env, "FLOWKIT_TELEMETRY_EXIT_SECONDS", 5.0)
        max_mb = _number(env, "FLOWKIT_TELEMETRY_OUTBOX_MAX_MB", 64.0)
        return cls(profile, sink, org, exit_seconds, int(max_mb * 1_000_000))


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        _ignored(name, raw, "a number of 0 or more")
        return default
    return value


def _ignored(name: str, value: str, expected: str) -> None:
    shown = value if len(value) <= 40 and value.isprintable() else repr(value[:40])
    logger.warning("ignoring %s=%s (expected %s)", name, shown, expected)
