"""``flowkit demo``: the README's retrieval flow, offline, with the telemetry it records.

It installs telemetry from the environment as any host application does
(:func:`flowkit.telemetry.install`), so an opt-out turns it off here too. What it shows as
recorded is read back from where it went: the lines this run appended to the JSON-lines
file, or the batches the PostHog endpoint accepted. It never shows an event it did not see
delivered.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

from flowkit.cli.common import Subparsers
from flowkit.model import Assistant, Tool
from flowkit.runtime import retrieval_demo_flow
from flowkit.telemetry import PostHogSink, Sink, Telemetry, TelemetryEvent, install
from flowkit.telemetry.envelope import encode_events
from flowkit.telemetry.settings import TelemetrySettings
from flowkit.workspace import Workspace

__all__ = ["QUESTION", "add_parser", "demo_text", "run_demo"]

QUESTION = "How do I turn telemetry off?"
"""The question the demo asks; its answer is in :func:`demo_text`."""
FLUSH_TIMEOUT = 10.0

_HELP = """\
Run flowkit's main job offline, with built-in components: build the README's retrieval flow
on a small bundled text, save it with a tool and an assistant, upsert the text, ask a
question, print the answer, and show each telemetry event as it was recorded and where.

Telemetry is set up from the environment as in any program using flowkit:
DISABLE_FLOWISE_TELEMETRY=true (or DO_NOT_TRACK=1) runs the same flow and records nothing.
"""


def add_parser(commands: Subparsers) -> None:
    """Add ``demo`` to the ``flowkit`` command."""
    parser = commands.add_parser(
        "demo",
        help="run a retrieval flow offline and show the telemetry it records",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=run_demo)


def demo_text() -> str:
    """Return the small text bundled with flowkit for the demo."""
    return (files("flowkit") / "data" / "demo.txt").read_text(encoding="utf-8")


class _Accepted:
    """A sink that hands batches to another and keeps the events it accepted."""

    def __init__(self, inner: Sink) -> None:
        self.inner = inner
        self.events: list[TelemetryEvent] = []

    def send(self, batch: Sequence[TelemetryEvent]) -> None:
        self.inner.send(batch)
        self.events.extend(batch)

    def close(self) -> None:
        self.inner.close()


def _install() -> tuple[Telemetry, _Accepted | None]:
    """Install telemetry from the environment; when it goes to PostHog, through a sink
    that keeps what PostHog accepted."""
    settings = TelemetrySettings.from_env()
    if settings.enabled and settings.posthog_api_key:
        try:
            accepted = _Accepted(PostHogSink(settings.posthog_api_key, settings.posthog_host))
        except Exception:  # e.g. flowkit[posthog] not installed: the client falls back
            return install(settings=settings), None
        return install(settings=settings, sink=accepted), accepted
    return install(settings=settings), None


def _jsonl_file(settings: TelemetrySettings) -> Path:
    """The file events are appended to (also the client's fallback when PostHog fails)."""
    destination = settings.destination
    if destination.kind == "jsonl":
        return Path(destination.target)
    return settings.home / "telemetry.jsonl"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


Recorded = tuple[str, dict[str, Any]]
"""One recorded event: its JSON text exactly as recorded, and what it parses to."""


def _appended(path: Path, offset: int) -> list[Recorded]:
    """The events in the lines appended to ``path`` after ``offset`` bytes."""
    try:
        with path.open("rb") as stream:
            if offset > _size(path):
                offset = 0  # the file was replaced meanwhile
            stream.seek(offset)
            data = stream.read()
    except OSError:
        return []
    events: list[Recorded] = []
    for line in data.decode("utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append((line, event))
    return events


def _ours(event: dict[str, Any], ids: set[str]) -> bool:
    properties = event.get("properties")
    if not isinstance(properties, dict):
        return False
    return any(properties.get(key) in ids for key in ("chatlowId", "toolId", "assistantId"))


def _show(events: list[Recorded], where: str) -> None:
    noun = "event" if len(events) == 1 else "events"
    print(f"{len(events)} telemetry {noun} {where}:")
    for number, (text, event) in enumerate(events, 1):
        print(f"\n[{number}] {event.get('event')}\n{text}")


def run_demo(args: argparse.Namespace) -> int:
    """``flowkit demo``: run the flow, print the answer and the recorded events."""
    telemetry, accepted = _install()
    settings = telemetry.settings
    jsonl = _jsonl_file(settings)
    offset = _size(jsonl)
    off = f"telemetry is off ({settings.disabled_by or 'disabled in code'})"
    print("flowkit demo: a retrieval flow on a bundled text, built-in components, offline.")
    if telemetry.enabled:
        print(f"Telemetry: on; events go to {settings.describe_destination()}")
        print("  (turn it off with DISABLE_FLOWISE_TELEMETRY=true; see 'flowkit telemetry status')")
    else:
        print(f"Telemetry: off ({settings.disabled_by or 'disabled in code'}); nothing is recorded")
    print()

    workspace = Workspace()
    flow = workspace.create_chatflow(retrieval_demo_flow(demo_text(), name="flowkit demo"))
    tool = workspace.create_tool(
        Tool(name="word_count", description="Counts the words of a text.", func="return 0;")
    )
    assistant = workspace.create_assistant(
        Assistant(details={"name": "Docs helper", "instructions": "Answer from the docs."})
    )
    print(
        f"Saved chatflow {flow.name!r} ({len(flow.nodes)} nodes, {len(flow.edges)} edges), "
        f"tool {tool.name!r} and assistant {assistant.details['name']!r}."
    )
    upserted = workspace.upsert_vector(flow)
    print(f"Upserted {upserted.num_added} chunks into {upserted.stop_node_id}.")
    answer = workspace.predict(flow, QUESTION)
    print(f"\nQuestion: {QUESTION}\nAnswer: {answer.text}\n")

    if not telemetry.enabled:
        print(f"No telemetry event was recorded: {off}.")
    else:
        _report(telemetry, accepted, jsonl, offset, {flow.id, tool.id, assistant.id})
    return 0


def _report(
    telemetry: Telemetry, accepted: _Accepted | None, jsonl: Path, offset: int, ids: set[str]
) -> None:
    """Flush, then print the events of this run (``ids``) as they were recorded."""
    settings = telemetry.settings
    delivered = telemetry.flush(FLUSH_TIMEOUT)
    if accepted is not None:
        where = f"sent to PostHog at {settings.posthog_host} (in batches it accepted)"
        texts = encode_events(accepted.events, "posthog")
        recorded = [(text, json.loads(text)) for text in texts]
    else:
        where = f"recorded in {jsonl} (the lines this run appended, verbatim)"
        recorded = _appended(jsonl, offset)
    ours = [item for item in recorded if _ours(item[1], ids)]
    _show(ours, where)
    others = len(recorded) - len(ours)
    if others:
        print(
            f"\n({others} other events were delivered meanwhile: an earlier run's outbox, "
            "or another program recording to the same place)"
        )
    if not delivered:
        stats = telemetry.stats
        print(
            f"\nOnly {stats.delivered} of {stats.enqueued} events were delivered within "
            f"{FLUSH_TIMEOUT:g} s; what is still undelivered at exit is kept in "
            f"{settings.outbox_path} and sent first by the next run."
        )
