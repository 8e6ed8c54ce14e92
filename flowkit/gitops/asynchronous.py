"""Flows as code on an :class:`~flowkit.AsyncWorkspace`: :func:`apull`, :func:`aplan` and
:func:`aapply`, awaitable twins of :func:`~flowkit.gitops.pull`, :func:`~flowkit.gitops.plan`
and :func:`~flowkit.gitops.apply`.

They read the workspace (its three listings and, on a Flowise server, its credentials)
with awaits, then run the same code as the sync functions on what was read; ``aapply``
awaits the very calls ``apply`` makes (:func:`~flowkit.gitops.apply.apply_steps`). The
folder is read and written with plain file I/O, as the sync functions do.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from flowkit.gitops.apply import Applied, Step, apply_steps
from flowkit.gitops.credentials import Credentials, credentials_from
from flowkit.gitops.plan import Plan, plan
from flowkit.gitops.pull import PullResult, pull
from flowkit.model import Assistant, Chatflow, Tool

__all__ = ["AsyncReadable", "aapply", "acredentials_of", "adrive", "aplan", "apull"]

_T = TypeVar("_T")


class AsyncReadable(Protocol):
    """What reading an async workspace needs: its three listings."""

    async def list_chatflows(self) -> list[Chatflow]: ...
    async def list_tools(self) -> list[Tool]: ...
    async def list_assistants(self) -> list[Assistant]: ...


@dataclass(frozen=True)
class _Read:
    """What an async workspace held when read, as the sync functions read a workspace."""

    chatflows: list[Chatflow]
    tools: list[Tool]
    assistants: list[Assistant]


async def _read(workspace: AsyncReadable) -> _Read:
    flows, tools, assistants = await asyncio.gather(
        workspace.list_chatflows(), workspace.list_tools(), workspace.list_assistants()
    )
    return _Read(flows, tools, assistants)


async def acredentials_of(workspace: object) -> Credentials:
    """Return the credentials of an async workspace: the server's (names and ids) when it is
    on a Flowise server, else :meth:`Credentials.by_name` (see
    :func:`~flowkit.gitops.credentials_of`)."""
    client = getattr(getattr(workspace, "backend", None), "client", None)
    listing = getattr(client, "list_credentials", None)
    if listing is None:
        return Credentials.by_name()
    records = listing()
    return credentials_from(await records if inspect.isawaitable(records) else records)


async def apull(
    workspace: AsyncReadable,
    folder: str | Path,
    *,
    prune: bool = False,
    credentials: Credentials | None = None,
) -> PullResult:
    """:func:`~flowkit.gitops.pull` for an async workspace (same arguments, result, errors)."""
    book = credentials if credentials is not None else await acredentials_of(workspace)
    return pull(await _read(workspace), folder, prune=prune, credentials=book)


async def aplan(
    workspace: AsyncReadable,
    folder: str | Path,
    *,
    prune: bool = False,
    credentials: Credentials | None = None,
) -> Plan:
    """:func:`~flowkit.gitops.plan` for an async workspace (same arguments, result, errors)."""
    book = credentials if credentials is not None else await acredentials_of(workspace)
    return plan(await _read(workspace), folder, prune=prune, credentials=book)


async def aapply(workspace: object, planned: Plan) -> list[Applied]:
    """:func:`~flowkit.gitops.apply` for an async workspace: the same calls, awaited, in the
    same order (same result, same errors)."""
    return await adrive(workspace, apply_steps(planned))


async def adrive(workspace: object, steps: Generator[Step, Any, _T]) -> _T:
    """Run ``steps`` on an async workspace: each step's method awaited, its result sent
    back (see :func:`~flowkit.gitops.apply.drive`). :returns: what the steps return."""
    try:
        name, args = next(steps)
        while True:
            name, args = steps.send(await getattr(workspace, name)(*args))
    except StopIteration as stop:
        result: _T = stop.value
        return result
