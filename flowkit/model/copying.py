"""Deep copies of a chatflow's parts and graph, five times cheaper than ``copy.deepcopy``.

JSON-shaped values are copied by :func:`~flowkit.model.jsondata.clone`; nodes and edges
field by field, as pydantic copies them but without its generic walk; the graph with
networkx's own dicts in the very same order (a property test pins it).
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any, TypeVar

import networkx as nx
from pydantic import BaseModel

from flowkit.model.enums import FlowType
from flowkit.model.jsondata import clone
from flowkit.model.parts import Edge, Node

_Model = TypeVar("_Model", bound=BaseModel)

__all__ = ["copy_attrs", "copy_fields", "copy_graph", "copy_part", "copy_value"]


def copy_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a model's field values: JSON-shaped data by ``clone``, anything else
    (datetimes, enums, strings are immutable and shared) by ``copy.deepcopy``."""
    return {
        name: value if type(value) in _IMMUTABLE else copy_value(value)
        for name, value in fields.items()
    }


def copy_value(value: Any) -> Any:
    kind = type(value)
    if kind is dict or kind is list:
        return clone(value)
    if kind is tuple and all(type(item) in _IMMUTABLE for item in value):
        return value
    return copy.deepcopy(value)


def copy_part(part: _Model) -> _Model:
    """A deep copy of a node, an edge or a flow's fields (its private attributes copied
    shallowly), as pydantic's own copy makes it, but without its generic walk. The flow
    sets a copied node's owner, and its own graph."""
    cls = type(part)
    copied = cls.__new__(cls)
    object.__setattr__(copied, "__dict__", copy_fields(part.__dict__))
    object.__setattr__(copied, "__pydantic_fields_set__", set(part.__pydantic_fields_set__))
    object.__setattr__(copied, "__pydantic_extra__", None)
    private = part.__pydantic_private__
    object.__setattr__(copied, "__pydantic_private__", None if private is None else dict(private))
    return copied


def copy_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    return {
        key: copy_part(value) if isinstance(value, Node | Edge) else copy_value(value)
        for key, value in attrs.items()
    }


def copy_graph(graph: nx.MultiDiGraph[str]) -> nx.MultiDiGraph[str]:
    """A deep copy of the flow's graph with networkx's own dicts in the very same order
    (successors and predecessors alike) and each edge's attributes shared between its
    successor and predecessor entries, as networkx keeps them."""
    copied: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    copied.graph.update(copy_value(dict(graph.graph)))
    # networkx's own storage (``_node``; ``_succ`` is ``_adj``; ``_pred``), which its stubs
    # leave out: copied as is, so that every iteration order stays the original's.
    state = vars(copied)
    nodes, succ, pred = state["_node"], state["_succ"], state["_pred"]
    for node_id, attrs in vars(graph)["_node"].items():
        nodes[node_id] = copy_attrs(attrs)
    edge_attrs: dict[int, dict[str, Any]] = {}
    for source, targets in vars(graph)["_succ"].items():
        succ[source] = {
            target: {
                key: edge_attrs.setdefault(id(attrs), copy_attrs(attrs))
                for key, attrs in keyed.items()
            }
            for target, keyed in targets.items()
        }
    for target, sources in vars(graph)["_pred"].items():
        pred[target] = {
            source: {key: edge_attrs[id(attrs)] for key, attrs in keyed.items()}
            for source, keyed in sources.items()
        }
    return copied


_IMMUTABLE: frozenset[type] = frozenset({str, int, float, bool, type(None), datetime, FlowType})
