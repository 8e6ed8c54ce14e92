"""Telemetry settings: the opt-out, the home folder and the destination.

Settings come from the process environment and from a ``.env`` file read with python-dotenv's
:func:`dotenv.dotenv_values` (``os.environ`` is never written). Nothing happens at import time.
"""

from __future__ import annotations

import io
import logging
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from dotenv import find_dotenv
from dotenv.parser import parse_stream

from flowkit.environment import ANY_CASE_VARIABLES

__all__ = [
    "DEFAULT_POSTHOG_HOST",
    "OPT_OUT_VARIABLES",
    "Destination",
    "TelemetrySettings",
]

_log = logging.getLogger("flowkit.telemetry")

#: Where PostHog events go when ``POSTHOG_HOST`` is not set.
DEFAULT_POSTHOG_HOST = "https://us.i.posthog.com"
#: The variables that turn telemetry off, checked in this order (read in any case: the
#: environment's list of them, :data:`flowkit.environment.ANY_CASE_VARIABLES`).
OPT_OUT_VARIABLES: tuple[str, ...] = ANY_CASE_VARIABLES

_FALSY = frozenset({"", "0", "false", "no", "off"})
_ASCII_SPACE = " \t\n\r\v\f"
_SHOWN_CHARS = 40
#: The largest ``.env`` read (256 KiB, ~3 s of python-dotenv parsing at worst); a bigger
#: one is not read, and turns telemetry off.
_MAX_DOTENV_BYTES = 1 << 18
_OPT_OUT_NAMES = "|".join(OPT_OUT_VARIABLES)
# An opt-out name anywhere on a line, in any case (Windows and other readers of the same
# file may not care about case), not as part of a longer name.
_MENTION = re.compile(rf"(?<![A-Za-z0-9_])(?:{_OPT_OUT_NAMES})(?![A-Za-z0-9_])", re.IGNORECASE)
# The one way of writing an opt-out that keeps telemetry on: a falsy value, plainly assigned
# on a line of its own, as every dotenv dialect (and a shell) reads it alike.
_PLAIN_FALSY = re.compile(
    rf"[ \t]*(?:export[ \t]+)?(?:{_OPT_OUT_NAMES})[ \t]*=[ \t]*"
    r"(?P<q>['\"]?)[ \t]*(?i:0|false|no|off)?[ \t]*(?P=q)(?:[ \t]+#.*)?[ \t]*"
)
# An opt-out plainly set on a line of its own (any other value, or a bare name).
_PLAIN_SET = re.compile(
    rf"[ \t]*(?:export[ \t]+)?(?P<name>{_OPT_OUT_NAMES})(?:[ \t]*=(?P<value>.*)|[ \t]*)"
)


def _opts_out(value: object) -> bool:
    """Whether an opt-out variable's value turns telemetry off (fail closed)."""
    if not isinstance(value, str):  # a bare key in .env (None) or anything unexpected
        return True
    return value.strip(_ASCII_SPACE).lower() not in _FALSY


def _opt_out_in_any_case(env: Mapping[str, str]) -> str | None:
    """Say which opt-out the environment sets under another case (``do_not_track=1``), if any.

    Variable names are case-sensitive on POSIX but not on Windows, and ``.env`` already honours
    every case; so does the environment. Only ASCII case differs: no Unicode folding.
    """
    for key in list(env):  # a copy of the names: another thread may change os.environ
        upper = key.upper() if key.isascii() else key
        if key == upper or upper not in OPT_OUT_VARIABLES:
            continue
        value = env.get(key)
        if value is not None and _opts_out(value):
            return f"{_show(key, value)} in environment"
    return None


def _show(name: str, value: object) -> str:
    """``NAME=value`` for humans: short, printable, never the whole of a huge value."""
    if value is None:
        return f"{name} (no value)"
    text = value if isinstance(value, str) else repr(value)
    if text.isprintable() and len(text) <= _SHOWN_CHARS:
        return f"{name}={text}"
    more = "..." if len(text) > _SHOWN_CHARS else ""
    return f"{name}={text[:_SHOWN_CHARS]!r}{more}"


