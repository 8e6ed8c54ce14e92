"""Fuzzing ``TelemetrySettings.from_env`` with bad ``.env`` files and environment values:
garbage, empty, binary, NUL, invalid UTF-8, huge, folders, FIFOs, unreadable files.

``from_env`` never raises, and fails closed. The oracle, decided from python-dotenv's grammar
(the one flowkit reads ``.env`` with) and from what other readers of the same file do
(Node's dotenv in Flowise, Docker, a shell): telemetry may be ON only if

1. every opt-out variable (``DISABLE_FLOWISE_TELEMETRY``, ``DO_NOT_TRACK``) in the
   environment is absent or falsy: a str that is empty, ``0``, ``false``, ``no`` or ``off``
   in any ASCII case, with surrounding ASCII white space; and
2. there is no ``.env`` file at all, or it is one that
   a. is a regular file holding UTF-8 (one BOM allowed) without NUL bytes;
   b. parses with no bad line (python-dotenv's ``parse_stream`` reports no error);
   c. binds an opt-out variable, every time it does, to a falsy str (a bare key binds None,
      which opts out; a later falsy value never undoes an earlier opt-out); and
   d. names no opt-out variable, in any case, on any line (split at every line break Python
      knows: ``\\u2028``, ``\\x85``...) other than a comment line, except on a line that,
      parsed on its own, is exactly one assignment of that variable to a falsy value.
      Commented-out opt-outs (``# DO_NOT_TRACK=1``) do not count: every reader skips them.

The other way round, telemetry must be ON for a clean file (unrelated assignments, blank
lines, comments, plainly assigned falsy opt-outs) and no opt-out in the environment.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from dotenv.parser import parse_stream
from hypothesis import currently_in_test_context, event, given, note
from hypothesis import strategies as st

from flowkit.telemetry import settings as settings_module
from flowkit.telemetry.settings import TelemetrySettings

from .strategies import NASTY_STRINGS, budget, short

OPT_OUTS = ("DISABLE_FLOWISE_TELEMETRY", "DO_NOT_TRACK")
FALSY = re.compile(r"[ \t\n\r\v\f]*(?:|0|false|no|off)[ \t\n\r\v\f]*", re.IGNORECASE | re.ASCII)
MENTION = re.compile(
    r"(?<![A-Za-z0-9_])(?:DISABLE_FLOWISE_TELEMETRY|DO_NOT_TRACK)(?![A-Za-z0-9_])", re.IGNORECASE
)
LOGGER = "flowkit.telemetry"


# ---- the oracle ---------------------------------------------------------------------------------


def _falsy(value: object) -> bool:
    return isinstance(value, str) and FALSY.fullmatch(value) is not None


def environment_may_be_on(environ: Mapping[Any, Any]) -> bool:
    """Rule 1: each opt-out, spelled exactly, is absent or falsy; spelled in another ASCII
    case (``do_not_track``), it is absent, valueless or falsy."""
    for name, value in environ.items():
        other_case = isinstance(name, str) and name.isascii() and name.upper() in OPT_OUTS
        if name in OPT_OUTS and not _falsy(value):
            return False
        if name not in OPT_OUTS and other_case and value is not None and not _falsy(value):
            return False
    return True


def _plainly_falsy(line: str) -> bool:
    bindings = [b for b in parse_stream(io.StringIO(line)) if b.key is not None or b.error]
    return (
        len(bindings) == 1
        and not bindings[0].error
        and bindings[0].key in OPT_OUTS
        and _falsy(bindings[0].value)
    )


def dotenv_may_be_on(content: bytes | None) -> bool:
    """Rule 2, for the bytes of a regular file (None: no file)."""
    if content is None:
        return True
    if b"\x00" in content:
        return False
    try:
        text = content.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return False
    bindings = list(parse_stream(io.StringIO(text)))
    if any(b.error for b in bindings):
        return False
    if any(b.key in OPT_OUTS and not _falsy(b.value) for b in bindings):
        return False
    return all(
        not MENTION.search(line) or line.lstrip().startswith("#") or _plainly_falsy(line)
        for line in text.splitlines()
    )


# ---- running from_env ---------------------------------------------------------------------------


@contextlib.contextmanager
def warnings_logged() -> Iterator[list[logging.LogRecord]]:
    """The warnings of the ``flowkit.telemetry`` logger during the block."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.WARNING)
    logger = logging.getLogger(LOGGER)
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def resolve(environ: Mapping[Any, Any], dotenv_path: Any) -> TelemetrySettings:
    """``from_env``, checked for what must always hold: no exception, a reason when off,
    at most one warning (none when on), ``os.environ`` untouched."""
    before = dict(os.environ)
    with warnings_logged() as warnings:
        try:
            result = TelemetrySettings.from_env(environ, dotenv_path=dotenv_path)
        except Exception as exc:
            raise AssertionError(
                f"from_env raised {type(exc).__name__}: {short(exc, 300)}"
            ) from exc
    assert dict(os.environ) == before, "from_env changed os.environ"
    assert isinstance(result.enabled, bool)
    assert isinstance(result.describe_destination(), str)
    if result.enabled:
        assert result.disabled_by is None
        assert warnings == [], [r.getMessage() for r in warnings]
    else:
        assert isinstance(result.disabled_by, str)
        assert result.disabled_by.strip()
    assert len(warnings) <= 1, [r.getMessage() for r in warnings]
    if currently_in_test_context():
        event("on" if result.enabled else "off")
    return result


