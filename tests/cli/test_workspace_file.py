"""``flowkit ls`` and ``flowkit diff`` on real workspace files, in a subprocess."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowkit.cli import main
from flowkit.model import Assistant, Chatflow, Tool
from flowkit.storage.sqlite import SQLiteStore

from .helpers import Run


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, Chatflow]:
    path = tmp_path / "flows.db"
    flow = Chatflow(name="Support bot")
    model = flow.add_node("chatOpenAI", inputs={"temperature": 0.2})
    chain = flow.add_node("llmChain")
    flow.connect(model, chain, "model")
    with SQLiteStore(path) as store:
        store.save(flow)
        flow.node("chatOpenAI_0").inputs["temperature"] = 0.7
        prompt = flow.add_node("promptTemplate")
        flow.connect(prompt, chain, "prompt")
        store.replace(flow)
        store.save(Tool(id="tool-1", name="calculator"))
        store.save(Assistant(id="asst-1", details={"name": "Helper"}))
    return path, flow


def test_ls_lists_flows_with_revisions_tools_and_assistants(
    run_flowkit: Run, workspace: tuple[Path, Chatflow]
) -> None:
    path, flow = workspace
    result = run_flowkit("ls", str(path))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "chatflows (1)"
    assert lines[1].split() == [flow.id, "rev", "2", "CHATFLOW", "Support", "bot"]
    assert lines[2:] == ["tools (1)", "  tool-1  calculator", "assistants (1)", "  asst-1  Helper"]


def test_diff_names_what_changed_between_two_revisions(
    run_flowkit: Run, workspace: tuple[Path, Chatflow]
) -> None:
    path, flow = workspace
    result = run_flowkit("diff", str(path), flow.id, "1", "2")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"chatflow 'Support bot' ({flow.id}): revision 1 -> 2",
        "+ node promptTemplate_0",
        "~ node chatOpenAI_0: inputs temperature",
        "~ node llmChain_0: inputs prompt",
        "+ edge promptTemplate_0 -> llmChain_0 (prompt)",
        "nodes: 1 added, 0 removed, 2 changed; edges: 1 added, 0 removed",
    ]


def test_diff_of_a_revision_with_itself_says_no_changes(
    run_flowkit: Run, workspace: tuple[Path, Chatflow]
) -> None:
    path, flow = workspace
    result = run_flowkit("diff", str(path), flow.id, "2", "2")
    assert result.out.splitlines()[-1] == "no changes"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ls", "missing.db"), "no workspace file at 'missing.db'"),
        (("diff", "missing.db", "f", "1", "2"), "no workspace file at 'missing.db'"),
        (("diff", "FLOWS", "ghost", "1", "2"), "no chatflow with id 'ghost'"),
        (("diff", "FLOWS", "FLOW", "1", "5"), "has no revision 5"),
        (("diff", "FLOWS", "FLOW", "1", "two"), "invalid int value: 'two'"),
        (("ls", "NOTES"), "not a flowkit workspace file"),
    ],
)
def test_errors_are_one_line_and_exit_2(
    workspace: tuple[Path, Chatflow],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    message: str,
) -> None:
    path, flow = workspace
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database")
    names = {"FLOWS": str(path), "FLOW": flow.id, "NOTES": str(notes)}
    code = main([names.get(arg, arg) for arg in args])  # in process: 6 cases, no startup
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("flowkit: error: ")
    assert message in err
    assert not Path("missing.db").exists()
