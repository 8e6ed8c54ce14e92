"""How Flowise 3.1 counts, as one subscriber to flowkit's signals.

:class:`MetricsSubscriber` turns every operation's outcome signal into calls on a
:class:`Recorder` (Prometheus or OpenTelemetry): one Flowise counter increment where Flowise
has a counter for the operation, and one duration observation for every operation. The
rules are Flowise 3.1's:

* a chatflow whose type is ``MULTIAGENT`` counts under ``agentflow_created`` and
  ``agentflow_prediction_*``; every other type (``AGENTFLOW`` v2 included) under the
  ``chatflow_*`` counters;
* predictions split by chat type: ``*_prediction_internal`` / ``*_prediction_external``;
* ``status`` is ``success`` or ``failure`` (from :data:`~flowkit.signals.operation_failed`);
* updates and deletes have no Flowise counter: only their duration is observed.

Everything comes from the signals' arguments; nothing here imports a workspace or backend.
A receiver never raises into the operation: a recorder's error is logged on the
``flowkit.metrics`` logger and the operation goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from blinker import NamedSignal

from flowkit import signals

__all__ = [
    "COUNTERS",
    "DURATION_BUCKETS_MS",
    "DURATION_HISTOGRAM",
    "FAILURE",
    "SUCCESS",
    "VERSION_GAUGE",
    "MetricsSubscriber",
    "Recorder",
    "failure_counter",
    "prediction_counter",
]

logger = logging.getLogger("flowkit.metrics")

SUCCESS = "success"
FAILURE = "failure"

COUNTERS: dict[str, str] = {
    "chatflow_created": "Total number of CHATFLOW CREATED",
    "agentflow_created": "Total number of AGENTFLOW CREATED",
    "assistant_created": "Total number of ASSISTANT CREATED",
    "tool_created": "Total number of TOOL CREATED",
    "vector_upserted": "Total number of VECTORSTORE UPSERT",
    "chatflow_prediction_internal": "Total number of CHATFLOW PREDICTION INTERNAL",
    "chatflow_prediction_external": "Total number of CHATFLOW PREDICTION EXTERNAL",
    "agentflow_prediction_internal": "Total number of AGENTFLOW PREDICTION INTERNAL",
    "agentflow_prediction_external": "Total number of AGENTFLOW PREDICTION EXTERNAL",
    "custom_mcp_server_created": "Total number of CUSTOM MCP SERVER CREATED",
}
"""Flowise 3.1's counters, name to help text, in the order Flowise exposes them. flowkit
has no custom MCP servers: ``custom_mcp_server_created`` is declared and never counted."""

VERSION_GAUGE = "flowkit_version_info"
"""The gauge that is ``1`` with a ``version`` label (as Flowise's ``flowise_version_info``)."""

DURATION_HISTOGRAM = "flowkit_operation_duration_ms"
"""The histogram of operations' durations, in milliseconds, labelled operation and status."""

DURATION_BUCKETS_MS: tuple[float, ...] = (1, 5, 15, 50, 100, 200, 300, 400, 500, 1000, 2500, 5000)
"""Flowise's ``http_request_duration_ms`` buckets, plus three for slow model calls."""


class Recorder(Protocol):
    """Where the subscriber's counts and durations go (one per provider)."""

    def bind(self, counter: str | None, operation: str, status: str) -> Callable[[float], None]:
        """Return a function that records one outcome given its duration in milliseconds:
        one increment of Flowise counter ``counter`` (a key of :data:`COUNTERS`; none when
        ``None``) for ``status``, and one observation of ``operation`` (one of
        :data:`~flowkit.signals.OPERATIONS`) with ``status``.

        Called once per distinct outcome; the function returned is called per operation,
        so it should do nothing it could have done here.

        :raises KeyError: for an unknown counter.
        """
        ...


def _is_multiagent(flow_type: object) -> bool:
    return flow_type == "MULTIAGENT"  # FlowType is a StrEnum: its members equal their values


def prediction_counter(flow_type: object, chat_type: object) -> str:
    """Return the Flowise prediction counter for a flow type and chat type.

    :param flow_type: a :class:`~flowkit.FlowType` (or its value, or ``None``).
    :param chat_type: a :class:`~flowkit.ChatType` (or its value); anything but
        ``INTERNAL`` counts as external, as Flowise's API is.
    """
    kind = "agentflow" if _is_multiagent(flow_type) else "chatflow"
    side = "internal" if chat_type == "INTERNAL" else "external"
    return f"{kind}_prediction_{side}"


def failure_counter(operation: str, flow_type: object, chat_type: object) -> str | None:
    """Return the Flowise counter a failed ``operation`` counts under, or ``None`` when
    Flowise has none for it (updates, deletes)."""
    if operation == "create_chatflow":
        return "agentflow_created" if _is_multiagent(flow_type) else "chatflow_created"
    if operation == "create_tool":
        return "tool_created"
    if operation == "create_assistant":
        return "assistant_created"
    if operation == "upsert_vector":
        return "vector_upserted"
    if operation == "predict":
        return prediction_counter(flow_type, chat_type)
    return None


_Receiver = Callable[..., None]

_PLAIN: dict[str, tuple[str, str | None]] = {
    # signal name: (operation, counter or None)
    "chatflow_updated": ("update_chatflow", None),
    "chatflow_deleted": ("delete_chatflow", None),
    "tool_created": ("create_tool", "tool_created"),
    "tool_updated": ("update_tool", None),
    "tool_deleted": ("delete_tool", None),
    "assistant_created": ("create_assistant", "assistant_created"),
    "assistant_updated": ("update_assistant", None),
    "assistant_deleted": ("delete_assistant", None),
    "vector_upserted": ("upsert_vector", "vector_upserted"),
}


def _log_failure(signal_name: str) -> None:
    logger.exception("metrics: recording signal %r failed; the operation went on", signal_name)


class MetricsSubscriber:
    """Connects one :class:`Recorder` to every operation's outcome signal.

    Receivers are held strongly (no silent disconnect) until :meth:`disconnect`. Each one
    costs the caller a dictionary lookup and one call of the recorder's bound function; none
    ever raises (a duration that is not a number is logged, like any recorder error).

    :param recorder: where counts and durations go.
    """

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self._connected: list[tuple[NamedSignal, _Receiver]] = []
        # Each distinct outcome is bound once; the dicts only grow to a few dozen entries.
        self._bound: dict[tuple[str | None, str, str], Callable[[float], None]] = {}
        self._created: list[Callable[[float], None] | None] = [None, None]
        self._predictions: list[Callable[[float], None] | None] = [None] * 4

    def connect(self) -> MetricsSubscriber:
        """Start listening (a second call does nothing). :returns: ``self``."""
        if self._connected:
            return self
        receivers: list[tuple[NamedSignal, _Receiver]] = [
            (signals.chatflow_created, self._chatflow_created),
            (signals.prediction_sent, self._prediction_sent),
            (signals.operation_failed, self._operation_failed),
        ]
        receivers += [
            (getattr(signals, name), self._plain(name, operation, counter))
            for name, (operation, counter) in _PLAIN.items()
        ]
        for signal, receiver in receivers:
            signal.connect(receiver, weak=False)
        self._connected = receivers
        return self

    def disconnect(self) -> None:
        """Stop listening. Safe to call twice."""
        for signal, receiver in self._connected:
            signal.disconnect(receiver)
        self._connected = []

    @property
    def connected(self) -> bool:
        """Whether the subscriber is listening."""
        return bool(self._connected)

    def _outcome(self, counter: str | None, operation: str, status: str) -> Callable[[float], None]:
        key = (counter, operation, status)
        record = self._bound.get(key)
        if record is None:
            record = self._bound[key] = self.recorder.bind(counter, operation, status)
        return record

    def _plain(self, name: str, operation: str, counter: str | None) -> _Receiver:
        outcome = self._outcome
        bound: Callable[[float], None] | None = None

        def receiver(sender: Any, duration: float = 0.0, **kwargs: Any) -> None:
            nonlocal bound
            try:
                if bound is None:
                    bound = outcome(counter, operation, SUCCESS)
                bound(duration * 1000.0)
            except Exception:
                _log_failure(name)

        return receiver

    # Flow and chat types are StrEnums, whose hash is a Python-level call: the tables below
    # are indexed by plain comparisons instead of a dictionary keyed by the enums.

    def _chatflow_created(self, sender: Any, duration: float = 0.0, **kwargs: Any) -> None:
        try:
            multi = getattr(sender, "type", None) == "MULTIAGENT"
            record = self._created[multi]
            if record is None:
                counter = "agentflow_created" if multi else "chatflow_created"
                record = self._created[multi] = self._outcome(counter, "create_chatflow", SUCCESS)
            record(duration * 1000.0)
        except Exception:
            _log_failure("chatflow_created")

    def _prediction_sent(
        self, sender: Any, chat_type: object = None, duration: float = 0.0, **kwargs: Any
    ) -> None:
        try:
            flow_type = getattr(sender, "type", None)
            index = (2 if flow_type == "MULTIAGENT" else 0) + (chat_type == "INTERNAL")
            record = self._predictions[index]
            if record is None:
                counter = prediction_counter(flow_type, chat_type)
                record = self._outcome(counter, "predict", SUCCESS)
                self._predictions[index] = record
            record(duration * 1000.0)
        except Exception:
            _log_failure("prediction_sent")

    def _operation_failed(
        self,
        sender: Any,
        operation: object = "",
        duration: float = 0.0,
        chat_type: object = None,
        flow_type: object = None,
        **kwargs: Any,
    ) -> None:
        try:
            name = str(operation)
            if name not in signals.OPERATIONS:
                logger.warning("metrics: operation_failed for unknown operation %r", name)
                return
            if flow_type is None:
                flow_type = getattr(sender, "type", None)
            counter = failure_counter(name, flow_type, chat_type)
            self._outcome(counter, name, FAILURE)(duration * 1000.0)
        except Exception:
            _log_failure("operation_failed")
