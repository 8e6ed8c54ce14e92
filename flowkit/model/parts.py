"""A flow's parts: :class:`Node` and :class:`Edge`, with every Flowise field kept.

Each part holds the fields flowkit reads as typed attributes and everything else Flowise
wrote, verbatim, in ``extra`` (and, for nodes, ``data_extra``). A part loaded from Flowise
also remembers its key order, so that exporting it gives back the same object, key for key.
"""

from __future__ import annotations

import weakref
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from flowkit.model.checked import CheckedModel

__all__ = ["KEY_ORDER_FIELDS", "STICKY_NOTE", "Edge", "Node"]

KEY_ORDER_FIELDS = frozenset({"key_order", "data_key_order"})
"""The fields that remember a Flowise object's key order: kept and serialised, but not part
of a part's content, so ``==`` ignores them."""

STICKY_NOTE = "stickyNote"
"""The Flowise node type (and component name) of a sticky note."""


class Node(CheckedModel):
    """One node of a flow: a Flowise component instance such as ``chatOpenAI_0``.

    :param id: the node id, unique in its flow (Flowise's ``<name>_<n>``); cannot change.
    :param name: the component name (Flowise ``data.name``), e.g. ``"chatOpenAI"``.
    :param label: the display label (``data.label``).
    :param category: the component category (``data.category``), e.g. ``"Vector Stores"``.
    :param type: the Flowise node type: ``"customNode"``, ``"stickyNote"``, ``"agentFlow"``,
        ``"iteration"``.
    :param inputs: the node's input values (``data.inputs``).
    :param credential: the credential id (``data.credential``), if any.
    :param parent_id: the enclosing node (Flowise ``parentNode``), if any.
    :param position: the canvas position (``{"x": ..., "y": ...}``).
    :param extra: every other top-level Flowise key (``width``, ``selected``, ...), verbatim.
    :param data_extra: every other key of Flowise's ``data`` (``version``, ``baseClasses``,
        ``inputParams``, ``outputs``, ...), verbatim.
    :param key_order: the key order of the Flowise object the node was read from (None for
        a node built in code); exporting writes the keys in that order.
    :param data_key_order: the same for its ``data`` object.

    Two nodes are equal when their content is: ``key_order`` and ``data_key_order`` are
    not compared. Setting a field of a node that belongs to a :class:`~flowkit.Chatflow`
    (``node.label = ...``) increases the flow's ``revision``; changing a dict in place
    (``node.inputs[...] = ...``) does not.
    """

    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    id: str = Field(min_length=1, frozen=True)
    name: str = ""
    label: str = ""
    category: str | None = None
    type: str = "customNode"
    inputs: dict[str, Any] = Field(default_factory=dict)
    credential: str | None = None
    parent_id: str | None = None
    position: dict[str, Any] | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    data_extra: dict[str, Any] = Field(default_factory=dict)

    key_order: tuple[str, ...] | None = Field(default=None, repr=False)
    data_key_order: tuple[str, ...] | None = Field(default=None, repr=False)

    # The flow holding this node (a weak reference; set and cleared by the flow).
    _owner: weakref.ref[Any] | None = PrivateAttr(default=None)

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        private = state.get("__pydantic_private__")
        if private:  # a weak reference cannot be pickled; the flow sets it again
            state["__pydantic_private__"] = {**private, "_owner": None}
        return state

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        private = self.__pydantic_private__
        owner = private.get("_owner") if private and name in type(self).model_fields else None
        flow = owner() if owner is not None else None
        if flow is not None:
            flow._node_changed(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Node):
            return NotImplemented
        return _content(self) == _content(other)

    @property
    def outputs(self) -> dict[str, Any]:
        """Flowise's ``data.outputs`` (the chosen output of a multi-output node), or ``{}``."""
        value = self.data_extra.get("outputs")
        return value if isinstance(value, dict) else {}

    @property
    def is_sticky_note(self) -> bool:
        """True for a sticky note, which is a node but never part of the computation."""
        return self.type == STICKY_NOTE or self.name == STICKY_NOTE


class Edge(CheckedModel):
    """One edge of a flow, from an output of ``source`` to an input of ``target``.

    :param id: the edge id, unique in its flow; cannot change.
    :param source: the source node id.
    :param target: the target node id.
    :param source_handle: Flowise's ``sourceHandle`` (``<source>-output-<name>-<types>``).
    :param target_handle: Flowise's ``targetHandle`` (``<target>-input-<name>-<type>``).
    :param type: the ReactFlow edge type (``"buttonedge"`` in Flowise).
    :param extra: every other Flowise key (``data``, ...), verbatim.
    :param key_order: the key order of the Flowise object the edge was read from (None for
        an edge built in code); not compared by ``==``.
    """

    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    id: str = Field(min_length=1, frozen=True)
    source: str = Field(min_length=1, frozen=True)
    target: str = Field(min_length=1, frozen=True)
    source_handle: str | None = None
    target_handle: str | None = None
    type: str | None = "buttonedge"
    extra: dict[str, Any] = Field(default_factory=dict)

    key_order: tuple[str, ...] | None = Field(default=None, repr=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Edge):
            return NotImplemented
        return _content(self) == _content(other)

    @property
    def target_input(self) -> str | None:
        """The name of the target's input this edge feeds, read from ``target_handle``.

        :returns: e.g. ``"vectorStoreRetriever"`` for
            ``"conversationalRetrievalQAChain_0-input-vectorStoreRetriever-BaseRetriever"``,
            or None when the handle does not follow Flowise's pattern.
        """
        handle = self.target_handle
        prefix = f"{self.target}-input-"
        if not handle or not handle.startswith(prefix):
            return None
        name = handle[len(prefix) :].split("-", 1)[0]
        return name or None


def _content(part: BaseModel) -> dict[str, Any]:
    return {k: v for k, v in part.__dict__.items() if k not in KEY_ORDER_FIELDS}
