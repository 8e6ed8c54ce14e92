"""``flowkit ls`` and ``flowkit diff``: what a workspace file holds, and what changed
between two revisions of one of its chatflows."""

from __future__ import annotations

import argparse
from pathlib import Path

from flowkit.cli.common import CommandError, Subparsers
from flowkit.diff import diff_chatflows
from flowkit.model import Assistant, Chatflow, Tool
from flowkit.storage.sqlite import SQLiteStore

__all__ = ["add_diff_parser", "add_ls_parser", "diff", "ls"]

_LS_HELP = """\
List what the workspace file PATH holds: each chatflow (id, revisions, type, name), tool
(id, name) and assistant (id, name), in the order they were first saved. Reads the file,
never changes it; parses no flow graph.
"""

_DIFF_HELP = """\
Print what changed in chatflow FLOW_ID of the workspace file PATH from revision REV_A to
revision REV_B (numbers as `flowkit ls` counts them, 1 being the create): one line per node
added (+), removed (-) or changed (~, naming the inputs that changed), per edge added or
removed, then a summary line.
"""


def add_ls_parser(commands: Subparsers) -> None:
    """Add ``ls`` to the ``flowkit`` command."""
    parser = commands.add_parser(
        "ls",
        help="list the chatflows, tools and assistants of a workspace file",
        description=_LS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", metavar="PATH", help="a workspace file (.db)")
    parser.set_defaults(handler=ls)


def add_diff_parser(commands: Subparsers) -> None:
    """Add ``diff`` to the ``flowkit`` command."""
    parser = commands.add_parser(
        "diff",
        help="show what changed between two revisions of a chatflow in a workspace file",
        description=_DIFF_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", metavar="PATH", help="a workspace file (.db)")
    parser.add_argument("flow_id", metavar="FLOW_ID", help="the chatflow's id")
    parser.add_argument("rev_a", metavar="REV_A", type=int, help="the revision before")
    parser.add_argument("rev_b", metavar="REV_B", type=int, help="the revision after")
    parser.set_defaults(handler=diff)


def _open(path: str) -> SQLiteStore:
    """Open an existing workspace file (never create one: a typo must not leave a file)."""
    if not Path(path).exists():
        raise CommandError(f"no workspace file at {path!r}: check the path")
    return SQLiteStore(path)


def ls(args: argparse.Namespace) -> int:
    """``flowkit ls``: print the file's chatflows, tools and assistants.

    :raises CommandError: when there is no file at the path.
    :raises StorageError: when the file is not a workspace file (printed as one line).
    """
    with _open(args.path) as store:
        flows = store.list(Chatflow)
        counts = store.revision_counts()
        tools = store.list(Tool)
        assistants = store.list(Assistant)
    print(f"chatflows ({len(flows)})")
    for flow in flows:
        revisions = counts.get(flow.id, 0)
        print(f"  {flow.id}  rev {revisions:<3} {flow.type.value:<10} {flow.name}")
    print(f"tools ({len(tools)})")
    for tool in tools:
        print(f"  {tool.id}  {tool.name}")
    print(f"assistants ({len(assistants)})")
    for assistant in assistants:
        print(f"  {assistant.id}  {assistant.details.get('name', '')}")
    return 0


def diff(args: argparse.Namespace) -> int:
    """``flowkit diff``: print the changes from revision REV_A to REV_B.

    :raises CommandError: when there is no file at the path.
    :raises NotFoundError: when the file has no such chatflow or revision (one line).
    """
    with _open(args.path) as store:
        before = store.get(Chatflow, args.flow_id, revision=args.rev_a)
        after = store.get(Chatflow, args.flow_id, revision=args.rev_b)
    print(f"chatflow {after.name!r} ({args.flow_id}): revision {args.rev_a} -> {args.rev_b}")
    print(diff_chatflows(before, after).render())
    return 0