def _as_path(text: str) -> Path:
    """A path with ``~`` expanded for the current user; left as written when that fails."""
    try:
        return Path(os.path.expanduser(text))
    except (ValueError, OSError):  # e.g. an embedded NUL in "~user" lookups
        return Path(text)


@dataclass(frozen=True)
class _DotenvRead:
    """What reading the ``.env`` file gave: its values, or why it cannot be trusted.

    ``opt_outs`` holds every assignment of an opt-out variable, in file order (a later one
    never hides an earlier one); ``values`` the last value of each variable.
    """

    path: Path | None = None
    values: Mapping[str, str | None] = field(default_factory=dict)
    opt_outs: tuple[tuple[str, str | None], ...] = ()
    problem: str | None = None


def _locate_dotenv(dotenv_path: str | os.PathLike[str] | None) -> tuple[str | None, str | None]:
    """The ``.env`` to read (or None) and, when the search itself failed, why."""
    if dotenv_path is not None:
        path = os.fsdecode(os.fspath(dotenv_path))  # bytes too, though typed as str
        return (path if os.path.lexists(path) else None), None
    try:
        found = find_dotenv(usecwd=True)  # from the working directory, never our install folder
    except Exception as exc:  # e.g. the working directory was deleted
        return None, f"could not search for a .env file ({type(exc).__name__}: {exc})"
    return (found or None), None


def _read_dotenv(dotenv_path: str | os.PathLike[str] | None) -> _DotenvRead:
    """Read the ``.env`` file; never raises, and reports any doubt about its content."""
    try:
        located, problem = _locate_dotenv(dotenv_path)
        if located is None:
            return _DotenvRead(problem=problem)
        path = Path(located)
    except Exception as exc:  # an unusable explicit path (bad type, NUL byte, ...)
        return _DotenvRead(problem=f"unusable .env path ({type(exc).__name__}: {exc})")
    try:
        text = _dotenv_text(located)
        bindings = list(parse_stream(io.StringIO(text)))
    except Exception as exc:
        return _DotenvRead(
            path=path, problem=f"unreadable .env file {path} ({type(exc).__name__}: {exc})"
        )
    # Values are taken literally (no interpolation), as Flowise's (Node) dotenv does, so
    # "${X}" can never resolve an opt-out to empty from some other environment.
    values = {b.key: b.value for b in bindings if b.key is not None}
    bad_lines = [b.original.line for b in bindings if b.error]
    # Lines other readers may see: checked only in a file python-dotenv could read at all.
    set_on_lines, unclear = _scan_opt_out_lines(text) if not bad_lines else ([], [])
    opt_outs = tuple(
        (b.key, b.value) for b in bindings if b.key is not None and b.key in OPT_OUT_VARIABLES
    ) + tuple(set_on_lines)
    problem = None
    if bad_lines:
        lines = ", ".join(str(n) for n in bad_lines[:5])
        problem = f"unparseable .env file {path} (line {lines})"
    elif unclear:
        lines = ", ".join(str(n) for n in unclear[:5])
        problem = (
            f"unclear opt-out in .env file {path} (line {lines}): set "
            f"{' or '.join(OPT_OUT_VARIABLES)} as NAME=value on a line of its own"
        )
    return _DotenvRead(path=path, values=values, opt_outs=opt_outs, problem=problem)


def _dotenv_text(located: str) -> str:
    """The text of the ``.env`` file, BOM removed.

    :raises Exception: when it is not a regular file (a FIFO would block, a device never
        end), is larger than ``_MAX_DOTENV_BYTES``, is not UTF-8 or holds a NUL byte.
    """
    with open(located, "rb", opener=_open_without_blocking) as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise ValueError("it is not a regular file")
        data = stream.read(_MAX_DOTENV_BYTES + 1)
    if len(data) > _MAX_DOTENV_BYTES:
        raise ValueError(f"it is larger than {_MAX_DOTENV_BYTES} bytes")
    # Decoded as a whole (a BOM must not hide the first key): the incremental text reader
    # silently drops a truncated BOM, which would read a broken file as empty.
    text = data.decode("utf-8-sig")
    if "\x00" in text:
        raise ValueError("it contains NUL bytes")
    return text


