"""Where a local backend keeps entities and engine state: the :class:`Store` protocol and
:class:`MemoryStore` (``flowkit.storage.sqlite.SQLiteStore`` keeps them in a file)."""

from __future__ import annotations

from flowkit.storage.base import Entity, EntityT, Store
from flowkit.storage.memory import MemoryStore

__all__ = ["Entity", "EntityT", "MemoryStore", "Store"]
