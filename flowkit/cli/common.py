"""What the commands share: the error they raise, JSON output and loading a flow file."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeAlias

from flowkit.errors import FlowValidationError
from flowkit.model import Chatflow

__all__ = [
    "CommandError",
    "Handler",
    "Parser",
    "Subparsers",
    "UsageError",
    "dump_json",
    "load_flow",
    "one_line",
]

Handler = Callable[[argparse.Namespace], int]
"""A command: takes the parsed arguments, prints, returns the exit status."""


class UsageError(Exception):
    """The command line is wrong; ``prog`` names the (sub)command whose help to see."""

    def __init__(self, message: str, prog: str) -> None:
        super().__init__(message)
        self.prog = prog


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are raised as :class:`UsageError` (printed by
    ``main`` as one line) instead of printed with the usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self.prog)


Subparsers: TypeAlias = "argparse._SubParsersAction[Parser]"
"""What ``add_subparsers`` returns: each command module adds its parser to it."""


class CommandError(Exception):
    """A command cannot do what was asked; the message is printed as one line."""


def one_line(error: FlowValidationError) -> str:
    """Return every problem of ``error`` on one line, separated by ``"; "``."""
    return "; ".join(error.problems)


def dump_json(data: Any) -> str:
    """Return ``data`` as indented JSON, non-ASCII kept, keys in their own order."""
    return json.dumps(data, indent=2, ensure_ascii=False)


def load_flow(file: str) -> Chatflow:
    """Load a Flowise export from the path ``file`` (any shape ``from_flowise`` accepts).

    :raises CommandError: naming the file and every problem, when it cannot be loaded.
    """
    try:
        return Chatflow.from_flowise(Path(file))
    except FlowValidationError as exc:
        raise CommandError(f"{file}: {one_line(exc)}") from None