def _open_without_blocking(file: str, flags: int) -> int:
    """``os.open`` that returns at once for a FIFO with no writer (checked, then refused)."""
    return os.open(file, flags | getattr(os, "O_NONBLOCK", 0))


def _scan_opt_out_lines(text: str) -> tuple[list[tuple[str, str | None]], list[int]]:
    """Find the opt-outs other readers of the file could see and python-dotenv may not.

    Node's dotenv, Docker or a shell may take for an opt-out a line python-dotenv reads as
    part of a quoted multi-line value, as another key (``"DO_NOT_TRACK"=1``,
    ``do_not_track=1``), or not at all (``DO_NOT_TRACK: 1``, ``A= DO_NOT_TRACK=1``). So every
    line that names an opt-out variable, in any case, is checked; comment lines are skipped,
    and lines are split at every line break Python knows (``\\u2028``, ``\\x85``, ...), more
    than python-dotenv does, so that no reader's line can hide inside another's.

    :returns: the opt-outs plainly set with a value that is not falsy (or none), as
        ``(name, value)``; and the numbers (1-based) of the lines naming an opt-out in any
        other way than that or a plainly assigned falsy value.
    """
    set_on_lines: list[tuple[str, str | None]] = []
    unclear: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not _MENTION.search(line) or line.lstrip().startswith("#"):
            continue
        if _PLAIN_FALSY.fullmatch(line):
            continue
        plain = _PLAIN_SET.fullmatch(line)
        if plain and _opts_out(plain["value"]):
            set_on_lines.append((plain["name"], plain["value"]))
        else:
            unclear.append(number)
    return set_on_lines, unclear


