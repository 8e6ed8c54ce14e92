"""Spans for flowkit's operations (extra ``otel``): one per Workspace operation, one child per
node run of flowkit's own engine, exported over OTLP/HTTP.

Built from signals alone. ``node_finished`` arrives before its operation's outcome signal, on
the same thread (and asyncio task); node runs are buffered per thread and task and become the
children of the next operation span there, each with its own start and end times
(``end - duration``). Attributes are limited to what telemetry may send: the operation,
status, the Flowise flow type and chat type, Flowise component names, anonymized node ids
(:func:`flowkit.telemetry.anonymous_id`'s rule; a custom component's name shows as
``custom``), counts, and the error's type name. Never
inputs, questions, answers, flow names or errors' messages.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from blinker import NamedSignal

from flowkit import signals
from flowkit.telemetry.anonymize import is_flowise_id, pseudonym

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = ["TraceRecorder"]

logger = logging.getLogger("flowkit.metrics")

_OPERATION_OF: dict[str, str] = {
    "chatflow_created": "create_chatflow",
    "chatflow_updated": "update_chatflow",
    "chatflow_deleted": "delete_chatflow",
    "tool_created": "create_tool",
    "tool_updated": "update_tool",
    "tool_deleted": "delete_tool",
    "assistant_created": "create_assistant",
    "assistant_updated": "update_assistant",
    "assistant_deleted": "delete_assistant",
    "vector_upserted": "upsert_vector",
    "prediction_sent": "predict",
}
# Bounds, so node runs whose operation never reports cannot grow without end.
_MAX_PLACES = 1024
_MAX_NODES = 4096


@dataclass(frozen=True, slots=True)
class _NodeRun:
    node_id: str
    component: str
    mode: str
    status: str
    error_type: str | None
    start_ns: int
    end_ns: int


def _place() -> tuple[int, int]:
    try:
        task = asyncio.current_task()
    except RuntimeError:
        task = None
    return threading.get_ident(), id(task) if task is not None else 0


def _anonymous(node_id: str) -> str:
    return node_id if is_flowise_id(node_id) else pseudonym(node_id)


def _component(name: str) -> str:
    # Only the names of Flowise's (and flowkit's built-in) components pass: a custom
    # component's name is the user's text.
    return name if is_flowise_id(f"{name}_0") else "custom"


def _text(value: object) -> str | None:
    return None if value is None else str(value)


class TraceRecorder:
    """Turns flowkit's signals into OpenTelemetry spans.

    :param service_name: the resource's ``service.name``.
    :param exporter: where spans go; by default an ``OTLPSpanExporter`` (reading
        ``OTEL_EXPORTER_OTLP_*``) behind a batch processor (exporting from its own thread).
    :param batch: whether a given ``exporter`` sits behind a batch processor too; by default
        it gets every span as it ends, on the caller's thread (tests pass an
        ``InMemorySpanExporter``).
    :raises ImportError: when the OpenTelemetry SDK is not installed (extra ``otel``).
    """

    def __init__(
        self, *, service_name: str, exporter: SpanExporter | None = None, batch: bool = False
    ) -> None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

        self.provider: TracerProvider = TracerProvider(
            resource=Resource.create({"service.name": service_name})
        )
        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        elif batch:
            self.provider.add_span_processor(BatchSpanProcessor(exporter))
        else:
            self.provider.add_span_processor(SimpleSpanProcessor(exporter))
        self._tracer = self.provider.get_tracer("flowkit")
        self._pending: dict[tuple[int, int], list[_NodeRun]] = {}
        self._lock = threading.Lock()
        self._connected: list[tuple[NamedSignal, Callable[..., None]]] = []
        self._closed = False

    # ---- signals -----------------------------------------------------------------------

    def connect(self) -> TraceRecorder:
        """Start listening (a second call does nothing). :returns: ``self``."""
        if self._connected:
            return self
        pairs: list[tuple[NamedSignal, Callable[..., None]]] = [
            (signals.node_finished, self._node_finished),
            (signals.operation_failed, self._operation_failed),
        ]
        for name, operation in _OPERATION_OF.items():
            pairs.append((getattr(signals, name), self._succeeded(operation)))
        for signal, receiver in pairs:
            signal.connect(receiver, weak=False)
        self._connected = pairs
        return self

    def disconnect(self) -> None:
        """Stop listening; node runs not yet claimed by an operation are dropped."""
        for signal, receiver in self._connected:
            signal.disconnect(receiver)
        self._connected = []
        with self._lock:
            self._pending.clear()

    def _node_finished(
        self,
        sender: Any,
        node_id: object = "",
        component: object = "",
        mode: object = "",
        status: object = "success",
        error_type: object = None,
        duration: object = 0.0,
        **kwargs: Any,
    ) -> None:
        try:
            end = time.time_ns()
            seconds = float(duration) if isinstance(duration, int | float) else 0.0
            run = _NodeRun(
                str(node_id),
                str(component),
                str(mode),
                str(status),
                _text(error_type),
                end - int(seconds * 1e9),
                end,
            )
            place = _place()
            with self._lock:
                runs = self._pending.get(place)
                if runs is None:
                    if len(self._pending) >= _MAX_PLACES:
                        self._pending.pop(next(iter(self._pending)))
                    runs = self._pending[place] = []
                if len(runs) < _MAX_NODES:
                    runs.append(run)
        except Exception:
            logger.exception("traces: recording a node run failed; the operation went on")

    def _succeeded(self, operation: str) -> Callable[..., None]:
        def receiver(sender: Any, **kwargs: Any) -> None:
            try:
                self._operation(operation, "success", sender, kwargs)
            except Exception:
                logger.exception("traces: recording %s failed; the operation went on", operation)

        return receiver

    def _operation_failed(self, sender: Any, **kwargs: Any) -> None:
        try:
            self._operation(str(kwargs.get("operation", "")), "failure", sender, kwargs)
        except Exception:
            logger.exception("traces: recording a failure failed; the operation went on")

    # ---- spans -------------------------------------------------------------------------

    def _operation(self, operation: str, status: str, sender: Any, args: dict[str, Any]) -> None:
        from opentelemetry import trace
        from opentelemetry.trace import Status, StatusCode

        end = time.time_ns()
        duration = args.get("duration", 0.0)
        seconds = float(duration) if isinstance(duration, int | float) else 0.0
        with self._lock:
            runs = self._pending.pop(_place(), [])
        start = min([end - int(seconds * 1e9), *(run.start_ns for run in runs)])
        attributes: dict[str, str | int] = {
            "flowkit.operation": operation,
            "flowkit.status": status,
            "flowkit.node_runs": len(runs),
        }
        nodes = getattr(sender, "nodes", None)
        flow_type = args.get("flow_type")
        if isinstance(nodes, list):  # the sender is a chatflow
            attributes["flowise.flow.node_count"] = len(nodes)
            flow_type = flow_type or getattr(sender, "type", None)
        if flow_type is not None:
            attributes["flowise.flow_type"] = str(flow_type)
        if args.get("chat_type") is not None:
            attributes["flowise.chat_type"] = str(args["chat_type"])
        if status == "failure" and args.get("error_type"):
            attributes["error.type"] = str(args["error_type"])
        num_added = getattr(args.get("result"), "num_added", None)
        if operation == "upsert_vector" and isinstance(num_added, int):
            attributes["flowkit.num_added"] = num_added
        span = self._tracer.start_span(operation, start_time=start, attributes=attributes)
        if status == "failure":
            span.set_status(Status(StatusCode.ERROR))
        context = trace.set_span_in_context(span)
        for run in runs:
            node_attributes: dict[str, str] = {
                "flowise.node.id": _anonymous(run.node_id),
                "flowise.component": _component(run.component),
                "flowkit.mode": run.mode,
                "flowkit.status": run.status,
            }
            if run.error_type:
                node_attributes["error.type"] = run.error_type
            child = self._tracer.start_span(
                f"node {_component(run.component)}",
                context=context,
                start_time=run.start_ns,
                attributes=node_attributes,
            )
            if run.status == "failure":
                child.set_status(Status(StatusCode.ERROR))
            child.end(end_time=run.end_ns)
        span.end(end_time=end)

    # ---- lifecycle ---------------------------------------------------------------------

    def flush(self, timeout_millis: int = 10_000) -> bool:
        """Export every ended span now. :returns: whether it finished in time."""
        return bool(self.provider.force_flush(timeout_millis))

    def close(self) -> None:
        """Disconnect, export what is left and stop. Safe to call twice."""
        self.disconnect()
        if not self._closed:
            self._closed = True
            self.provider.shutdown()
