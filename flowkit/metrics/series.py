"""Flowise's counters and the duration histogram held in-process, behind one lock, and handed
to prometheus-client as a collector.

Why not prometheus-client's own ``Counter`` and ``Histogram``: counting one operation with
them takes four lock acquisitions (the counter, the histogram's sum and one bucket, each a
value of its own) and is most of what metrics cost the caller. Here one operation is one
``bisect`` and one lock held for three additions, about half the cost, measured in
``benchmarks/metrics_overhead.py``. prometheus-client still does the rest: the registry,
the families and their exposition. Its multiprocess mode needs its own value files, so
:class:`~flowkit.metrics.prometheus.PrometheusRecorder` uses its instruments there.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

__all__ = ["SeriesCollector"]


class _Histogram:
    """One histogram series: a count per bucket (not cumulative) and the sum."""

    __slots__ = ("buckets", "total")

    def __init__(self, size: int) -> None:
        self.buckets = [0] * size
        self.total = 0.0


class SeriesCollector:
    """Counters labelled ``counter_labels`` and one histogram, as a prometheus-client collector.

    Register it in a ``CollectorRegistry`` (``registry.register(collector)``); series appear
    when first bound, in that order, as prometheus-client's labelled children do. Thread-safe.

    :param counters: counter name to help text, in exposition order.
    :param counter_labels: the counters' label names (``("status", "app")``).
    :param histogram: the histogram's name.
    :param histogram_doc: its help text.
    :param histogram_labels: its label names, ``le`` excluded.
    :param buckets: the finite upper bounds, ascending; ``+Inf`` is added.
    :raises ValueError: when ``buckets`` is not strictly ascending and finite.
    """

    def __init__(
        self,
        *,
        counters: Mapping[str, str],
        counter_labels: Sequence[str],
        histogram: str,
        histogram_doc: str,
        histogram_labels: Sequence[str],
        buckets: Sequence[float],
    ) -> None:
        bounds = [float(b) for b in buckets]
        if any(not math.isfinite(b) for b in bounds) or bounds != sorted(set(bounds)):
            raise ValueError(f"buckets must be finite and strictly ascending, got {buckets!r}")
        self._bounds = [*bounds, math.inf]
        self._docs = dict(counters)
        self._counter_labels = tuple(counter_labels)
        self._histogram = histogram
        self._histogram_doc = histogram_doc
        self._histogram_labels = tuple(histogram_labels)
        self._lock = threading.Lock()
        self._counts: dict[str, dict[tuple[str, ...], list[float]]] = {n: {} for n in counters}
        self._series: dict[tuple[str, ...], _Histogram] = {}

    def recorder(
        self,
        counter: str | None,
        counter_values: Sequence[str],
        histogram_values: Sequence[str] | None,
    ) -> Callable[[float], None]:
        """Return ``record(value)``: one increment of ``counter{counter_values}`` (none when
        ``counter`` is ``None``) and one observation of ``value`` in the histogram series
        ``histogram_values`` (none when ``None``), under one lock. Binding creates the
        series, at zero.

        :raises KeyError: for an unknown counter.
        :raises ValueError: when a label value count does not match the label names, or
            there is neither a counter nor histogram values to record.
        """
        if counter is None and histogram_values is None:
            raise ValueError("nothing to record: give a counter, histogram values or both")
        if counter is not None and len(counter_values) != len(self._counter_labels):
            raise ValueError(f"counters take one value per label of {self._counter_labels}")
        if histogram_values is not None and len(histogram_values) != len(self._histogram_labels):
            raise ValueError(
                f"{self._histogram} takes one value per label of {self._histogram_labels}"
            )
        with self._lock:
            cell = (
                None
                if counter is None
                else self._counts[counter].setdefault(tuple(counter_values), [0.0])
            )
            series = (
                None
                if histogram_values is None
                else self._series.setdefault(tuple(histogram_values), _Histogram(len(self._bounds)))
            )
        lock, find, bounds = self._lock, bisect.bisect_left, self._bounds
        if series is None:
            assert cell is not None  # one of the two is given (checked above)
            counted_only = cell

            def count(value: float) -> None:
                with lock:
                    counted_only[0] += 1

            return count
        observed, buckets = series, series.buckets
        if cell is None:

            def observe(value: float) -> None:
                # The first bound >= value, as prometheus-client; +Inf is last, so it exists.
                index = find(bounds, value)
                with lock:
                    buckets[index] += 1
                    observed.total += value

            return observe
        counted = cell

        def record(value: float) -> None:
            index = find(bounds, value)
            with lock:
                counted[0] += 1
                buckets[index] += 1
                observed.total += value

        return record

    def counter_values(self, counter: str) -> dict[tuple[str, ...], float]:
        """A snapshot of one counter's series: label values -> count.

        :raises KeyError: for an unknown counter.
        """
        with self._lock:
            return {values: cell[0] for values, cell in self._counts[counter].items()}

    def describe(self) -> Iterator[Metric]:
        """The families, without samples (for the registry's name checks)."""
        return self._families(empty=True)

    def collect(self) -> Iterator[Metric]:
        """The families with their current samples (a consistent snapshot)."""
        return self._families(empty=False)

    def _families(self, *, empty: bool) -> Iterator[Metric]:
        from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily

        with self._lock:
            counts = (
                {}
                if empty
                else {n: {k: v[0] for k, v in s.items()} for n, s in self._counts.items()}
            )
            histograms = (
                {} if empty else {k: (list(h.buckets), h.total) for k, h in self._series.items()}
            )
        for name, doc in self._docs.items():
            family = CounterMetricFamily(name, doc, labels=self._counter_labels)
            for values, value in counts.get(name, {}).items():
                family.add_metric(values, value)
            yield family
        family_h = HistogramMetricFamily(
            self._histogram, self._histogram_doc, labels=self._histogram_labels
        )
        names = ["+Inf" if math.isinf(b) else repr(b) for b in self._bounds]  # as "1.0"
        for values, (per_bucket, total) in histograms.items():
            running, cumulative = 0.0, []
            for bound, count in zip(names, per_bucket, strict=True):
                running += count
                cumulative.append((bound, running))
            family_h.add_metric(list(values), cumulative, total)
        yield family_h