@dataclass(frozen=True, slots=True)
class Destination:
    """Where telemetry events go.

    :param kind: ``"posthog"`` (sent over HTTPS) or ``"jsonl"`` (appended to a local file).
    :param target: the PostHog host for ``"posthog"``, the file path for ``"jsonl"``.
    """

    kind: Literal["posthog", "jsonl"]
    target: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TelemetrySettings:
    """Everything telemetry needs to know, resolved once; immutable and thread-safe to share.

    Build it with :meth:`from_env`, or directly for tests and embedding:
    ``TelemetrySettings(home=tmp_path)`` is enabled, sends to ``<home>/telemetry.jsonl`` and
    reads nothing. Constructing settings never creates files or folders.

    :param home: the folder for the instance id, the outbox and the default JSONL file.
    :param enabled: whether events may be recorded at all.
    :param disabled_by: why telemetry is off, naming the variable and its source; None when on.
    :param posthog_api_key: the PostHog project key; when set, events go to PostHog.
    :param posthog_host: the PostHog host to send to.
    :param telemetry_file: a JSONL file to write events to when no PostHog key is set.
    :param dotenv_file: the ``.env`` file that was read, if any.
    """

    home: Path
    enabled: bool = True
    disabled_by: str | None = None
    posthog_api_key: str | None = None
    posthog_host: str = DEFAULT_POSTHOG_HOST
    telemetry_file: Path | None = None
    dotenv_file: Path | None = None

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        dotenv_path: str | os.PathLike[str] | None = None,
    ) -> TelemetrySettings:
        """Resolve the settings from the environment and a ``.env`` file.

        The ``.env`` is *dotenv_path* when given (a missing file counts as no ``.env``), else
        the first ``.env`` file found from the current working directory upward. Its values
        are taken literally (no ``${VAR}`` expansion) and never copied into ``os.environ``.

        Telemetry is off when ``DISABLE_FLOWISE_TELEMETRY`` or ``DO_NOT_TRACK``, in the
        environment *or* in the ``.env`` file, has any value but empty, ``0``, ``false``,
        ``no`` or ``off`` (any case, surrounding whitespace ignored); a bare key in ``.env``
        counts as set. A name in another ASCII case (``do_not_track=1``) opts out in the
        environment as it does in ``.env``; ``disabled_by`` names the exact spelling first.
        Neither source can undo the other's opt-out, nor can a later line of ``.env`` undo
        an earlier one. A ``.env`` that exists but cannot be read or parsed (not a regular
        file, over 256 KiB, not UTF-8, a bad line) turns telemetry off too, with one warning
        on the ``flowkit.telemetry`` logger; so does one that names an opt-out variable, in
        any case, other than in a comment or as ``NAME=value`` on a line of its own
        (``"DO_NOT_TRACK"=1``, ``do_not_track=1``, ``DO_NOT_TRACK: 1``, a line inside a
        quoted value), since another reader of the file may take it for an opt-out.
        For every other variable the environment wins over ``.env``, and empty values count
        as unset.

        :param environ: the environment to read; ``os.environ`` when None.
        :param dotenv_path: an explicit ``.env`` file; None searches from the working directory.
        :returns: the resolved settings. Guaranteed: never raises for any content, never
            writes files or creates folders, never changes ``os.environ``.
        """
        env: Mapping[str, str] = os.environ if environ is None else environ
        dotenv = _read_dotenv(dotenv_path)
        if dotenv.problem is not None:
            _log.warning("%s: telemetry is disabled until it is fixed", dotenv.problem)

        disabled_by: str | None = None
        sources: tuple[tuple[Mapping[str, str | None], str], ...] = (
            (env, "in environment"),
            (dotenv.values, f"in {dotenv.path}"),
        )
        for values, where in sources:
            for name in OPT_OUT_VARIABLES:
                if disabled_by is None and name in values and _opts_out(values[name]):
                    disabled_by = f"{_show(name, values[name])} {where}"
            if values is env and disabled_by is None:
                disabled_by = _opt_out_in_any_case(env)
        for name in OPT_OUT_VARIABLES:  # every assignment in .env, not only the last one
            for key, value in dotenv.opt_outs:
                if disabled_by is None and key == name and _opts_out(value):
                    disabled_by = f"{_show(name, value)} in {dotenv.path}"
        if disabled_by is None and dotenv.problem is not None:
            disabled_by = dotenv.problem

        def setting(name: str) -> str | None:
            for values in (env, dotenv.values):
                value = values.get(name)
                if isinstance(value, str) and value.strip(_ASCII_SPACE):
                    return value.strip(_ASCII_SPACE)
            return None

        home = setting("FLOWKIT_HOME")
        telemetry_file = setting("FLOWKIT_TELEMETRY_FILE")
        return cls(
            home=_as_path(home or "~/.flowkit"),
            enabled=disabled_by is None,
            disabled_by=disabled_by,
            posthog_api_key=setting("POSTHOG_PUBLIC_API_KEY"),
            posthog_host=setting("POSTHOG_HOST") or DEFAULT_POSTHOG_HOST,
            telemetry_file=_as_path(telemetry_file) if telemetry_file else None,
            dotenv_file=dotenv.path,
        )

    @property
    def destination(self) -> Destination:
        """Where events go, first match wins: a PostHog key, else the telemetry file, else
        ``<home>/telemetry.jsonl``. Stated even when telemetry is off.

        :returns: the destination; computing it touches no file.
        """
        if self.posthog_api_key:
            return Destination("posthog", self.posthog_host)
        if self.telemetry_file is not None:
            return Destination("jsonl", str(self.telemetry_file))
        return Destination("jsonl", str(self.home / "telemetry.jsonl"))

    def describe_destination(self) -> str:
        """Say in one line where events go, or why they go nowhere.

        :returns: e.g. ``"PostHog at https://us.i.posthog.com"``, ``"local file /x/t.jsonl"``
            or ``"nowhere: telemetry is off (DO_NOT_TRACK=1 in environment)"``; never the key.
        """
        if not self.enabled:
            return f"nowhere: telemetry is off ({self.disabled_by or 'disabled in code'})"
        destination = self.destination
        if destination.kind == "posthog":
            return f"PostHog at {destination.target}"
        return f"local file {destination.target}"

    @property
    def outbox_path(self) -> Path:
        """The file holding events not yet delivered.

        :returns: ``<home>/outbox.jsonl`` (not created here).
        """
        return self.home / "outbox.jsonl"

    @property
    def instance_file(self) -> Path:
        """The file holding the anonymous instance id, as Flowise's ``settings.json``.

        :returns: ``<home>/settings.json`` (not created here).
        """
        return self.home / "settings.json"
