"""Flows as code: a folder of Flowise exports is the source of truth of a workspace.

- :func:`pull` writes a workspace's chatflows, tools and assistants into a folder, one file
  each (:mod:`flowkit.gitops.folder` describes the format);
- :func:`plan` says what :func:`apply` would change to make a workspace match the folder;
- :func:`apply` carries a plan out through the Workspace's own methods.

They work on any workspace (in memory, a SQLite file, a Flowise server): credentials travel
by name (:mod:`flowkit.gitops.credentials`), so a folder pulled from one server applies to
another. ``flowkit pull``, ``plan`` and ``apply`` are the same on the command line;
:func:`apull`, :func:`aplan` and :func:`aapply` are their twins for an
:class:`~flowkit.AsyncWorkspace`.
"""

from __future__ import annotations

from flowkit.gitops.apply import Applied, apply
from flowkit.gitops.asynchronous import aapply, acredentials_of, aplan, apull
from flowkit.gitops.credentials import Credentials, credentials_of
from flowkit.gitops.folder import KINDS, Document, FolderError, Kind, entity_name, file_name
from flowkit.gitops.plan import Action, Change, Plan, PlanError, plan
from flowkit.gitops.pull import PullResult, pull

__all__ = [
    "KINDS",
    "Action",
    "Applied",
    "Change",
    "Credentials",
    "Document",
    "FolderError",
    "Kind",
    "Plan",
    "PlanError",
    "PullResult",
    "aapply",
    "acredentials_of",
    "aplan",
    "apply",
    "apull",
    "credentials_of",
    "entity_name",
    "file_name",
    "plan",
    "pull",
]
