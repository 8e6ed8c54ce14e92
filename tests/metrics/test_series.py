"""flowkit's own series against prometheus-client's instruments: the same exposition for any
sequence of outcomes, exact counts under threads, and clear errors."""

from __future__ import annotations

import math
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram

from flowkit.metrics.counting import COUNTERS, DURATION_BUCKETS_MS, DURATION_HISTOGRAM
from flowkit.metrics.prometheus import render
from flowkit.metrics.series import SeriesCollector

LAYOUT = {
    **dict.fromkeys(COUNTERS, ("status", "app")),
    DURATION_HISTOGRAM: ("operation", "status", "le"),
}
DOC = "Duration of flowkit operations in ms"


def collector(buckets: tuple[float, ...] = DURATION_BUCKETS_MS) -> SeriesCollector:
    return SeriesCollector(
        counters=COUNTERS,
        counter_labels=("status", "app"),
        histogram=DURATION_HISTOGRAM,
        histogram_doc=DOC,
        histogram_labels=("operation", "status"),
        buckets=buckets,
    )


outcome = st.tuples(
    st.sampled_from([None, *COUNTERS]),
    st.sampled_from(["predict", "create_chatflow", "delete_tool"]),
    st.sampled_from(["success", "failure"]),
    st.one_of(
        st.floats(min_value=0, max_value=1e7, allow_nan=False),
        st.sampled_from([float(b) for b in DURATION_BUCKETS_MS]),  # on a bound: le is <=
        st.just(math.inf),
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(outcome, max_size=40))
def test_the_exposition_equals_prometheus_clients_for_any_outcomes(
    outcomes: list[tuple[str | None, str, str, float]],
) -> None:
    ours_registry = CollectorRegistry()
    ours = collector()
    ours_registry.register(ours)
    reference = CollectorRegistry()
    counters = {
        n: Counter(n, d, ("status", "app"), registry=reference) for n, d in COUNTERS.items()
    }
    histogram = Histogram(
        DURATION_HISTOGRAM,
        DOC,
        ("operation", "status"),
        buckets=DURATION_BUCKETS_MS,
        registry=reference,
    )

    for counter, operation, status, value in outcomes:
        ours.recorder(counter, (status, "Acme"), (operation, status))(value)
        if counter is not None:
            counters[counter].labels(status, "Acme").inc()
        histogram.labels(operation, status).observe(value)

    assert render(ours_registry, LAYOUT) == render(reference, LAYOUT)


def test_counts_are_exact_under_threads() -> None:
    series = collector()
    registry = CollectorRegistry()
    registry.register(series)
    record = series.recorder(
        "chatflow_prediction_external", ("success", "Acme"), ("predict", "success")
    )
    start = threading.Barrier(8)

    def work() -> None:
        start.wait()
        for _ in range(5_000):
            record(3.0)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    text = render(registry, LAYOUT).decode()
    assert 'chatflow_prediction_external{status="success",app="Acme"} 40000' in text
    assert (
        'flowkit_operation_duration_ms_bucket{operation="predict",status="success",le="5"} 40000'
        in text
    )
    assert 'flowkit_operation_duration_ms_sum{operation="predict",status="success"} 120000' in text


def test_a_counter_alone_and_a_histogram_alone_record_only_themselves() -> None:
    series = collector()
    registry = CollectorRegistry()
    registry.register(series)

    series.recorder("tool_created", ("success", "Acme"), None)(99.0)
    series.recorder(None, ("success", "Acme"), ("delete_tool", "success"))(2.0)

    text = render(registry, LAYOUT).decode()
    assert 'tool_created{status="success",app="Acme"} 1' in text
    assert 'flowkit_operation_duration_ms_count{operation="delete_tool",status="success"} 1' in text
    assert "99" not in text


@pytest.mark.parametrize("buckets", [(5, 1), (1, 1), (1, math.inf), (math.nan,)])
def test_buckets_must_be_finite_and_strictly_ascending(buckets: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="strictly ascending"):
        collector(buckets)


def test_label_values_must_match_the_label_names() -> None:
    series = collector()

    with pytest.raises(ValueError, match="one value per label"):
        series.recorder("tool_created", ("success",), None)
    with pytest.raises(ValueError, match="one value per label"):
        series.recorder(None, ("success", "Acme"), ("predict",))
    with pytest.raises(KeyError):
        series.recorder("no_such_counter", ("success", "Acme"), None)


def test_a_recorder_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="nothing to record"):
        collector().recorder(None, ("success", "Acme"), None)
