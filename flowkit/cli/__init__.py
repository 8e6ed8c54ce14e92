"""The ``flowkit`` command (also ``python -m flowkit``).

Commands: ``demo``, ``preview``, ``validate``, ``events``, ``schema``, ``telemetry
status``, ``ls`` and ``diff`` (workspace files), ``components`` (Flowise's catalog), and
``pull``, ``plan``, ``apply``; ``flowkit COMMAND --help`` describes each.
Exit status: 0 success, 1 ``validate`` found a file with problems, 2 an error (bad usage
or bad input: a missing file, bad JSON, an unknown event, an invalid flow), always reported
as one ``flowkit: error: ...`` line on standard error, never a traceback. This package is
the only part of flowkit that prints.
"""

from __future__ import annotations

import argparse
import os
import sys

from flowkit.cli import components, demo, events, flows, gitops, status, workspace_file
from flowkit.cli.common import CommandError, Handler, Parser, UsageError
from flowkit.errors import FlowkitError

__all__ = ["EXIT_ERROR", "EXIT_FAILED", "EXIT_OK", "main"]

EXIT_OK = 0
"""The command did what was asked."""
EXIT_FAILED = 1
"""``flowkit validate``: at least one file has problems."""
EXIT_ERROR = 2
"""Bad usage or bad input; the reason is one line on standard error."""

_DESCRIPTION = """\
Build, check and inspect Flowise-style flows, and see exactly what flowkit's telemetry sends.

exit status: 0 success, 1 `validate` found problems, 2 bad usage or bad input
(one "flowkit: error: ..." line on standard error). pull, plan and apply, as
Terraform: 0 success (plan: nothing to change), 2 plan found changes, 1 any error.
"""


def build_parser() -> Parser:
    """Return the parser of the ``flowkit`` command and all its subcommands."""
    from flowkit import __version__

    parser = Parser(
        prog="flowkit",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"flowkit {__version__}")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=Parser
    )
    demo.add_parser(commands)
    flows.add_preview_parser(commands)
    flows.add_validate_parser(commands)
    events.add_events_parser(commands)
    events.add_schema_parser(commands)
    status.add_parser(commands)
    workspace_file.add_ls_parser(commands)
    workspace_file.add_diff_parser(commands)
    components.add_parser(commands)
    gitops.add_parsers(commands)  # pull, plan, apply: exit 1 on any error, 2 = changes
    return parser


def _error(message: str) -> int:
    text = " ".join(line.strip() for line in message.splitlines())  # one line, always
    print(f"flowkit: error: {text}", file=sys.stderr)
    return EXIT_ERROR


def main(argv: list[str] | None = None) -> int:
    """Run the ``flowkit`` command.

    :param argv: the arguments after the program name (default: ``sys.argv[1:]``).
    :returns: the exit status: :data:`EXIT_OK`, :data:`EXIT_FAILED` or :data:`EXIT_ERROR`.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        return _error(f"{exc} (see '{exc.prog} --help')")
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    handler: Handler = args.handler
    try:
        return handler(args)
    except (CommandError, FlowkitError) as exc:
        return _error(str(exc))
    except BrokenPipeError:  # e.g. `flowkit events | head -1`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("flowkit: interrupted", file=sys.stderr)
        return 130
