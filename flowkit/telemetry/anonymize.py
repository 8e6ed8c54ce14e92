"""The anonymized flow: ``{nodes: [ids], edges: [{source, target}]}``, and pseudonyms.

A node id goes out unchanged only when it is ``<name>_<n>`` for the name of a component of
Flowise itself (:func:`flowise_node_names`: every node name of every Flowise release, kept as
data in the package) or of flowkit's own built-in components; such an id says only which
component the node is, so every Flowise export, old or new, yields exactly Flowise's payload.
Any other id may carry user text (a node's name is the user's to choose), so it is replaced
by a pseudonym: a keyed BLAKE2b digest of the id under a random key made once per process.
The same id gives the same pseudonym for the life of the process, edges use the node's
pseudonym, and nothing can be decoded from it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import secrets
import threading
import weakref
from importlib import resources
from typing import Any

from flowkit.model import Chatflow, Node
from flowkit.runtime.builtins import BUILTIN_NAMES

__all__ = [
    "GraphSnapshots",
    "anonymous_id",
    "flow_graph",
    "flowise_node_names",
    "is_flowise_id",
    "pseudonym",
]

_DIGITS = re.compile(r"(?:0|[1-9][0-9]*)")
_CATALOG = "flowise_node_names.json"
_key_lock = threading.Lock()
_key: bytes | None = None


@functools.cache
def flowise_node_names() -> frozenset[str]:
    """Return the node names of Flowise's components, as every Flowise release had them.

    Read once, on first use, from ``flowkit/telemetry/data/flowise_node_names.json`` (which
    also says which Flowise releases it was made from; ``scripts/flowise_node_names.py``
    regenerates it). Thread-safe; the same frozenset is returned on every later call.

    :returns: the names, e.g. ``"chatOpenAI"``, ``"csvAgent"``, ``"pineconeUpsert"``.
    :raises OSError: when the data file is missing from the installed package.
    """
    text = resources.files("flowkit.telemetry").joinpath("data", _CATALOG).read_text("utf-8")
    names: list[str] = json.loads(text)["names"]
    return frozenset(names)


@functools.cache
def _verbatim_names() -> frozenset[str]:
    # flowkit's built-in components are fixed names of this package, never user text.
    return flowise_node_names() | frozenset(BUILTIN_NAMES)


def is_flowise_id(node_id: str) -> bool:
    """Return whether ``node_id`` is Flowise's ``<name>_<n>`` for a known component ``name``.

    ``name`` must be one of :func:`flowise_node_names` or a flowkit built-in component, and
    ``n`` a decimal number as Flowise writes it (ASCII digits, no leading zero). Whatever
    the node's own (user-chosen) name is does not matter.
    """
    name, underscore, number = node_id.rpartition("_")
    return bool(underscore) and _DIGITS.fullmatch(number) is not None and name in _verbatim_names()


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
    """Return the id telemetry may send for ``node``: its own id when :func:`is_flowise_id`,
    else its :func:`pseudonym`."""
    return node.id if is_flowise_id(node.id) else pseudonym(node.id)


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
