"""The caller's cost of flowkit operations with metrics and traces on versus off, one run.

Run: ``.venv/bin/python benchmarks/metrics_overhead.py [--quick]``

Method: one in-memory :class:`~flowkit.Workspace`, a one-node flow whose component returns
at once (so the operation is as cheap as flowkit makes it, and the overhead shows), and six
configurations measured in interleaved rounds (off; one no-op receiver, which is what
``flowkit.signals.send`` charges for a first receiver of any kind; Prometheus metrics;
OpenTelemetry metrics; traces; Prometheus metrics + traces): each round times ``N`` calls of
each configuration back to back, and the figure is the median over rounds of the time per
call. Two operations:

* ``predict``: ``workspace.predict(flow, question)`` (one ``node_finished`` and one
  ``prediction_sent`` signal);
* ``signal``: ``signals.send(prediction_sent, flow, ...)`` alone: the subscribers' own cost,
  without the operation around it.

Metrics use prometheus-client's registry (or an OpenTelemetry in-memory reader: nothing is
exported while timing); traces use a batch span processor with an exporter that discards
(export happens on the processor's thread, as with OTLP). Printed: each round, then per
configuration the median time per call, the ratio against "off" and the microseconds added.
The goal: metrics add under 2 us per operation (traces are opt-in), judged on the
``signal`` figures (the ``predict`` ones vary by more than that from round to round); the
verdict also says how much of it is the metrics' own work beyond a first receiver's
dispatch. Exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

os.environ.setdefault("FLOWKIT_HOME", tempfile.mkdtemp(prefix="flowkit-bench-"))

from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from flowkit import Chatflow, ChatType, Workspace, component, signals
from flowkit.metrics import MetricsSubscriber
from flowkit.metrics.otel import OTelRecorder
from flowkit.metrics.prometheus import PrometheusRecorder
from flowkit.metrics.traces import TraceRecorder

GOAL_US = 2.0


class _Discard(SpanExporter):
    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


@component("instantAnswer", category="Chains")
def _instant(inputs: dict[str, Any], context: Any) -> str:
    return "ok"


class _Config:
    def __init__(self, name: str, metrics: str | None, traces: bool) -> None:
        self.name, self.metrics, self.traces = name, metrics, traces
        self._parts: list[Any] = []

    def __enter__(self) -> _Config:
        if self.metrics == "noop":
            # What any first receiver costs in flowkit.signals.send, metrics or not.
            self._parts.append(_NoopReceiver())
        elif self.metrics == "prometheus":
            recorder: Any = PrometheusRecorder(service_name="FlowiseAI", version="bench")
            self._parts.append(MetricsSubscriber(recorder).connect())
        elif self.metrics == "open_telemetry":
            otel = OTelRecorder(
                service_name="FlowiseAI", version="bench", reader=InMemoryMetricReader()
            )
            self._parts.append(MetricsSubscriber(otel).connect())
            self._parts.append(otel)
        if self.traces:
            traces = TraceRecorder(service_name="FlowiseAI", exporter=_Discard(), batch=True)
            self._parts.append(traces.connect())
        return self

    def __exit__(self, *exc: object) -> None:
        for part in self._parts:
            (getattr(part, "disconnect", None) or part.close)()
            if isinstance(part, TraceRecorder | OTelRecorder):
                part.close()
        self._parts.clear()


def _noop(sender: Any, **kwargs: Any) -> None:
    pass


class _NoopReceiver:
    def __init__(self) -> None:
        signals.prediction_sent.connect(_noop)

    def disconnect(self) -> None:
        signals.prediction_sent.disconnect(_noop)


CONFIGS = [
    ("off", None, False),
    ("one no-op receiver", "noop", False),
    ("metrics prometheus", "prometheus", False),
    ("metrics open_telemetry", "open_telemetry", False),
    ("traces", None, True),
    ("metrics prometheus + traces", "prometheus", True),
]


def _time_per_call(call: Callable[[], object], calls: int) -> float:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in range(calls):
            call()
        return (time.perf_counter_ns() - start) / calls / 1000.0
    finally:
        gc.enable()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few rounds (a smoke run)")
    args = parser.parse_args(argv)
    rounds, calls = (2, 100) if args.quick else (21, 1000)

    workspace = Workspace()
    flow = Chatflow(name="bench")
    flow.add_node("instantAnswer", category="Chains")
    workspace.create_chatflow(flow)
    operations: dict[str, Callable[[], object]] = {
        "predict": lambda: workspace.predict(flow, "q", chat_id="c"),
        "signal": lambda: signals.send(
            signals.prediction_sent,
            flow,
            workspace=workspace,
            chat_id="c",
            chat_type=ChatType.EXTERNAL,
            question="q",
            result=None,
            duration=0.0001,
        ),
    }
    print(f"metrics_overhead: python {sys.version.split()[0]}, {rounds} rounds x {calls} calls")
    print("figure = median over rounds of microseconds per call (caller's thread)\n")
    results: dict[tuple[str, str], list[float]] = {}
    for number in range(1, rounds + 1):
        line = []
        for op_name, call in operations.items():
            for name, metrics, traces in CONFIGS:
                with _Config(name, metrics, traces):
                    for _ in range(calls // 10):  # warm the caches of this configuration
                        call()
                    figure = _time_per_call(call, calls)
                results.setdefault((op_name, name), []).append(figure)
                line.append(f"{figure:7.2f}")
        print(f"round {number:2d}: " + " ".join(line))

    print()
    verdict = []
    for op_name in operations:
        base = statistics.median(results[(op_name, "off")])
        print(f"{op_name}: {'configuration':<28} {'us/call':>8} {'ratio':>7} {'added us':>9}")
        for name, _, _ in CONFIGS:
            median = statistics.median(results[(op_name, name)])
            added = median - base
            print(
                f"{'':{len(op_name) + 2}}{name:<28} {median:8.2f} {median / base:7.3f} {added:9.2f}"
            )
            if op_name == "signal" and name.startswith("metrics") and "traces" not in name:
                noop = statistics.median(results[(op_name, "one no-op receiver")])
                verdict.append((name, added, median - noop))
        print()
    for name, added, own in verdict:
        status = "met" if added < GOAL_US else "MISSED"
        print(
            f"goal: {name} adds {added:.2f} us per operation (< {GOAL_US:.0f} us): {status}; "
            f"{own:.2f} us of it beyond a no-op receiver's dispatch"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
