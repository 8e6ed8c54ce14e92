"""Backends: where entities live and flows run (the :class:`Backend` protocol, its async
twin, and flowkit's own engine, :class:`LocalBackend`). ``flowkit.backends.flowise`` holds
the Flowise server's backend (extra ``flowise``)."""

from __future__ import annotations

from flowkit.backends.base import AsyncBackend, Backend, PredictRequest, Upload, UpsertRequest
from flowkit.backends.events import StreamEvent
from flowkit.backends.local import AsyncLocalBackend, LocalBackend

__all__ = [
    "AsyncBackend",
    "AsyncLocalBackend",
    "Backend",
    "LocalBackend",
    "PredictRequest",
    "StreamEvent",
    "Upload",
    "UpsertRequest",
]
