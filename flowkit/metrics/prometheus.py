"""Flowise's counters in ``prometheus-client`` (extra ``prometheus``), exposed with
Flowise's exact series names.

In one process the counts are flowkit's own series (:mod:`flowkit.metrics.series`, a
collector in a prometheus-client registry, one lock per operation counted); in
prometheus-client's multiprocess mode they are its instruments, summed across pre-fork
workers. :func:`render` writes the text format from its registry the way Flowise's prom-client does:
a counter's series is ``chatflow_created{status="success",app="FlowiseAI"} 4``, with no
``_total`` suffix and no ``_created`` series, so a Flowise dashboard queries flowkit unchanged.

Multiprocess mode is prometheus-client's own: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty
folder before the first import of ``prometheus_client`` (that is when prometheus-client
decides), start the workers, and :func:`render` sums every worker's files. A pre-fork server
should call ``prometheus_client.multiprocess.mark_process_dead(pid)`` when a worker exits.
"""

from __future__ import annotations

import bisect
import contextlib
import math
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from flowkit.metrics.counting import (
    COUNTERS,
    DURATION_BUCKETS_MS,
    DURATION_HISTOGRAM,
    VERSION_GAUGE,
)

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["CONTENT_TYPE", "MetricsServer", "PrometheusRecorder", "render"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The Prometheus text format's content type."""

_StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _number(value: float) -> str:
    # As prom-client writes numbers: whole numbers without ".0", +Inf / -Inf / NaN spelled
    # as Prometheus reads them.
    if math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _label(key: str, value: str) -> str:
    if key == "le" and value != "+Inf":
        with contextlib.suppress(ValueError):
            value = _number(float(value))
    return f'{key}="{_escape(value)}"'


def render(registry: CollectorRegistry, layout: Mapping[str, Sequence[str]] | None = None) -> bytes:
    """Return ``registry``'s metrics in the Prometheus text format, as Flowise writes them.

    Counters keep their own name (``chatflow_created``, not ``chatflow_created_total``);
    ``_created`` timestamps are left out; labels keep their declared order; whole numbers are
    written without ``.0`` (``4``, ``le="5"``), as prom-client writes them.

    :param registry: a prometheus-client registry (a multiprocess one sums every worker).
    :param layout: metric name to label names, in the order to write them; the metrics it
        names come first, in its order (a multiprocess registry sorts labels by name and
        yields metrics in no set order: this restores Flowise's ``{status, app}``).
    :returns: UTF-8 text, one ``# HELP`` and ``# TYPE`` pair per metric.
    """
    lines: list[str] = []
    order = {name: index for index, name in enumerate(layout or {})}
    metrics = sorted(registry.collect(), key=lambda m: order.get(m.name, len(order)))
    for metric in metrics:
        declared = (layout or {}).get(metric.name, ())
        name, kind = metric.name, metric.type
        if kind == "unknown":
            kind = "untyped"
        doc = metric.documentation.replace("\\", r"\\").replace("\n", r"\n")
        lines.append(f"# HELP {name} {doc}")
        lines.append(f"# TYPE {name} {kind}")
        for sample in metric.samples:
            series = sample.name
            if series == name + "_created":
                continue
            if kind == "counter" and series == name + "_total":
                series = name
            pairs = list(sample.labels.items())
            if declared:
                rank = {key: index for index, key in enumerate(declared)}
                pairs.sort(key=lambda pair: rank.get(pair[0], len(rank)))
            labels = ",".join(_label(key, value) for key, value in pairs)
            text = f"{series}{{{labels}}}" if labels else series
            lines.append(f"{text} {_number(sample.value)}")
        lines.append("")
    return "\n".join(lines).encode("utf-8")


# prometheus-client's public inc() and observe() check, on every call, what a bound child
# never needs (observability of a labelled parent, negative amounts, exemplars); these reach
# the child's value objects (MutexValue, or MmapedValue in multiprocess mode) directly, about
# halving the cost, and fall back to the public methods if the internals ever differ.
def _fast_inc(child: Any) -> Callable[[float], None]:
    value_inc = getattr(getattr(child, "_value", None), "inc", None)
    return value_inc if callable(value_inc) else child.inc  # type: ignore[no-any-return]


def _fast_observe(child: Any) -> Callable[[float], None]:
    bounds = getattr(child, "_upper_bounds", None)
    buckets = getattr(child, "_buckets", None)
    total = getattr(getattr(child, "_sum", None), "inc", None)
    if not (
        isinstance(bounds, list)
        and isinstance(buckets, list)
        and len(bounds) == len(buckets)
        and bounds[-1] == math.inf
        and callable(total)
        and all(callable(getattr(bucket, "inc", None)) for bucket in buckets)
    ):
        return child.observe  # type: ignore[no-any-return]
    increments = [bucket.inc for bucket in buckets]
    find = bisect.bisect_left

    def observe(milliseconds: float) -> None:
        total(milliseconds)
        index = find(bounds, milliseconds)  # the first bound >= the value, as observe() does
        if index < len(increments):
            increments[index](1)

    return observe


_Bind = Callable[[str | None, str, str], Callable[[float], None]]
"""``bind(counter or None, operation, status)``: a recorder of one outcome."""

_HISTOGRAM_DOC = "Duration of flowkit operations in ms"


def _multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class PrometheusRecorder:
    """Flowise's counters, the version gauge and the duration histogram in prometheus-client.

    :meth:`bind` resolves an outcome's series once, so counting one costs a bisect and one
    lock held for three additions (in multiprocess mode, prometheus-client's increment and
    observation). Series appear when first counted, as in Flowise. Thread-safe.

    :param service_name: the ``app`` label.
    :param version: the ``version`` label of ``flowkit_version_info``.
    :param registry: where the metrics live; a new registry when ``None``. In multiprocess
        mode the metrics write to ``PROMETHEUS_MULTIPROC_DIR`` and :meth:`render` reads them
        all back, whatever ``registry`` is.
    :raises ImportError: when ``prometheus-client`` is not installed (extra ``prometheus``).
    """

    def __init__(
        self,
        *,
        service_name: str,
        version: str,
        registry: CollectorRegistry | None = None,
    ) -> None:
        from prometheus_client import CollectorRegistry, Gauge

        self.service_name = service_name
        self.multiprocess = _multiprocess_dir() is not None
        own = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.registry = own
        gauge = Gauge(
            VERSION_GAUGE,
            "flowkit version info.",
            ("version", "app"),
            registry=own,
            multiprocess_mode="max",
        )
        gauge.labels(version, service_name).set(1)
        self._bind = self._client_instruments(own) if self.multiprocess else self._series(own)
        self.layout: dict[str, tuple[str, ...]] = dict.fromkeys(COUNTERS, ("status", "app"))
        self.layout[VERSION_GAUGE] = ("version", "app")
        self.layout[DURATION_HISTOGRAM] = ("operation", "status", "le")

    def _series(self, registry: CollectorRegistry) -> _Bind:
        # One process: flowkit's own series (one lock per operation counted).
        from flowkit.metrics.series import SeriesCollector

        collector = SeriesCollector(
            counters=COUNTERS,
            counter_labels=("status", "app"),
            histogram=DURATION_HISTOGRAM,
            histogram_doc=_HISTOGRAM_DOC,
            histogram_labels=("operation", "status"),
            buckets=DURATION_BUCKETS_MS,
        )
        registry.register(collector)
        app = self.service_name

        def bind(counter: str | None, operation: str, status: str) -> Callable[[float], None]:
            return collector.recorder(counter, (status, app), (operation, status))

        return bind

    def _client_instruments(self, registry: CollectorRegistry) -> _Bind:
        # Multiprocess mode: prometheus-client's instruments, whose values live in the
        # files every worker writes and the exposition sums.
        from prometheus_client import Counter, Histogram

        counters = {
            name: Counter(name, doc, ("status", "app"), registry=registry)
            for name, doc in COUNTERS.items()
        }
        histogram = Histogram(
            DURATION_HISTOGRAM,
            _HISTOGRAM_DOC,
            ("operation", "status"),
            buckets=DURATION_BUCKETS_MS,
            registry=registry,
        )
        app = self.service_name

        def bind(counter: str | None, operation: str, status: str) -> Callable[[float], None]:
            observe = _fast_observe(histogram.labels(operation, status))
            if counter is None:
                return observe
            inc = _fast_inc(counters[counter].labels(status, app))

            def record(milliseconds: float) -> None:
                inc(1)
                observe(milliseconds)

            return record

        return bind

    def bind(self, counter: str | None, operation: str, status: str) -> Callable[[float], None]:
        """Return ``record(milliseconds)`` for one outcome, its series bound once (see
        :class:`~flowkit.metrics.Recorder`). :raises KeyError: for an unknown counter."""
        return self._bind(counter, operation, status)

    def exposition_registry(self) -> CollectorRegistry:
        """Return the registry to render: this process's, or in multiprocess mode a fresh
        one that sums every process's files."""
        if not self.multiprocess:
            return self.registry
        from prometheus_client import CollectorRegistry
        from prometheus_client.multiprocess import MultiProcessCollector

        summed = CollectorRegistry()
        MultiProcessCollector(summed)  # type: ignore[no-untyped-call]
        return summed

    def render(self) -> bytes:
        """Return the current metrics in Flowise's text format (see :func:`render`)."""
        return render(self.exposition_registry(), self.layout)

    def wsgi_app(self) -> Callable[[dict[str, Any], _StartResponse], Iterable[bytes]]:
        """Return a WSGI app that answers every GET with :meth:`render` (mount it at
        ``/metrics`` in your own server)."""

        def app(environ: dict[str, Any], start_response: _StartResponse) -> Iterable[bytes]:
            if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
                start_response("405 Method Not Allowed", [("Content-Type", "text/plain")])
                return [b"method not allowed\n"]
            body = self.render()
            start_response("200 OK", [("Content-Type", CONTENT_TYPE)])
            return [body]

        return app


class _ThreadingServer(WSGIServer):
    daemon_threads = True

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_one, args=(request, client_address), daemon=True
        )
        thread.start()

    def _serve_one(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class MetricsServer:
    """An HTTP endpoint serving ``/metrics`` from a background (daemon) thread.

    :param recorder: the metrics to serve.
    :param host: the address to listen on (``127.0.0.1`` by default: tell it otherwise).
    :param port: the port; ``0`` picks a free one (read :attr:`port`).
    :raises OSError: when the address cannot be bound.
    """

    def __init__(self, recorder: PrometheusRecorder, host: str = "127.0.0.1", port: int = 0):
        inner = recorder.wsgi_app()

        def app(environ: dict[str, Any], start_response: _StartResponse) -> Iterable[bytes]:
            if environ.get("PATH_INFO", "/") != "/metrics":
                start_response("404 Not Found", [("Content-Type", "text/plain")])
                return [b"not found: the metrics are at /metrics\n"]
            return inner(environ, start_response)

        self._server = make_server(
            host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self.host = host
        self.port: int = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="flowkit-metrics",
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """The endpoint's URL (``http://host:port/metrics``)."""
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and release the port. Safe to call twice."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
