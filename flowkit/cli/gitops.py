"""``flowkit pull``, ``plan`` and ``apply``: flows as code on the command line.

Each takes a folder and a workspace: ``--url`` is a Flowise server (``http://...``) or a
workspace file (``flows.db``); ``--url`` and ``--api-key`` default to ``FLOWISE_URL`` and
``FLOWISE_API_KEY``. Exit status (as Terraform's ``plan -detailed-exitcode``): 0 done and
nothing (more) to change, 2 ``plan`` found changes, 1 an error, always one
``flowkit: error: ...`` line on standard error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from flowkit.cli.common import Parser, Subparsers
from flowkit.errors import FlowkitError
from flowkit.gitops import Action, Plan, apply, plan, pull
from flowkit.workspace import Workspace

__all__ = ["EXIT_CHANGES", "EXIT_ERROR", "EXIT_OK", "add_parsers", "open_workspace"]

EXIT_OK = 0
"""Done; for ``plan``, nothing would change."""
EXIT_ERROR = 1
"""An error; the reason is one line on standard error."""
EXIT_CHANGES = 2
"""``plan``: applying would change something."""

_WHERE = """\
WORKSPACE (--url, else FLOWISE_URL): a Flowise server's address (http://host:3000, with
--api-key or FLOWISE_API_KEY) or a workspace file (flows.db). The folder holds chatflows/,
agentflows/, multiagents/, assistantflows/, tools/ and assistants/, one Flowise export per
file named by the entity's name; credentials are written as "credential:<name>" (see
docs/flows-as-code.md).
"""

_PULL_HELP = f"""\
Write every chatflow, tool and assistant of WORKSPACE into DIR, one stable JSON file each
(a file is rewritten only when its content differs). Files of entities the workspace has not
are kept, unless --prune.

{_WHERE}
exit status: 0 done, 1 error.
"""

_PLAN_HELP = f"""\
Print what `flowkit apply DIR` would change in WORKSPACE, one line each: "+ kind/name" to
create, "~ kind/name: ..." to update (naming the nodes added, removed and changed and the
edges added and removed), "- kind/name" to delete (only with --prune). Changes nothing.
A workspace file that does not exist yet plans as an empty workspace.

{_WHERE}
exit status: 0 nothing would change, 2 something would, 1 error (so CI can gate on it).
"""

_APPLY_HELP = f"""\
Make WORKSPACE match DIR: create, update and (with --prune) delete, printing the plan first
and asking before changing anything unless --yes. Applying twice changes nothing the second
time. A workspace file that does not exist is created.