def check_fails_closed(environ: Mapping[Any, Any], content: bytes | None, path: Any) -> bool:
    """Resolve and check the oracle: ON only when it allows it. Returns ``enabled``."""
    result = resolve(environ, path)
    allowed = environment_may_be_on(environ) and dotenv_may_be_on(content)
    if result.enabled:
        assert allowed, "telemetry is ON though the opt-out cannot be read for certain"
    return result.enabled


# ---- what goes into .env files ------------------------------------------------------------------

LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
names = st.sampled_from(OPT_OUTS)
other_keys = st.from_regex(r"[A-Z][A-Z0-9_]{0,10}", fullmatch=True).filter(
    lambda key: not MENTION.search(key)
)
spaces = st.sampled_from(["", " ", "  ", "\t"])
exports = st.sampled_from(["", "export ", "export\t"])
quotes = st.sampled_from(["", "'", '"'])
falsy_words = st.sampled_from(["", "0", "false", "no", "off"]).flatmap(
    lambda w: st.sampled_from([w, w.upper(), w.title()])
)
truthy_words = st.sampled_from(["1", "true", "yes", "on", "y", "2", "disabled", "0 1", "0#x"])
plain_text = st.text(
    st.characters(exclude_categories=["Cs", "Cc"], exclude_characters=LINE_BREAKS + "'\"\\#"),
    max_size=12,
).filter(lambda t: not MENTION.search(t))
unquoted_values = st.from_regex(r"[A-Za-z0-9_./:@+,-]{0,16}", fullmatch=True)
quoted_values = st.one_of(
    plain_text.map(lambda t: f"'{t}'"),
    plain_text.map(lambda t: f'"{t}"'),
    st.lists(plain_text, min_size=2, max_size=3).map(lambda ts: '"' + "\n".join(ts) + '"'),
)
comments = st.sampled_from(["", " # a comment", "\t#x", " # DO_NOT_TRACK=1 later"])


@st.composite
def clean_lines(draw: st.DrawFn) -> str:
    """A line every reader takes the same way, and that keeps telemetry on."""
    kind = draw(st.sampled_from(["assignment", "comment", "blank", "falsy opt-out"]))
    if kind == "assignment":
        value = draw(unquoted_values | quoted_values)
        comment = draw(comments.filter(lambda c: not MENTION.search(c)))
        return f"{draw(exports)}{draw(other_keys)}{draw(spaces)}={draw(spaces)}{value}{comment}"
    if kind == "comment":
        text = draw(plain_text | st.sampled_from([f"{n}=1" for n in OPT_OUTS]))
        return f"{draw(spaces)}#{draw(spaces)}{text}"
    if kind == "blank":
        return draw(spaces)
    quote = draw(quotes)
    value = f"{quote}{draw(falsy_words)}{quote}"
    return f"{draw(exports)}{draw(names)}{draw(spaces)}={draw(spaces)}{value}{draw(comments)}"


@st.composite
def opting_out_lines(draw: st.DrawFn) -> str:
    """A line that opts out, or that some reader of the file may take for an opt-out."""
    name = draw(names)
    truthy = draw(truthy_words)
    sep = draw(st.sampled_from(["\u2028", "\x85", "\x1c", "\v", "\f"]))
    return draw(
        st.sampled_from(
            [
                f"{name}={truthy}",
                f"export {name}={truthy}",
                f"{name} = '{truthy}'",
                f"{name}",
                f"export {name}",
                f"'{name}'=1",
                f'"{name}"=0',
                f"{name.lower()}=1",
                f"{name.title()}=0",
                f"{name}: 1",
                f"{name}:0",
                f"{name}==0",
                f"{name}=0{sep}{name}=1",
                f"A=x{sep}{name}=1",
                f'A="\n{name}=1\n"',
                f"A= {name}=1",
                f"A=1 {name}=0",
                f"{name}=${{NOTHING}}",
                f"{name}='0",
                f"\ufeff{name}=1",
            ]
        )
    )


