"""``flowkit demo``, always in a subprocess: it installs process-wide telemetry."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from flowkit.cli.demo import QUESTION, demo_text

from .helpers import Run

FIVE = [
    "chatflow_created",
    "tool_created",
    "assistant_created",
    "vector_upserted",
    "prediction_sent",
]


def _printed_events(out: str) -> list[tuple[str, str]]:
    """(name, JSON line) of each event the demo printed as recorded."""
    lines = out.splitlines()
    return [
        (line.split("] ", 1)[1], lines[i + 1])
        for i, line in enumerate(lines)
        if line.startswith("[") and "] " in line
    ]


def test_bundled_text_answers_the_question() -> None:
    assert "DISABLE_FLOWISE_TELEMETRY=true" in demo_text()
    assert QUESTION.endswith("?")


def test_demo_prints_the_answer_and_the_five_recorded_events(
    run_flowkit: Run, flowkit_home: Path
) -> None:
    result = run_flowkit("demo")

    assert result.code == 0, result.err
    assert f"Question: {QUESTION}" in result.out
    assert "Answer: According to the context:" in result.out
    assert "DISABLE_FLOWISE_TELEMETRY=true" in result.out.split("Answer:", 1)[1]
    jsonl = flowkit_home / "telemetry.jsonl"
    assert f"5 telemetry events recorded in {jsonl}" in result.out
    printed = _printed_events(result.out)
    assert [name for name, _ in printed] == FIVE
    recorded = jsonl.read_text(encoding="utf-8").splitlines()
    assert [line for _, line in printed] == recorded
    assert [json.loads(line)["event"] for line in recorded] == FIVE
    assert (flowkit_home / "settings.json").is_file()


def test_demo_shows_only_what_this_run_appended(run_flowkit: Run, flowkit_home: Path) -> None:
    first = run_flowkit("demo")
    second = run_flowkit("demo")

    assert first.code == second.code == 0
    recorded = (flowkit_home / "telemetry.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(recorded) == 10
    assert [line for _, line in _printed_events(second.out)] == recorded[5:]


def test_demo_records_to_the_telemetry_file_when_one_is_set(
    run_flowkit: Run, tmp_path: Path
) -> None:
    target = tmp_path / "events" / "mine.jsonl"

    result = run_flowkit("demo", FLOWKIT_TELEMETRY_FILE=str(target))

    assert result.code == 0, result.err
    assert f"recorded in {target}" in result.out
    assert len(target.read_text(encoding="utf-8").splitlines()) == 5


@pytest.mark.parametrize(
    ("variable", "value"), [("DISABLE_FLOWISE_TELEMETRY", "true"), ("DO_NOT_TRACK", "1")]
)
def test_demo_opted_out_says_off_and_why_and_records_nothing(
    variable: str, value: str, run_flowkit: Run, flowkit_home: Path
) -> None:
    result = run_flowkit("demo", **{variable: value})

    assert result.code == 0, result.err
    assert "Answer: According to the context:" in result.out
    assert f"Telemetry: off ({variable}={value} in environment)" in result.out
    assert "No telemetry event was recorded" in result.out
    assert _printed_events(result.out) == []
    assert list(flowkit_home.iterdir()) == []


def test_demo_with_posthog_shows_what_the_endpoint_accepted(
    run_flowkit: Run, flowkit_home: Path
) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    try:
        from fake_posthog import FakePostHog
    finally:
        sys.path.pop(0)
    with FakePostHog() as server:
        url = server.url
        result = run_flowkit("demo", POSTHOG_PUBLIC_API_KEY="phc_demo", POSTHOG_HOST=url)
        received = server.events

    assert result.code == 0, result.err
    assert f"PostHog at {url}" in result.out
    printed = [json.loads(line) for _, line in _printed_events(result.out)]
    assert [event["event"] for event in printed] == FIVE
    assert [event["uuid"] for event in printed] == [event["uuid"] for event in received]
    assert not (flowkit_home / "telemetry.jsonl").exists()
