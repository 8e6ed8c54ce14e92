"""``flowkit pull``, ``plan`` and ``apply`` as a user runs them: real subprocesses on a real
workspace file (``--url flows.db``), exit statuses 0 / 2 / 1, one-line errors.

A ``flowkit`` process takes about two seconds to start here, so the whole cycle and two
errors run as subprocesses, and the other cases call :func:`flowkit.cli.main` in-process
(the same code after the interpreter starts), with the working directory and environment
of the test."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from flowkit import Workspace
from flowkit.cli import main

from .conftest import docs_flow, set_input

CLEARED = ("FLOWISE_URL", "FLOWISE_API_KEY", "DISABLE_FLOWISE_TELEMETRY", "POSTHOG_PUBLIC_API_KEY")


@dataclass(frozen=True)
class Done:
    """What one ``flowkit`` process did."""

    code: int
    out: str
    err: str


Run = Callable[..., Done]


@pytest.fixture
def flowkit(tmp_path: Path, flowkit_home: Path) -> Run:
    """Run ``python -m flowkit ARGS`` in ``tmp_path`` (keyword arguments: extra variables)."""

    def run(*args: str, stdin: str | None = None, **env: str) -> Done:
        environ = {k: v for k, v in os.environ.items() if k not in CLEARED}
        environ.update(FLOWKIT_HOME=str(flowkit_home), PYTHONIOENCODING="utf-8", **env)
        done = subprocess.run(
            [sys.executable, "-m", "flowkit", *args],
            cwd=tmp_path,
            env=environ,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=60,
            check=False,
        )
        return Done(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Run:
    """Run ``flowkit ARGS`` in this process, from ``tmp_path``, with no ``FLOWISE_*``
    variable but the keyword arguments given, and standard input not a terminal."""

    def run(*args: str, **env: str) -> Done:
        monkeypatch.chdir(tmp_path)
        for name in CLEARED:
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return Done(code, out, err)

    return run


@pytest.fixture
def flows_db(tmp_path: Path) -> Path:
    """A workspace file holding the Docs QA chatflow."""
    path = tmp_path / "flows.db"
    workspace = Workspace.open(path)
    try:
        workspace.create_chatflow(docs_flow())
    finally:
        workspace.close()
    return path


def _one_error_line(done: Done) -> str:
    assert done.code == 1
    lines = done.err.strip().splitlines()
    assert len(lines) == 1, done.err
    assert lines[0].startswith("flowkit: error: ")
    assert "Traceback" not in done.err
    return lines[0]


def test_pull_plan_edit_plan_apply_plan_through_a_workspace_file(
    flowkit: Run, flows_db: Path, tmp_path: Path
) -> None:
    pulled = flowkit("pull", "flows", "--url", "flows.db")
    assert pulled.code == 0, pulled.err
    assert "wrote chatflows/Docs QA.json" in pulled.out

    unchanged = flowkit("plan", "flows", "--url", "flows.db")
    assert unchanged.code == 0, unchanged.err
    assert unchanged.out.strip() == "No changes: the workspace matches the folder."

    set_input(tmp_path / "flows" / "chatflows" / "Docs QA.json", "chatOpenAI_0", "temperature", 0)
    changed = flowkit("plan", "flows", "--url", "flows.db")
    assert changed.code == 2, changed.err
    assert changed.out.splitlines() == [
        "~ chatflows/Docs QA: nodes changed chatOpenAI_0 (inputs temperature)",
        "Plan: 0 to create, 1 to update, 0 to delete.",
    ]

    applied = flowkit("apply", "flows", "--url", "flows.db", "--yes")
    assert applied.code == 0, applied.err
    assert "updated chatflows/Docs QA (" in applied.out

    assert flowkit("plan", "flows", "--url", "flows.db").code == 0
    workspace = Workspace.open(flows_db)
    try:
        assert workspace.chatflows[0].node("chatOpenAI_0").inputs["temperature"] == 0
    finally:
        workspace.close()


def test_flowise_url_in_the_environment_names_the_workspace(
    in_process: Run, flows_db: Path
) -> None:
    assert in_process("pull", "flows", FLOWISE_URL=str(flows_db)).code == 0
    assert in_process("plan", "flows", FLOWISE_URL=str(flows_db)).code == 0


def test_plan_against_a_file_not_there_yet_lists_creates_and_creates_nothing(
    in_process: Run, flows_db: Path, tmp_path: Path
) -> None:
    assert in_process("pull", "flows", "--url", "flows.db").code == 0

    planned = in_process("plan", "flows", "--url", "new.db")

    assert planned.code == 2
    assert planned.out.splitlines()[0] == "+ chatflows/Docs QA"
    assert not (tmp_path / "new.db").exists()
    assert in_process("apply", "flows", "--url", "new.db", "--yes").code == 0
    assert in_process("plan", "flows", "--url", "new.db").code == 0


def test_prune_deletes_only_when_asked(in_process: Run, flows_db: Path, tmp_path: Path) -> None:
    (tmp_path / "empty" / "chatflows").mkdir(parents=True)

    kept = in_process("plan", "empty", "--url", "flows.db")
    pruned = in_process("plan", "empty", "--url", "flows.db", "--prune")

    assert kept.code == 0
    assert "chatflows/Docs QA: not in the folder, kept (--prune deletes it)" in kept.out
    assert pruned.code == 2
    assert pruned.out.splitlines()[0] == "- chatflows/Docs QA"


def test_apply_without_yes_refuses_when_it_cannot_ask(in_process: Run, flows_db: Path) -> None:
    assert in_process("pull", "flows", "--url", "flows.db").code == 0
    assert in_process("apply", "flows", "--url", "other.db", "--yes").code == 0
    (Path(flows_db).parent / "flows" / "chatflows" / "Docs QA.json").unlink()

    done = in_process("apply", "flows", "--url", "other.db", "--prune")

    assert "pass --yes" in _one_error_line(done)
    assert "- chatflows/Docs QA" in done.out
    assert in_process("plan", "flows", "--url", "other.db", "--prune").code == 2  # still there


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("plan", "flows"), "no workspace: pass --url"),
        (("pull", "flows", "--url", "missing.db"), "no workspace file missing.db"),
        (("plan", "nowhere", "--url", "flows.db"), "no folder nowhere"),
        (("plan",), "the following arguments are required: DIR"),
        (("apply", "flows", "--url", "localhost:3000", "--yes"), "starts with http://"),
        (("plan", "flows", "--url", "flows.db", "--bogus"), "unrecognized arguments: --bogus"),
    ],
)
def test_errors_are_one_line_with_exit_status_1(
    in_process: Run, flows_db: Path, args: tuple[str, ...], says: str
) -> None:
    assert in_process("pull", "flows", "--url", "flows.db").code == 0

    line = _one_error_line(in_process(*args))

    assert says in line


def test_a_plan_error_names_every_problem_on_one_line(
    in_process: Run, flows_db: Path, tmp_path: Path
) -> None:
    (tmp_path / "bad" / "chatflows").mkdir(parents=True)
    (tmp_path / "bad" / "chatflows" / "A.json").write_text("{", encoding="utf-8")
    (tmp_path / "bad" / "chatflows" / "B.json").write_text("[]", encoding="utf-8")

    line = _one_error_line(in_process("plan", "bad", "--url", "flows.db"))

    assert "chatflows/A.json: " in line
    assert "chatflows/B.json: must hold a JSON object" in line


def test_a_usage_error_and_an_unreachable_server_exit_1_in_one_line(
    flowkit: Run, flows_db: Path
) -> None:
    usage = _one_error_line(flowkit("apply", "--yes"))
    down = _one_error_line(flowkit("plan", "flows", "--url", "http://127.0.0.1:9"))

    assert "the following arguments are required: DIR" in usage
    assert "http://127.0.0.1:9" in down


def test_a_file_that_is_no_workspace_is_an_error_and_stays_untouched(
    in_process: Run, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n", encoding="utf-8")
    (tmp_path / "flows" / "chatflows").mkdir(parents=True)

    line = _one_error_line(in_process("apply", "flows", "--url", "notes.txt", "--yes"))

    assert "notes.txt" in line
    assert "not SQLite" in line
    assert notes.read_text(encoding="utf-8") == "hello\n"


@pytest.mark.parametrize(
    ("answer", "applied"),
    [(b"y\n", True), (b" YES \n", True), (b"n\n", False), (b"\n", False), (b"\x04", False)],
    ids=["y", "yes", "n", "enter", "end-of-input"],
)
def test_apply_asks_on_a_terminal_and_applies_only_on_yes(
    flowkit_home: Path, flows_db: Path, tmp_path: Path, answer: bytes, applied: bool
) -> None:
    assert main(["pull", str(tmp_path / "flows"), "--url", str(flows_db)]) == 0
    set_input(tmp_path / "flows" / "chatflows" / "Docs QA.json", "chatOpenAI_0", "temperature", 0)
    primary, terminal = os.openpty()  # standard input is a real terminal: apply asks
    environ = {k: v for k, v in os.environ.items() if k not in CLEARED}
    environ.update(FLOWKIT_HOME=str(flowkit_home), PYTHONIOENCODING="utf-8")
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "flowkit", "apply", "flows", "--url", "flows.db"],
            cwd=tmp_path,
            env=environ,
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        os.write(primary, answer)
        out, err = process.communicate(timeout=60)
    finally:
        os.close(terminal)
        os.close(primary)

    assert "Apply these 1 changes? [y/N] " in out.decode()
    assert "Traceback" not in err.decode()
    assert process.returncode == (0 if applied else 1)
    assert ("updated chatflows/Docs QA (" in out.decode()) is applied
    assert ("Nothing applied." in err.decode()) is not applied
    workspace = Workspace.open(flows_db)
    try:
        assert (workspace.chatflows[0].node("chatOpenAI_0").inputs["temperature"] == 0) is applied
    finally:
        workspace.close()


@pytest.mark.parametrize("key", ["-Zk3_dash", "--double-dash", "-hZk_help_like"])
def test_a_key_beginning_with_a_dash_is_the_key_not_an_option(
    in_process: Run, tmp_path: Path, key: str
) -> None:
    """Flowise's keys are base64url: one in 64 begins with "-", which argparse alone would
    read as an option and answer "--api-key: expected one argument" (CI met one)."""
    from tests.client.fake_flowise import FakeFlowise

    fake = FakeFlowise()
    try:
        fake.json("GET", "/api/v1/chatflows", {"message": "Unauthorized Access"}, status=401)
        done = in_process("plan", str(tmp_path / "flows"), "--url", fake.url, "--api-key", key)
    finally:
        fake.close()

    assert done.code == 1
    assert "expected one argument" not in done.err
    assert {seen.headers.get("Authorization") for seen in fake.requests} == {f"Bearer {key}"}


def test_a_missing_key_value_before_another_option_is_still_a_usage_error(
    in_process: Run, tmp_path: Path
) -> None:
    done = in_process("plan", str(tmp_path / "flows"), "--api-key", "--prune")

    assert done.code == 1
    assert "--api-key: expected one argument" in done.err
