"""apull and aplan through an AsyncWorkspace on a real Flowise: credentials read back by
name from the server's own list (awaited), and a fresh plan of the pulled folder empty."""

from __future__ import annotations

import asyncio
from pathlib import Path

from flowkit import AsyncWorkspace, Chatflow, Workspace
from flowkit.gitops import aplan, apull

from .conftest import MOCK_CREDENTIAL, Server


def test_an_async_workspace_pulls_and_plans_against_the_server(
    workspace: Workspace, server: Server, rag_flow: Chatflow, mock_credential: str, tmp_path: Path
) -> None:
    saved = workspace.create_chatflow(rag_flow)

    async def scenario() -> tuple[list[str], bool]:
        async with AsyncWorkspace.connect(server.url, api_key=server.api_key) as ws:
            pulled = await apull(ws, tmp_path)
            planned = await aplan(ws, tmp_path)
            return pulled.written, planned.empty

    try:
        written, empty = asyncio.run(scenario())
    finally:
        workspace.delete_chatflow(saved.id)

    assert f"chatflows/{saved.name}.json" in written
    text = (tmp_path / "chatflows" / f"{saved.name}.json").read_text(encoding="utf-8")
    assert f"credential:{MOCK_CREDENTIAL}" in text
    assert mock_credential not in text
    assert empty
