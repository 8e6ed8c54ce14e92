"""Workspaces: :class:`Workspace` and its async twin :class:`AsyncWorkspace`.

Both check arguments, hand the work to a backend (:mod:`flowkit.backends`) and send one
signal per operation (:mod:`flowkit.signals`); they never branch on which backend they have.
"""

from __future__ import annotations

from flowkit.workspace.asynchronous import AsyncWorkspace
from flowkit.workspace.sync import Workspace

__all__ = ["AsyncWorkspace", "Workspace"]
