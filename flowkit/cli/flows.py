"""``flowkit preview`` and ``flowkit validate``: what a Flowise export would send, and
whether it is a valid flow."""

from __future__ import annotations

import argparse
from pathlib import Path

from flowkit.cli.common import CommandError, Subparsers, dump_json, load_flow, one_line
from flowkit.errors import FlowValidationError
from flowkit.graph import problems
from flowkit.model import Chatflow, ChatType
from flowkit.cli.events import add_profile_option
from flowkit.telemetry.properties import CHATFLOW_EVENTS, preview_events

__all__ = ["add_preview_parser", "add_validate_parser", "preview", "validate"]

_PREVIEW_HELP = """\
Print, as a JSON list of {"event", "properties"} objects, exactly the telemetry events
flowkit would send for FILE: chatflow_created when it is saved, vector_upserted when
documents are upserted through it (only when it has a vector store), prediction_sent when it
answers a question. The properties are built by the telemetry client's own code.

Nothing is sent, no instance id is read or created, no file is written. The chatlowId is the
export's id (a fresh uuid4 for a template, which has none), the chatId a fresh uuid4 (it
differs per conversation), and node ids that are not Flowise's <name>_<n> appear as
pseudonyms that differ per process.
"""

_VALIDATE_HELP = """\
Load and check each FILE as a Flowise flow; print "FILE: ok", or one "FILE: problem" line per
problem, each naming its node or edge. Exit status 1 when any file fails, 0 otherwise.
"""


def add_preview_parser(commands: Subparsers) -> None:
    """Add ``preview`` to the ``flowkit`` command."""
    parser = commands.add_parser(
        "preview",
        help="print the telemetry events a Flowise export would send",
        description=_PREVIEW_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="a Flowise export (.json)")
    parser.add_argument(
        "--event", choices=CHATFLOW_EVENTS, help="print only this event (default: all)"
    )
    parser.add_argument(
        "--stop-node",
        metavar="ID",
        help="the vector-store node an upsert stops at (needed when there are several)",
    )
    parser.add_argument(
        "--chat-type",
        type=str.upper,
        choices=[kind.value for kind in ChatType],
        default=ChatType.EXTERNAL.value,
        help="the type of the upsert and prediction events (default: EXTERNAL, as "
        "Flowise's API routes)",
    )
    add_profile_option(parser)
    parser.set_defaults(handler=preview)


def add_validate_parser(commands: Subparsers) -> None:
    """Add ``validate`` to the ``flowkit`` command."""
    parser = commands.add_parser(
        "validate",
        help="check Flowise exports and print every problem",
        description=_VALIDATE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", metavar="FILE", nargs="+", help="a Flowise export (.json)")
    parser.set_defaults(handler=validate)


def preview(args: argparse.Namespace) -> int:
    """``flowkit preview``: print the events as JSON.

    :raises CommandError: when the file cannot be loaded, the flow is invalid (nothing
        would be sent), or no single vector store can be chosen.
    """
    file: str = args.file
    flow = load_flow(file)
    _check(flow, file)
    try:
        events = preview_events(
            flow,
            events=None if args.event is None else [args.event],
            stop_node_id=args.stop_node,
            chat_type=args.chat_type,
            profile=args.profile,
        )
    except FlowValidationError as exc:
        reason = one_line(exc).replace("pass stop_node_id=...", "pass --stop-node ID")
        raise CommandError(f"{file}: {reason}") from None
    print(dump_json(events))
    return 0


def _check(flow: Chatflow, file: str) -> None:
    found = problems(flow)
    if found:
        raise CommandError(
            f"{file}: invalid flow, so nothing would be sent: {'; '.join(found)} "
            f"(see 'flowkit validate {file}')"
        )


def validate(args: argparse.Namespace) -> int:
    """``flowkit validate``: print each file's verdict.

    :returns: 1 when any file has a problem, else 0.
    """
    failed = False
    for file in args.files:
        try:
            found = problems(Chatflow.from_flowise(Path(file)))
        except FlowValidationError as exc:
            found = list(exc.problems)
        for problem in found:
            print(f"{file}: {problem}")
        if not found:
            print(f"{file}: ok")
        failed = failed or bool(found)
    return 1 if failed else 0