{_WHERE}
exit status: 0 done (or nothing to do), 1 error or declined.
"""


class _Parser(Parser):
    """A subcommand parser whose usage errors exit 1 (an error), never 2 (``plan``'s
    "changes pending"), and which refuses unknown arguments itself."""

    def error(self, message: str) -> NoReturn:
        _print_error(f"{message} (see '{self.prog} --help')")
        raise SystemExit(EXIT_ERROR)

    def parse_known_args(  # type: ignore[override]
        self, args: Any = None, namespace: Any = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if args is not None:
            args = _key_joined(list(args), self._option_string_actions)
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


def _key_joined(args: list[str], options: Mapping[str, object]) -> list[str]:
    """``args`` with ``--api-key VALUE`` written ``--api-key=VALUE`` when VALUE begins with
    ``-`` and is no option: Flowise's keys are base64url, and argparse would otherwise read
    such a key as an option and say the key is missing."""
    joined: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        if word == "--":  # the rest is positional
            return joined + args[index:]
        following = args[index + 1] if index + 1 < len(args) else None
        if (
            word == "--api-key"
            and following is not None
            and following.startswith("-")
            and following not in options
        ):
            joined.append(f"--api-key={following}")
            index += 2
            continue
        joined.append(word)
        index += 1
    return joined


def add_parsers(commands: Subparsers) -> None:
    """Add ``pull``, ``plan`` and ``apply`` to the ``flowkit`` command."""
    for name, summary, description, handler in (
        (
            "pull",
            "write a workspace's flows, tools and assistants into a folder",
            _PULL_HELP,
            _pull,
        ),
        ("plan", "print what apply would change (exit 2 when something would)", _PLAN_HELP, _plan),
        ("apply", "make a workspace match a folder", _APPLY_HELP, _apply),
    ):
        parser = commands.add_parser(
            name,
            help=summary,
            description=description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.__class__ = _Parser  # add_parser takes no class of its own
        parser.add_argument("folder", metavar="DIR", help="the flows-as-code folder")
        parser.add_argument(
            "--url",
            metavar="WORKSPACE",
            default=None,
            help="a Flowise server's address or a workspace file (default: $FLOWISE_URL)",
        )
        parser.add_argument(
            "--api-key",
            metavar="KEY",
            default=None,
            help="the Flowise API key (default: $FLOWISE_API_KEY)",
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help="also remove what the other side has not (pull: files; plan/apply: entities)",
        )
        if name == "apply":
            parser.add_argument("--yes", action="store_true", help="apply without asking")
        parser.set_defaults(handler=handler)


def _is_server(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def _looks_like_host(text: str) -> bool:
    """Whether ``text`` reads as ``host:port`` (a server address without its scheme)."""
    host, _, port = text.rpartition(":")
    return bool(host) and port.isdigit() and "/" not in host


@contextmanager
def open_workspace(
    url: str | None, api_key: str | None, *, create: bool = False, missing_is_empty: bool = False
) -> Iterator[Workspace]:
    """Open the workspace ``--url`` names, closing it afterwards.

    :param url: a Flowise server's address or a workspace file (default: ``FLOWISE_URL``).
    :param api_key: the server's API key (default: ``FLOWISE_API_KEY``).
    :param create: create a workspace file that does not exist (``apply``).
    :param missing_is_empty: read a workspace file that does not exist as an empty
        workspace, creating nothing (``plan``).
    :raises FlowkitError: when no workspace is named, the file does not exist (and neither
        ``create`` nor ``missing_is_empty``), or the server or file cannot be opened.
    """
    where = url or os.environ.get("FLOWISE_URL") or ""
    key = api_key or os.environ.get("FLOWISE_API_KEY") or None
    if not where:
        raise FlowkitError(
            "no workspace: pass --url http://host:3000 (a Flowise server) or --url flows.db "
            "(a workspace file), or set FLOWISE_URL"
        )
    if _is_server(where):
        workspace = Workspace.connect(where, api_key=key)
    elif Path(where).exists() or (create and not _looks_like_host(where)):
        workspace = Workspace.open(where)
    elif missing_is_empty and not _looks_like_host(where):
        workspace = Workspace()
    else:
        hint = (
            f" (a server's address starts with http://: http://{where})"
            if _looks_like_host(where)
            else ""
        )
        raise FlowkitError(
            f"no workspace file {where}{hint}: check the path, or create it with 'flowkit apply'"
        )
    try:
        yield workspace
    finally:
        close = getattr(workspace, "close", None)
        if callable(close):
            close()


def _print_error(message: str) -> None:
    text = " ".join(line.strip() for line in message.splitlines())
    print(f"flowkit: error: {text}", file=sys.stderr)


def _warn(messages: list[str] | tuple[str, ...]) -> None:
    for message in messages:
        print(f"flowkit: warning: {message}", file=sys.stderr)


def _guarded(run: Any, args: argparse.Namespace) -> int:
    try:
        status: int = run(args)
    except FlowkitError as exc:
        _print_error(str(exc))
        return EXIT_ERROR
    return status


def _pull(args: argparse.Namespace) -> int:
    return _guarded(_run_pull, args)


def _plan(args: argparse.Namespace) -> int:
    return _guarded(_run_plan, args)


def _apply(args: argparse.Namespace) -> int:
    return _guarded(_run_apply, args)


def _run_pull(args: argparse.Namespace) -> int:
    with open_workspace(args.url, args.api_key) as workspace:
        result = pull(workspace, args.folder, prune=args.prune)
    _warn(result.warnings)
    for path in result.written:
        print(f"wrote {path}")
    for path in result.removed:
        print(f"removed {path}")
    for path in result.kept:
        print(f"kept {path} (no such entity in the workspace; --prune removes it)")
    total = len(result.written) + len(result.unchanged)
    print(
        f"Pulled {total} entities into {args.folder}: {len(result.written)} written, "
        f"{len(result.unchanged)} unchanged."
    )
    return EXIT_OK


def _print_plan(planned: Plan) -> None:
    for change in planned.changes:
        print(change.line)
    for label in planned.kept:
        print(f"  {label}: not in the folder, kept (--prune deletes it)")
    print(planned.summary)


def _run_plan(args: argparse.Namespace) -> int:
    with open_workspace(args.url, args.api_key, missing_is_empty=True) as workspace:
        planned = plan(workspace, args.folder, prune=args.prune)
    _warn(planned.warnings)
    _print_plan(planned)
    return EXIT_OK if planned.empty else EXIT_CHANGES


_DONE = {Action.CREATE: "created", Action.UPDATE: "updated", Action.DELETE: "deleted"}


def _run_apply(args: argparse.Namespace) -> int:
    with open_workspace(args.url, args.api_key, create=True) as workspace:
        planned = plan(workspace, args.folder, prune=args.prune)
        _warn(planned.warnings)
        _print_plan(planned)
        if planned.empty:
            return EXIT_OK
        if not args.yes and not _confirmed(len(planned.changes)):
            return EXIT_ERROR
        for done in apply(workspace, planned):
            print(f"{_DONE[done.change.action]} {done.change.document.label} ({done.id})")
    print(
        f"Applied: {planned.count(Action.CREATE)} created, {planned.count(Action.UPDATE)} "
        f"updated, {planned.count(Action.DELETE)} deleted."
    )
    return EXIT_OK


def _confirmed(count: int) -> bool:
    if not sys.stdin.isatty():
        raise FlowkitError(
            "standard input is not a terminal, so apply cannot ask: pass --yes to apply "
            "without asking"
        )
    try:
        answer = input(f"Apply these {count} changes? [y/N] ")
    except EOFError:  # Ctrl-D at the prompt: a no, like an empty answer
        print()
        answer = ""
    if answer.strip().lower() in ("y", "yes"):
        return True
    print("Nothing applied.", file=sys.stderr)
    return False