garbage_lines = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=30),  # surrogates: bad UTF-8
    st.sampled_from(NASTY_STRINGS),
    st.sampled_from(["'", '"', "A='unclosed", 'A="unclosed', "=", "==", "A B", "\\", "\x00"]),
)


@st.composite
def dotenv_bytes(draw: st.DrawFn, lines: st.SearchStrategy[str]) -> bytes:
    """A ``.env`` made of ``lines``, with any line ending, maybe a BOM."""
    chosen = draw(st.lists(lines, max_size=8))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(chosen) + draw(st.sampled_from(["", newline]))
    bom = draw(st.sampled_from(["", "", "\ufeff"]))
    return (bom + text).encode("utf-8", "surrogatepass")


any_dotenv = st.one_of(
    dotenv_bytes(st.one_of(clean_lines(), opting_out_lines(), garbage_lines)),
    dotenv_bytes(clean_lines()),
    st.binary(max_size=200),
    dotenv_bytes(clean_lines()).flatmap(
        lambda data: st.integers(0, len(data)).flatmap(
            lambda at: st.sampled_from(
                [b"\x00", b"\xff", b"\xc3", b"\xef\xbb", b"\xed\xa0\x80"]
            ).map(lambda bad: data[:at] + bad + data[at:])
        )
    ),
)

environment_values = st.one_of(
    st.sampled_from(["", "0", "false", "FALSE", " no ", "\toff\n", "1", "true", "yes"]),
    st.text(st.characters(exclude_categories=()), max_size=20),
    st.sampled_from(NASTY_STRINGS),
    st.just("x" * 1_000_000),
    st.just("0" + "\x00"),
    st.just("\udcff\udcfe"),  # how Python shows invalid UTF-8 bytes of the real environment
    st.none(),
    st.binary(max_size=4),
    st.integers(),
)
environments = st.dictionaries(
    st.sampled_from([*OPT_OUTS, "do_not_track", "DO_NOT_TRACK\x00", "POSTHOG_HOST"])
    | st.text(max_size=8),
    environment_values,
    max_size=4,
)


def write(folder: Path, content: bytes) -> Path:
    path = folder / ".env"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


# ---- the tests ----------------------------------------------------------------------------------


