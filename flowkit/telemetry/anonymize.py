"""The anonymized flow: ``{nodes: [ids], edges: [{source, target}]}``, and pseudonyms.

A node id that follows Flowise's ``<node.name>_<n>`` pattern says only which component the
node is, so it passes unchanged: every Flowise export yields exactly Flowise's payload. Any
other id may carry user text, so it is replaced by a pseudonym: a keyed BLAKE2b digest of the
id under a random key made once per process. The same id gives the same pseudonym for the
life of the process, edges use the node's pseudonym, and nothing can be decoded from it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import weakref
from typing import Any

from flowkit.model import Chatflow, Node

__all__ = ["GraphSnapshots", "anonymous_id", "flow_graph", "is_flowise_id", "pseudonym"]

_DIGITS = re.compile(r"(?:0|[1-9][0-9]*)")
_key_lock = threading.Lock()
_key: bytes | None = None


def is_flowise_id(node_id: str, name: str) -> bool:
    """Return whether ``node_id`` is Flowise's ``<name>_<n>`` for component ``name``."""
    return (
        bool(name)
        and node_id.startswith(name)
        and node_id[len(name) : len(name) + 1] == "_"
        and _DIGITS.fullmatch(node_id, len(name) + 1) is not None
    )


def _process_key() -> bytes:
    global _key
    if _key is None:
        with _key_lock:
            if _key is None:
                _key = secrets.token_bytes(32)
    return _key


def pseudonym(node_id: str) -> str:
    """Return the process-stable, irreversible pseudonym of ``node_id`` (``node_<16 hex>``)."""
    digest = hashlib.blake2b(node_id.encode(), key=_process_key(), digest_size=8)
    return "node_" + digest.hexdigest()


def anonymous_id(node: Node) -> str:
    """Return the id telemetry may send for ``node``: its own id when it is Flowise's
    ``<name>_<n>``, else its :func:`pseudonym`."""
    return node.id if is_flowise_id(node.id, node.name) else pseudonym(node.id)


def flow_graph(flow: Chatflow) -> dict[str, Any]:
    """Return the flow's anonymized shape, built fresh.

    :returns: ``{"nodes": [id, ...], "edges": [{"source": id, "target": id}, ...]}`` in the
        flow's own node and edge order, sticky notes included, parallel edges kept; ids as
        :func:`anonymous_id` gives them. Nothing else about the flow is included.
    """
    ids = {node.id: anonymous_id(node) for node in flow.nodes}
    return {
        "nodes": list(ids.values()),
        "edges": [{"source": ids[e.source], "target": ids[e.target]} for e in flow.edges],
    }


class GraphSnapshots:
    """A cache of :func:`flow_graph` keyed by flow and :attr:`~flowkit.Chatflow.revision`.

    An unchanged flow costs one lookup; any change to it (a new revision) builds a new
    snapshot. Entries go away with their flow. Snapshots are shared: never mutate one.
    Thread-safe (two threads may build the same snapshot once each; either is right).
    """

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[Chatflow], int, dict[str, Any]]] = {}

    def get(self, flow: Chatflow) -> dict[str, Any]:
        """Return the flow's anonymized shape at its current revision."""
        key = id(flow)
        revision = flow.revision
        entry = self._entries.get(key)
        if entry is not None and entry[1] == revision and entry[0]() is flow:
            return entry[2]
        graph = flow_graph(flow)
        entries = self._entries
        ref = weakref.ref(flow, lambda _ref: entries.pop(key, None))
        self._entries[key] = (ref, revision, graph)
        return graph

    def __len__(self) -> int:
        return len(self._entries)
