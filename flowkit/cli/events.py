"""``flowkit events`` and ``flowkit schema``: the telemetry events, their fields and their
JSON Schemas, generated from the payload models."""

from __future__ import annotations

import argparse
from typing import Any

from flowkit.cli.common import Subparsers, dump_json
from flowkit.telemetry.catalog import render_events
from flowkit.telemetry.events import DEFAULT_PROFILE, EVENTS, PROFILES, json_schema

__all__ = ["add_events_parser", "add_profile_option", "add_schema_parser", "events", "schema"]


def add_events_parser(commands: Subparsers) -> None:
    """Add ``events`` to the ``flowkit`` command."""
    parser = commands.add_parser(
        "events",
        help="list the telemetry events and their properties",
        description="List the telemetry events: when each is sent, and its properties in "
        "the order they are sent, with what each holds (generated from the payload models; "
        "the table of Flowise's telemetry page).",
    )
    parser.add_argument(
        "--format",
        choices=["table", "markdown", "json"],
        default="table",
        help="plain text for a terminal (default), a Markdown table, or JSON",
    )
    parser.add_argument(
        "--lang", choices=["en", "es"], default="en", help="English (default) or Spanish"
    )
    add_profile_option(parser)
    parser.set_defaults(handler=events)


def add_profile_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--profile {flowise-1,flowise-3}`` to a command."""
    parser.add_argument(
        "--profile",
        choices=list(PROFILES),
        default=DEFAULT_PROFILE,
        help="wire profile: the shapes of Flowise 1.x (default) or of Flowise 3",
    )


def add_schema_parser(commands: Subparsers) -> None:
    """Add ``schema`` to the ``flowkit`` command."""
    parser = commands.add_parser(
        "schema",
        help="print the JSON Schema of an event's properties",
        description="Print the JSON Schema (draft 2020-12) of one event's properties, or "
        "of every event as {event: schema}.",
    )
    parser.add_argument(
        "event", metavar="EVENT", nargs="?", help=f"one of: {', '.join(EVENTS)} (default: all)"
    )
    add_profile_option(parser)
    parser.set_defaults(handler=schema)


def events(args: argparse.Namespace) -> int:
    """``flowkit events``: print the events table."""
    print(render_events(args.format, args.lang, args.profile), end="")
    return 0


def schema(args: argparse.Namespace) -> int:
    """``flowkit schema``: print one schema or all.

    :raises FlowkitError: when the event is unknown (the message names the known ones).
    """
    data: dict[str, Any]
    if args.event is None:
        data = {name: json_schema(name, args.profile) for name in EVENTS}
    else:
        data = json_schema(args.event, args.profile)
    print(dump_json(data))
    return 0
