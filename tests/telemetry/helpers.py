"""Sending ``prediction_sent`` as a workspace does, for the telemetry tests.

One place for the signal's placeholder arguments, so that a new argument of the signal is
added here once instead of in every test file.
"""

from __future__ import annotations

from pathlib import Path

from flowkit import ChatType, signals
from flowkit.runtime import retrieval_demo_flow
from flowkit.telemetry import MemorySink, Telemetry, TelemetryEvent, TelemetrySettings


def send_prediction(
    flow: object, chat_id: str = "chat-1", *, strict: bool = False, **extra: object
) -> None:
    """Send one ``prediction_sent`` for ``flow`` with placeholder arguments (no workspace,
    question ``"q"``, no result); ``extra`` adds or replaces arguments."""
    arguments: dict[str, object] = {
        "workspace": None,
        "chat_id": chat_id,
        "chat_type": ChatType.EXTERNAL,
        "question": "q",
        "result": None,
        "duration": 0.0,
    }
    signals.send(signals.prediction_sent, flow, strict=strict, **{**arguments, **extra})


def send_predictions(flow: object, count: int, prefix: str = "chat") -> None:
    """Send ``count`` predictions for ``flow``, chat ids ``<prefix>-0``, ``<prefix>-1``, ..."""
    for i in range(count):
        send_prediction(flow, f"{prefix}-{i}")


def recorded_events(count: int, home: Path, prefix: str = "chat") -> list[TelemetryEvent]:
    """``count`` real ``prediction_sent`` events of the demo flow, as a telemetry client
    whose home is ``home`` builds them (recorded by a synchronous client into memory)."""
    sink = MemorySink()
    maker = Telemetry(sink=sink, settings=TelemetrySettings(home=home), synchronous=True)
    maker.connect()
    send_predictions(retrieval_demo_flow("Paris is in France."), count, prefix)
    maker.shutdown()
    return sink.events
