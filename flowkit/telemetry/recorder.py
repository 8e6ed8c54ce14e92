"""The recorder: the only part of telemetry that runs on the caller's thread.

One generic receiver per event of :data:`~flowkit.telemetry.events.TABLE` reads the signal's
arguments into a :class:`~flowkit.telemetry.builder.Record` (the flow's anonymized graph
comes from a cache keyed by flow and revision: one lookup for an unchanged flow) and hands
it to the queue. It never raises into the operation: a failure is logged and the operation
goes on. Signals Flowise has no event for (updates, deletions, failures, node runs) are not
listened to.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from blinker import NamedSignal

from flowkit.telemetry.anonymize import GraphSnapshots
from flowkit.telemetry.builder import Record
from flowkit.telemetry.events import TABLE, EventSpec

__all__ = ["Recorder"]

logger = logging.getLogger("flowkit.telemetry")

Receiver = Callable[..., None]


def _receiver(event: EventSpec, put: Callable[[Record], None], graphs: GraphSnapshots) -> Receiver:
    read, name, now = event.read, event.name, time.time
    graph_of = graphs.get if event.graph else None
    make = tuple.__new__  # a Record without NamedTuple's Python-level __new__

    def record(sender: Any, **kwargs: Any) -> None:
        try:
            graph = graph_of(sender) if graph_of is not None else None
            put(make(Record, (event, read(sender, kwargs), graph, now())))
        except Exception:
            logger.exception("telemetry could not record %s", name)

    record.__qualname__ = f"Recorder.record_{name}"
    return record


class Recorder:
    """Subscribes one receiver per telemetry event, each appending a record to ``put``.

    :param put: where records go (the pipeline's queue; it must not block or raise).
    """

    def __init__(self, put: Callable[[Record], None]) -> None:
        self.graphs = GraphSnapshots()
        self._receivers: list[tuple[NamedSignal, Receiver]] = [
            (event.signal, _receiver(event, put, self.graphs)) for event in TABLE
        ]
        self.connected = False

    def connect(self) -> None:
        """Subscribe every receiver (held strongly); a no-op when already connected."""
        if not self.connected:
            for signal, receiver in self._receivers:
                signal.connect(receiver, weak=False)
            self.connected = True

    def disconnect(self) -> None:
        """Unsubscribe every receiver; a no-op when not connected."""
        if self.connected:
            for signal, receiver in self._receivers:
                signal.disconnect(receiver)
            self.connected = False
