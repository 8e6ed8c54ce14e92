"""Sending outcome signals as a workspace does, and reading the text exposition back."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flowkit import Chatflow, ChatType, FlowType, signals

SPEC = Path(__file__).parents[1] / "data" / "spec" / "flowise-3.1.4-metrics.txt"
"""What a real Flowise 3.1.4 answered on ``/metrics`` (vendored; see its NOTICE)."""

_SERIES = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$")


def series(text: str) -> dict[str, float]:
    """Return every sample line of a text exposition as ``{'name{labels}': value}``."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SERIES.match(line)
        assert match is not None, f"not a sample line: {line!r}"
        found[match.group(1)] = float(match.group(2))
    return found


def flow(flow_type: FlowType = FlowType.CHATFLOW, name: str = "flow") -> Chatflow:
    """A chatflow of ``flow_type`` with one node."""
    made = Chatflow(name=name, type=flow_type)
    made.add_node("chatOpenAI")
    return made


def succeeded(signal: Any, sender: Any, duration: float = 0.004, **kwargs: Any) -> None:
    """Send a success signal as the workspace does (strict: a raising receiver fails)."""
    signals.send(signal, sender, strict=True, workspace=None, duration=duration, **kwargs)


def failed(
    operation: str,
    sender: Any,
    *,
    duration: float = 0.002,
    chat_type: ChatType | None = None,
    flow_type: FlowType | None = None,
    error_type: str = "NotFoundError",
) -> None:
    """Send ``operation_failed`` as the workspace does (strict)."""
    signals.send(
        signals.operation_failed,
        sender,
        strict=True,
        workspace=None,
        operation=operation,
        error_type=error_type,
        duration=duration,
        chat_type=chat_type,
        flow_type=flow_type,
    )