@budget()
@given(
    environ=environments,
    content=any_dotenv,
    found_by=st.sampled_from(["explicit path", "search from the working directory"]),
)
def test_any_dotenv_and_environment_never_raise_and_fail_closed(
    environ: dict[Any, Any],
    content: bytes,
    found_by: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write(tmp_path / "project", content)
    note(f".env bytes: {content!r}")
    if found_by == "explicit path":
        check_fails_closed(environ, content, path)
        return
    (tmp_path / "project" / "src").mkdir(exist_ok=True)
    with monkeypatch.context() as patch:
        patch.chdir(tmp_path / "project" / "src")
        check_fails_closed(environ, content, None)


@budget()
@given(environ=environments)
def test_environment_alone_turns_telemetry_off_unless_every_opt_out_is_falsy(
    environ: dict[Any, Any], tmp_path: Path
) -> None:
    enabled = check_fails_closed(environ, None, tmp_path / "absent" / ".env")

    assert enabled == environment_may_be_on(environ)


@budget()
@given(content=dotenv_bytes(clean_lines()))
def test_clean_dotenv_keeps_telemetry_on(content: bytes, tmp_path: Path) -> None:
    note(f".env bytes: {content!r}")
    enabled = check_fails_closed({"DO_NOT_TRACK": "0"}, content, write(tmp_path, content))

    assert dotenv_may_be_on(content), "the oracle disagrees with the clean grammar"
    assert enabled, "a clean .env with only falsy opt-outs turned telemetry off"


@budget()
@given(
    before=st.lists(clean_lines(), max_size=4),
    line=opting_out_lines(),
    after=st.lists(clean_lines(), max_size=4),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_one_opting_out_line_anywhere_turns_telemetry_off(
    before: list[str], line: str, after: list[str], newline: str, tmp_path: Path
) -> None:
    content = newline.join([*before, line, *after]).encode()
    note(f".env bytes: {content!r}")

    enabled = check_fails_closed({}, content, write(tmp_path, content))

    assert not dotenv_may_be_on(content), "the oracle lets this line keep telemetry on"
    assert not enabled


# ---- unreadable and unusual files -------------------------------------------------------------


def _refuse(error: BaseException) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise error

    return refuse


class _FailingStream(io.BytesIO):
    """A file that opens, then fails part way through reading."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(b"DO_NOT_TRACK=0\n")
        self.error = error

    def read(self, size: int | None = -1) -> bytes:
        raise self.error

    def fileno(self) -> int:
        raise self.error


read_errors = st.sampled_from(
    [
        PermissionError(13, "Permission denied"),
        OSError(5, "Input/output error"),
        IsADirectoryError(21, "Is a directory"),
        FileNotFoundError(2, "No such file or directory"),
        TimeoutError("timed out"),
        MemoryError(),
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
    ]
)


@budget(0.3)
@given(
    error=read_errors,
    where=st.sampled_from(["open", "read"]),
    content=dotenv_bytes(clean_lines()),
)
def test_dotenv_that_cannot_be_read_turns_telemetry_off(
    error: BaseException, where: str, content: bytes, tmp_path: Path
) -> None:
    """Tests run as root, which chmod cannot stop: the refusal is simulated at ``open``
    (and ``Path.read_*``, should the reader ever use them)."""
    path = write(tmp_path, content)
    fake = _refuse(error) if where == "open" else (lambda *a, **k: _FailingStream(error))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings_module, "open", fake, raising=False)
        for method in ("read_text", "read_bytes", "open"):
            patch.setattr(Path, method, _refuse(error))
        result = resolve({}, path)

    assert not result.enabled


def _unusual(kind: str, folder: Path) -> Any:
    if kind == "directory":
        path = folder / ".env"
        path.mkdir()
        return path
    if kind == "fifo":
        path = folder / ".env"
        os.mkfifo(path)  # no writer: opening it for reading would wait forever
        return path
    if kind == "dangling symlink":
        path = folder / ".env"
        path.symlink_to(folder / "nowhere")
        return path
    if kind == "symlink to a directory":
        path = folder / ".env"
        path.symlink_to(folder)
        return path
    if kind == "device":
        return os.devnull
    if kind == "endless device":
        return "/dev/zero"
    if kind == "too large":
        return write(folder, b"A=" + b"x" * settings_module._MAX_DOTENV_BYTES)
    raise AssertionError(kind)


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and /dev files are POSIX")
@pytest.mark.parametrize(
    "kind",
    [
        "directory",
        "fifo",
        "dangling symlink",
        "symlink to a directory",
        "device",
        "endless device",
        "too large",
    ],
)
def test_dotenv_that_is_not_a_small_regular_file_turns_telemetry_off(
    kind: str, tmp_path: Path
) -> None:
    path = _unusual(kind, tmp_path)
    outcome: list[TelemetrySettings | BaseException] = []

    def run() -> None:
        try:
            outcome.append(resolve({}, path))
        except BaseException as exc:  # handed to the test's thread
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=30)

    assert outcome, f"from_env did not return within 30 s for a {kind}"
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    assert not outcome[0].enabled


def test_dotenv_just_under_the_size_limit_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, b"A=" + b"x" * (settings_module._MAX_DOTENV_BYTES - 3) + b"\n")

    assert resolve({}, path).enabled


@pytest.mark.parametrize(
    "dotenv_path",
    [b"/nonexistent/.env", 3, 3.5, ["x"], "bad\x00path", "\udcff/.env", ""],
    ids=["bytes", "int", "float", "list", "nul", "surrogate", "empty"],
)
def test_garbage_dotenv_path_never_raises(dotenv_path: Any) -> None:
    resolve({}, dotenv_path)


def test_bytes_dotenv_path_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, b"DO_NOT_TRACK=1\n")

    assert not resolve({}, os.fsencode(path)).enabled


@pytest.mark.parametrize(
    ("raw", "enabled"),
    [(b"\xff\xfe", False), (b"0\xff", False), (b"", True), (b"off", True)],
    ids=["invalid-utf8", "falsy-then-invalid-utf8", "empty", "off"],
)
def test_invalid_utf8_in_the_real_environment_turns_telemetry_off(
    raw: bytes, enabled: bool, tmp_path: Path
) -> None:
    """Python shows undecodable environment bytes as lone surrogates: never falsy."""
    env = {k: v for k, v in os.environb.items() if not k.startswith((b"DO_NOT", b"DISABLE_FL"))}
    env[b"DO_NOT_TRACK"] = raw
    code = (
        "from flowkit.telemetry.settings import TelemetrySettings as T\n"
        f"print(T.from_env(dotenv_path={str(tmp_path / 'none.env')!r}).enabled)\n"
    )

    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(enabled)]
