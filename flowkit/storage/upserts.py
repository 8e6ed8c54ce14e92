"""One upsert's record, as Flowise's ``upsert_history`` keeps it: :class:`UpsertRecord`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable
from uuid import uuid4

__all__ = ["UpsertHistoryStore", "UpsertRecord"]


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid4())


@dataclass(frozen=True, slots=True)
class UpsertRecord:
    """What one upsert did: when, into which vector-store node, and the counts.

    :param chatflow_id: the chatflow upserted through.
    :param stop_node_id: the vector-store node the upsert stopped at.
    :param num_added: chunks added.
    :param num_updated: chunks updated.
    :param num_skipped: chunks already there with the same content (Flowise's record
        manager skips them).
    :param num_deleted: chunks of the same sources that are gone, hence deleted.
    :param created_at: when it happened (UTC).
    :param id: the record's id.
    """

    chatflow_id: str
    stop_node_id: str | None
    num_added: int = 0
    num_updated: int = 0
    num_skipped: int = 0
    num_deleted: int = 0
    created_at: datetime = field(default_factory=_now)
    id: str = field(default_factory=_new_id)

    def result(self) -> dict[str, int]:
        """The counts under Flowise's names (``numAdded``, ``numUpdated``, ``numSkipped``,
        ``numDeleted``)."""
        return {
            "numAdded": self.num_added,
            "numUpdated": self.num_updated,
            "numSkipped": self.num_skipped,
            "numDeleted": self.num_deleted,
        }

    @classmethod
    def from_row(
        cls, chatflow_id: str, record_id: str, stop_node_id: str | None, result: str, date: str
    ) -> UpsertRecord:
        """Rebuild a record from an ``upsert_history`` row."""
        counts: dict[str, Any] = json.loads(result)
        return cls(
            chatflow_id=chatflow_id,
            stop_node_id=stop_node_id,
            num_added=int(counts.get("numAdded", 0)),
            num_updated=int(counts.get("numUpdated", 0)),
            num_skipped=int(counts.get("numSkipped", 0)),
            num_deleted=int(counts.get("numDeleted", 0)),
            created_at=datetime.fromisoformat(date),
            id=record_id,
        )


@runtime_checkable
class UpsertHistoryStore(Protocol):
    """A store that keeps a record of every upsert (Flowise's ``upsert_history``)."""

    def add_upsert_record(self, record: UpsertRecord) -> None:
        """Keep one upsert's record."""
        ...

    def upsert_history(self, chatflow_id: str) -> list[UpsertRecord]:
        """The chatflow's upsert records, oldest first."""
        ...
