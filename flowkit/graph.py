"""Questions asked of a flow's graph: is it valid, where does it end, what feeds a node.

The rules themselves live in :mod:`flowkit.model.rules` (so that the model's own methods,
``Chatflow.check()`` and the rest, can call them); this module is their public home.
Every function takes time linear in the flow's size (``run_order`` adds a log factor for
its deterministic tie-break), with no recursion.
"""

from __future__ import annotations

from flowkit.model.rules import (
    ENDING_CATEGORIES,
    MEMORY_CATEGORY,
    START_AGENTFLOW,
    VECTOR_STORE_CATEGORY,
    GraphView,
    ending_nodes,
    problems,
    resolve_stop_node,
    run_order,
    upstream,
    validate,
    vector_store_nodes,
)

__all__ = [
    "ENDING_CATEGORIES",
    "MEMORY_CATEGORY",
    "START_AGENTFLOW",
    "VECTOR_STORE_CATEGORY",
    "GraphView",
    "ending_nodes",
    "problems",
    "resolve_stop_node",
    "run_order",
    "upstream",
    "validate",
    "vector_store_nodes",
]
