"""``flowkit preview`` and ``flowkit validate``: what a Flowise export (a flow or a tool)
would send, and whether it is valid."""

from __future__ import annotations

import argparse
from typing import Any

from flowkit import __version__
from flowkit.cli.common import (
    CommandError,
    Subparsers,
    dump_json,
    one_line,
    read_flow_file,
)
from flowkit.cli.events import add_profile_option
from flowkit.errors import FlowValidationError
from flowkit.flowise import is_tool_export, read_json
from flowkit.graph import problems
from flowkit.model import Chatflow, ChatType, Tool
from flowkit.telemetry.properties import (
    CHATFLOW_EVENTS,
    event_fields,
    preview_events,
    wire_properties,
)

__all__ = ["add_preview_parser", "add_validate_parser", "load_export", "preview", "validate"]

TOOL_EVENT = "tool_created"
"""The one event a tool sends: when it is saved."""

_PREVIEW_HELP = """\
Print, as a JSON list of {"event", "properties"} objects, exactly the telemetry events
flowkit would send for FILE: chatflow_created when it is saved, vector_upserted when
documents are upserted through it (only when it has a vector store), prediction_sent when it
answers a question; for a tool export, tool_created. The properties are built by the
telemetry client's own code.

A flow with several vector stores needs --stop-node to preview its upsert: without it, the
command names the stores and exits with status 2.

Nothing is sent, no instance id is read or created, no file is written. The chatlowId is the
export's id (a fresh uuid4 for a template, which has none), the chatId a fresh uuid4 (it
differs per conversation), and node ids that are not Flowise's <name>_<n> appear as
pseudonyms that differ per process.
"""

_VALIDATE_HELP = """\
Load and check each FILE as a Flowise flow or tool export (a file with "func" or "schema"
and no "nodes" is a tool); print "FILE: ok", or one "FILE: problem" line per problem, each
naming its node, edge or field. Exit status 1 when any file fails, 0 otherwise.
"""


def add_preview_parser(commands: Subparsers) -> None:
    """Add ``preview`` to the ``flowkit`` command."""
    parser = commands.add_parser(
        "preview",
        help="print the telemetry events a Flowise export would send",
        description=_PREVIEW_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "file", metavar="FILE", help="a Flowise flow or tool export (.json, at most 64 MiB)"
    )
    parser.add_argument(
        "--event",
        choices=(*CHATFLOW_EVENTS, TOOL_EVENT),
        help=f"print only this event (default: all; a tool sends only {TOOL_EVENT})",
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
    parser.add_argument(
        "files",
        metavar="FILE",
        nargs="+",
        help="a Flowise flow or tool export (.json, at most 64 MiB)",
    )
    parser.set_defaults(handler=validate)


def load_export(file: str) -> Chatflow | Tool:
    """Load the Flowise export at the path ``file``: a :class:`Tool` when it is a tool
    export (see :func:`~flowkit.flowise.is_tool_export`), else a :class:`Chatflow`.

    :raises FlowValidationError: naming every problem, when it cannot be read or loaded.
    """
    obj = read_json(read_flow_file(file), f"file '{file}'")
    if is_tool_export(obj):
        return Tool.from_flowise(obj)
    return Chatflow.from_flowise(obj)


def preview(args: argparse.Namespace) -> int:
    """``flowkit preview``: print the events as JSON.

    :raises CommandError: when the file cannot be loaded, the flow is invalid (nothing
        would be sent), no single vector store can be chosen (naming the stores), or the
        event asked for is not one the export sends.
    """
    file: str = args.file
    try:
        export = load_export(file)
    except FlowValidationError as exc:
        raise CommandError(f"{file}: {one_line(exc)}") from None
    if isinstance(export, Tool):
        print(dump_json(_tool_events(export, args, file)))
        return 0
    _check(export, file)
    if args.event == TOOL_EVENT:
        raise CommandError(f"{file}: a chatflow does not send {TOOL_EVENT}; see --help")
    try:
        events = preview_events(
            export,
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


def _tool_events(tool: Tool, args: argparse.Namespace, file: str) -> list[dict[str, Any]]:
    if args.event not in (None, TOOL_EVENT):
        raise CommandError(
            f"{file}: a tool sends only {TOOL_EVENT}, not {args.event}; drop --event"
        )
    if args.stop_node is not None:
        raise CommandError(f"{file}: --stop-node applies to flows with vector stores, not tools")
    fields = event_fields(TOOL_EVENT, tool)
    properties = wire_properties(TOOL_EVENT, fields, None, __version__, profile=args.profile)
    return [{"event": TOOL_EVENT, "properties": properties}]


def _check(flow: Chatflow, file: str) -> None:
    found = problems(flow)
    if found:
        raise CommandError(
            f"{file}: invalid flow, so nothing would be sent: {'; '.join(found)} "
            f"(see 'flowkit validate {file}')"
        )


def validate(args: argparse.Namespace) -> int:
    """``flowkit validate``: print each file's verdict (a tool export is checked as a tool).

    :returns: 1 when any file has a problem, else 0.
    """
    failed = False
    for file in args.files:
        try:
            export = load_export(file)
            found = [] if isinstance(export, Tool) else problems(export)
        except FlowValidationError as exc:
            found = list(exc.problems)
        for problem in found:
            print(f"{file}: {problem}")
        if not found:
            print(f"{file}: ok")
        failed = failed or bool(found)
    return 1 if failed else 0
