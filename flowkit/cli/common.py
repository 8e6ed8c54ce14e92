"""What the commands share: the error they raise, JSON output and loading a flow file."""

from __future__ import annotations

import argparse
import json
import os
import stat
from collections.abc import Callable
from typing import Any, NoReturn, TypeAlias

from flowkit.errors import FlowValidationError

__all__ = [
    "MAX_FLOW_FILE_BYTES",
    "CommandError",
    "Handler",
    "Parser",
    "Subparsers",
    "UsageError",
    "dump_json",
    "one_line",
    "read_flow_file",
]

MAX_FLOW_FILE_BYTES = 64 * 1024 * 1024
"""The largest Flowise export ``validate`` and ``preview`` read: 64 MiB. The largest
marketplace export is under 100 KiB, and a 10,000-node flow about 30 MiB; anything bigger
is refused at once, unread, rather than filling the memory."""

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISSOCK, "a socket"),
)

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


def read_flow_file(file: str) -> bytes:
    """Return the content of the Flowise export at the path ``file``, refusing at once what
    is not one: never blocks, never reads more than :data:`MAX_FLOW_FILE_BYTES` (+1).

    The file is opened without blocking (a FIFO with no writer would wait forever) and only
    a regular file is read (a FIFO, a device such as ``/dev/zero``, a folder or a socket is
    refused before a byte is read).

    :raises FlowValidationError: saying why, in one line: the file cannot be opened or read
        (missing, no permission), is not a regular file, or is larger than 64 MiB.
    """
    try:
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | os.O_CLOEXEC)
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise _unreadable(file, exc) from None
    try:
        status = os.fstat(fd)
        for is_kind, kind in _KINDS:
            if is_kind(status.st_mode):
                raise FlowValidationError(
                    f"cannot read file '{file}': it is {kind}, not a regular file; "
                    "pass a Flowise export (.json)"
                )
        if not stat.S_ISREG(status.st_mode):
            raise FlowValidationError(f"cannot read file '{file}': not a regular file")
        if status.st_size > MAX_FLOW_FILE_BYTES:
            raise _too_big(file)
        with open(fd, "rb", closefd=False) as stream:
            data = stream.read(MAX_FLOW_FILE_BYTES + 1)  # it may have grown since
    except OSError as exc:
        raise _unreadable(file, exc) from None
    finally:
        os.close(fd)
    if len(data) > MAX_FLOW_FILE_BYTES:
        raise _too_big(file)
    return data


def _unreadable(file: str, exc: OSError | ValueError) -> FlowValidationError:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
    return FlowValidationError(
        f"cannot read file '{file}': {reason}; check the path and its permissions"
    )


def _too_big(file: str) -> FlowValidationError:
    return FlowValidationError(
        f"cannot read file '{file}': it is larger than {MAX_FLOW_FILE_BYTES >> 20} MiB, the "
        "most flowkit reads; is it the Flowise export you meant?"
    )
