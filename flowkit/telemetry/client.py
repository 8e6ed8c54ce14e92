"""The :class:`Telemetry` client: it listens to flowkit's signals and delivers events.

On the caller's thread it does only the cheap part: read the signal's arguments, take the
flow's anonymized snapshot (cached by flow and revision), stamp the time, enqueue. Everything
else (validation, uuids, serialization, I/O) happens on one background thread. Nothing here
raises into the caller or prints: problems go to the ``flowkit.telemetry`` logger.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from blinker import Signal
from pydantic import ValidationError

from flowkit import signals
from flowkit.model import Assistant, Chatflow, Tool
from flowkit.telemetry.anonymize import GraphSnapshots
from flowkit.telemetry.delivery import Delivery, Record, TelemetryStats, has_outbox
from flowkit.telemetry.envelope import TelemetryEvent
from flowkit.telemetry.events import FlowGraph
from flowkit.telemetry.identity import load_or_create_instance_id, peek_instance_id
from flowkit.telemetry.properties import (
    assistant_created_fields,
    chatflow_created_fields,
    prediction_sent_fields,
    tool_created_fields,
    vector_upserted_fields,
    wire_properties,
)
from flowkit.telemetry.settings import TelemetrySettings
from flowkit.telemetry.sinks import JsonlSink, PostHogSink, Sink

__all__ = ["Telemetry", "install", "installed"]

logger = logging.getLogger("flowkit.telemetry")


class Telemetry:
    """Turns flowkit's signals into Flowise-exact, anonymized telemetry events.

    An opted-out client (``settings.enabled`` False) sends nothing whatever its sink: it
    subscribes to nothing, starts no thread, writes no file, opens no socket and makes no
    instance id. Other listeners of the signals still work.

    :param sink: where events go (default: from ``settings``: PostHog when
        ``POSTHOG_PUBLIC_API_KEY`` is set, else a JSON-lines file).
    :param settings: the settings (default: :meth:`TelemetrySettings.from_env`).
    :param version: the ``version`` sent with every event (default: flowkit's own).
    :param max_queue_size: events the queue holds before new ones are dropped (counted).
    :param batch_size: events per delivered batch at most.
    :param flush_interval: seconds a partial batch waits for more events.
    :param max_backoff: the longest backoff between two tries of a batch, in seconds; a
        longer ``Retry-After`` asked by the receiver is still honoured.
    :param exit_timeout: seconds the exit flush may take before the rest goes to the outbox.
    :param synchronous: deliver on the caller's thread, with no background thread and no
        retry (for tests; the pytest fixture uses it).
    """

    def __init__(
        self,
        sink: Sink | None = None,
        settings: TelemetrySettings | None = None,
        version: str | None = None,
        *,
        max_queue_size: int = 250_000,
        batch_size: int = 500,
        flush_interval: float = 0.5,
        max_backoff: float = 30.0,
        exit_timeout: float = 5.0,
        synchronous: bool = False,
    ) -> None:
        self.settings = settings if settings is not None else TelemetrySettings.from_env()
        if version is None:
            from flowkit import __version__

            version = __version__
        self.version: str = version
        self._sink = sink
        self._snapshots = GraphSnapshots()
        self._distinct_id: str | None = None
        self._id_stored = False
        self._connected = False
        self._delivery: Delivery | None = None
        if self.settings.enabled:
            self._delivery = Delivery(
                sink_factory=self._make_sink,
                build=self._build_events,
                outbox=self.settings.outbox_path,
                max_queue_size=max_queue_size,
                batch_size=batch_size,
                flush_interval=flush_interval,
                max_backoff=max_backoff,
                exit_timeout=exit_timeout,
                synchronous=synchronous,
                on_delivered=self._keep_instance_id,
            )

    def __repr__(self) -> str:
        state = "enabled" if self.enabled else f"disabled ({self.settings.disabled_by})"
        return f"<Telemetry {state}, {'connected' if self._connected else 'not connected'}>"

    @property
    def enabled(self) -> bool:
        """Whether this client sends anything at all."""
        return self._delivery is not None

    @property
    def connected(self) -> bool:
        """Whether this client is subscribed to the signals."""
        return self._connected

    @property
    def stats(self) -> TelemetryStats:
        """The counters now (all zero when disabled)."""
        return self._delivery.stats if self._delivery is not None else TelemetryStats()

    # ---- subscription ---------------------------------------------------------------------

    def _receivers(self) -> list[tuple[Signal, Any]]:
        return [
            (signals.chatflow_created, self._on_chatflow_created),
            (signals.tool_created, self._on_tool_created),
            (signals.assistant_created, self._on_assistant_created),
            (signals.vector_upserted, self._on_vector_upserted),
            (signals.prediction_sent, self._on_prediction_sent),
        ]

    def connect(self) -> Telemetry:
        """Subscribe to the five signals (held strongly). A no-op when disabled or connected.

        When an earlier process left undelivered events in the outbox, delivery starts now
        and sends them first.

        :returns: this client.
        """
        if self._delivery is not None and not self._connected:
            for signal, receiver in self._receivers():
                signal.connect(receiver, weak=False)
            self._connected = True
            try:
                if has_outbox(self.settings.outbox_path):  # an earlier run left events
                    self._delivery.start()
            except Exception:
                logger.exception("telemetry could not check its outbox")
        return self

    def disconnect(self) -> None:
        """Unsubscribe from the signals; queued events are still delivered."""
        if self._connected:
            for signal, receiver in self._receivers():
                signal.disconnect(receiver)
            self._connected = False

    def __enter__(self) -> Telemetry:
        return self.connect()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.disconnect()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event enqueued so far was delivered.

        :param timeout: seconds to wait at most (None: as long as it takes).
        :returns: True when all of it was delivered (always True when disabled).
        """
        return self._delivery.flush(timeout) if self._delivery is not None else True

    def shutdown(self, timeout: float | None = 5.0) -> None:
        """Disconnect, flush for up to ``timeout`` seconds, stop the thread, and keep what is
        still undelivered in the outbox for the next process."""
        self.disconnect()
        if self._delivery is not None:
            self._delivery.shutdown(timeout)

    # ---- the caller's thread: cheap, never raises ------------------------------------------

    def _enqueue(self, record: Record) -> None:
        delivery = self._delivery
        if delivery is not None:
            delivery.put(record)

    def _on_chatflow_created(self, sender: Chatflow, **kwargs: Any) -> None:
        try:
            fields = chatflow_created_fields(sender, **kwargs)
            graph = self._snapshots.get(sender)
            self._enqueue(("chatflow_created", fields, graph, time.time()))
        except Exception:
            logger.exception("telemetry could not record chatflow_created")

    def _on_tool_created(self, sender: Tool, **kwargs: Any) -> None:
        try:
            fields = tool_created_fields(sender, **kwargs)
            self._enqueue(("tool_created", fields, None, time.time()))
        except Exception:
            logger.exception("telemetry could not record tool_created")

    def _on_assistant_created(self, sender: Assistant, **kwargs: Any) -> None:
        try:
            fields = assistant_created_fields(sender, **kwargs)
            self._enqueue(("assistant_created", fields, None, time.time()))
        except Exception:
            logger.exception("telemetry could not record assistant_created")

    def _on_vector_upserted(self, sender: Chatflow, **kwargs: Any) -> None:
        try:
            fields = vector_upserted_fields(sender, **kwargs)
            graph = self._snapshots.get(sender)
            self._enqueue(("vector_upserted", fields, graph, time.time()))
        except Exception:
            logger.exception("telemetry could not record vector_upserted")

    def _on_prediction_sent(self, sender: Chatflow, **kwargs: Any) -> None:
        try:
            fields = prediction_sent_fields(sender, **kwargs)
            graph = self._snapshots.get(sender)
            self._enqueue(("prediction_sent", fields, graph, time.time()))
        except Exception:
            logger.exception("telemetry could not record prediction_sent")

    # ---- the background thread ---------------------------------------------------------------

    def _make_sink(self) -> Sink:
        if self._sink is not None:
            return self._sink
        destination = self.settings.destination
        if destination.kind == "posthog" and self.settings.posthog_api_key:
            try:
                return PostHogSink(self.settings.posthog_api_key, destination.target)
            except Exception as exc:
                fallback = self.settings.home / "telemetry.jsonl"
                logger.warning("PostHog sink unavailable (%s); recording to %s", exc, fallback)
                return JsonlSink(fallback)
        return JsonlSink(destination.target)

    def _keep_instance_id(self) -> None:
        """Store the instance id after the first delivered batch (never before, never when
        telemetry is off); an id another process stored meanwhile wins from then on."""
        if self._id_stored or self._distinct_id is None:
            return
        self._id_stored = True
        self._distinct_id = load_or_create_instance_id(self.settings.home, self._distinct_id)

    def _build_events(self, records: Sequence[Record]) -> list[TelemetryEvent]:
        """Validate records against the payload models and wrap them in envelopes.

        A record that makes no valid payload (a signal sent with a non-string ``chat_id``,
        say) is left out, with one warning per batch: it never costs the others their
        delivery. The warning names the fields at fault, never their values.
        """
        if self._distinct_id is None:
            # An id stored earlier is used; else a new one is stored only once an event
            # that carries it was actually delivered (see _keep_instance_id).
            found = peek_instance_id(self.settings.home)
            self._id_stored = found is not None
            self._distinct_id = found or str(uuid.uuid4())
        distinct_id = self._distinct_id
        graphs: dict[int, FlowGraph] = {}
        uuids = _uuid4_strings(len(records))  # one syscall per batch, not one per event
        moments: dict[float, datetime] = {}  # events of one millisecond share their stamp
        events: list[TelemetryEvent] = []
        invalid: list[str] = []
        for index, (name, fields, graph, stamp) in enumerate(records):
            try:
                properties = wire_properties(
                    name, fields, graph, self.version, checked_graphs=graphs
                )
            except Exception as exc:
                invalid.append(f"{name}: {_problem(exc)}")
                continue
            millis = stamp // 0.001
            moment = moments.get(millis)
            if moment is None:
                moment = moments[millis] = datetime.fromtimestamp(millis / 1000, UTC)
            events.append(
                TelemetryEvent(
                    event=name,
                    distinct_id=distinct_id,
                    properties=properties,
                    timestamp=moment,
                    uuid=uuids[index],
                )
            )
        if invalid:
            logger.warning(
                "%d invalid telemetry events not sent (first: %s)", len(invalid), invalid[0]
            )
        return events


def _uuid4_strings(count: int) -> list[str]:
    """Return ``count`` random uuid4 strings, from one ``os.urandom`` call."""
    digits = os.urandom(16 * count).hex()
    out = []
    for start in range(0, 32 * count, 32):
        h = digits[start : start + 32]
        variant = "89ab"[int(h[16], 16) & 3]
        out.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}")
    return out


def _problem(exc: Exception) -> str:
    """Say what is wrong with an event's fields, naming fields but never their values."""
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        return "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['type']}" for error in errors
        )
    return type(exc).__name__


_install_lock = threading.Lock()
_installed: Telemetry | None = None


def install(**options: Any) -> Telemetry:
    """Build a :class:`Telemetry` from the environment, connect it, and return it; once per
    process (later calls return the same client, ignoring ``options``).

    The exit flush is registered with its background thread, on the first event. When
    telemetry is opted out, the client is a disabled no-op. Never raises: should building
    the client fail, the failure is logged and a disabled client returned.

    :param options: keyword arguments for :class:`Telemetry` (first call only).
    """
    global _installed
    with _install_lock:
        if _installed is None:
            try:
                _installed = Telemetry(**options).connect()
            except Exception:
                logger.exception("telemetry could not be installed; it stays off")
                off = TelemetrySettings(
                    home=Path("~/.flowkit").expanduser(),
                    enabled=False,
                    disabled_by="telemetry could not be installed (see the log)",
                )
                _installed = Telemetry(settings=off)
        return _installed


def installed() -> Telemetry | None:
    """Return the client :func:`install` made in this process, if any."""
    return _installed
