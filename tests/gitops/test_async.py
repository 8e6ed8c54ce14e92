"""apull, aplan and aapply on an AsyncWorkspace (in memory and in a SQLite file): the same
files, plans and results as the sync functions, references and circles included."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from flowkit import AsyncWorkspace, Workspace
from flowkit.gitops import PlanError, aapply, aplan, apply, apull, plan, pull

from .conftest import calculator, docs_flow, helper, set_input, tool_flow
from .test_references import user_flow

OpenAsync = Callable[[str], AsyncWorkspace]


@pytest.fixture(params=["memory", "sqlite"])
def open_async(request: pytest.FixtureRequest, tmp_path: Path) -> OpenAsync:
    def open_one(name: str) -> AsyncWorkspace:
        if request.param == "memory":
            return AsyncWorkspace()
        return AsyncWorkspace.open(tmp_path / f"{name}.db")

    return open_one


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(scenario())


def source_entities(ws: Workspace) -> None:
    tool = ws.create_tool(calculator())
    ws.create_chatflow(tool_flow(tool.id))
    docs = ws.create_chatflow(docs_flow())
    assistant = ws.create_assistant(helper())
    ws.create_chatflow(user_flow("Uses others", flow_id=docs.id, assistant_id=assistant.id))


def test_the_async_cycle_gives_what_the_sync_one_gives(
    open_async: OpenAsync, tmp_path: Path
) -> None:
    source = Workspace()
    source_entities(source)
    pull(source, tmp_path / "sync")
    pull(source, tmp_path / "async")
    sync_target = Workspace()
    apply(sync_target, plan(sync_target, tmp_path / "sync"))

    async def scenario() -> tuple[list[str], list[str], bool, list[str]]:
        async with open_async("target") as target:
            planned = await aplan(target, tmp_path / "async")
            applied = await aapply(target, planned)
            again = await aplan(target, tmp_path / "async")
            repulled = await apull(target, tmp_path / "repulled")
            return (
                [c.line for c in planned.changes],
                [a.change.document.label for a in applied],
                again.empty,
                sorted(repulled.written),
            )

    lines, labels, empty, written = run(scenario)

    assert lines == [c.line for c in plan(Workspace(), tmp_path / "sync").changes]
    assert labels == [
        "tools/calculator",
        "assistants/Helper",
        "chatflows/Docs QA",
        "chatflows/Uses a tool",
        "chatflows/Uses others",
    ]
    assert empty
    assert written == sorted(pull(sync_target, tmp_path / "sync-again").written)
    for name in written:  # the same files, byte for byte
        assert (tmp_path / "repulled" / name).read_bytes() == (
            tmp_path / "sync-again" / name
        ).read_bytes()


def test_an_edit_plans_and_applies_as_one_update(open_async: OpenAsync, tmp_path: Path) -> None:
    async def scenario() -> tuple[list[str], Any]:
        async with open_async("ws") as ws:
            await ws.create_chatflow(docs_flow())
            await apull(ws, tmp_path)
            set_input(tmp_path / "chatflows" / "Docs QA.json", "chatOpenAI_0", "temperature", 0)
            planned = await aplan(ws, tmp_path)
            await aapply(ws, planned)
            (flow,) = await ws.list_chatflows()
            return [c.line for c in planned.changes], flow.node("chatOpenAI_0").inputs

    lines, inputs = run(scenario)

    assert lines == ["~ chatflows/Docs QA: nodes changed chatOpenAI_0 (inputs temperature)"]
    assert inputs["temperature"] == 0


def test_a_plan_error_is_raised_as_by_plan(tmp_path: Path) -> None:
    source = Workspace()
    tool = source.create_tool(calculator())
    source.create_chatflow(tool_flow(tool.id))
    pull(source, tmp_path)
    (tmp_path / "tools" / "calculator.json").unlink()

    async def scenario() -> None:
        async with AsyncWorkspace() as target:
            await aplan(target, tmp_path)

    with pytest.raises(PlanError, match="uses tool 'calculator', which neither the folder"):
        run(scenario)
