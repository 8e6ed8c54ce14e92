"""Flowise-exact anonymized telemetry: payloads, settings, delivery and sinks."""

from __future__ import annotations
