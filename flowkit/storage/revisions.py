"""Stored revisions of chatflows: :class:`RevisionInfo` and the :class:`RevisionStore`
protocol that stores keeping them (such as :class:`~flowkit.storage.sqlite.SQLiteStore`)
implement."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar, runtime_checkable

from flowkit.model import Assistant, Chatflow, Tool

__all__ = ["RevisionInfo", "RevisionStore"]

_EntityT = TypeVar("_EntityT", Chatflow, Tool, Assistant)


@dataclass(frozen=True, slots=True)
class RevisionInfo:
    """One stored revision of a chatflow in a workspace file.

    Its :attr:`number` counts saves of the flow in the file (1 is the create); it is not
    :attr:`Chatflow.revision <flowkit.Chatflow.revision>`, the in-memory change counter.

    :param chatflow_id: the flow.
    :param number: 1 for the create, then one more per save (update or restore).
    :param created_at: when this revision was saved (UTC).
    :param content_hash: sha256 of the flow's name, type and ``flowData``: equal hashes,
        equal flows.
    :param name: the flow's name in this revision.
    """

    chatflow_id: str
    number: int
    created_at: datetime
    content_hash: str
    name: str


@runtime_checkable
class RevisionStore(Protocol):
    """A store that keeps every saved version of every chatflow."""

    def revisions(self, chatflow_id: str) -> builtins.list[RevisionInfo]:
        """The chatflow's revisions, number 1 (the create) first.

        :raises NotFoundError: when there is no such chatflow.
        """
        ...

    def get(self, kind: type[_EntityT], entity_id: str, *, revision: int | None = None) -> _EntityT:
        """The entity; a chatflow as saved in revision ``revision`` when given.

        :raises NotFoundError: when there is none (or no such revision).
        """
        ...

    def restore(self, chatflow_id: str, number: int) -> Chatflow:
        """Save revision ``number`` again as the newest revision; return the flow as saved.

        :raises NotFoundError: when there is no such chatflow or revision.
        """
        ...
