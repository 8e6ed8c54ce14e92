"""What a component is told besides its inputs: :class:`RunContext` and :data:`Mode`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from flowkit.model import Chatflow, Node
from flowkit.model.messages import ChatMessage, Upload

__all__ = ["Mode", "RunContext"]

Mode = Literal["upsert", "predict"]
"""What a run is for: storing documents (``"upsert"``) or answering a question."""


@dataclass(frozen=True, slots=True)
class RunContext:
    """Everything a component may want to know besides its inputs.

    :param node: the node being run.
    :param flow: the flow it belongs to.
    :param mode: ``"upsert"`` or ``"predict"``.
    :param question: the question being answered (predict), else None.
    :param chat_id: the conversation id, if any.
    :param overrides: the run's overrides (Flowise ``overrideConfig``), already applied to
        the inputs; here for components that want to see them.
    :param state: the per-flow state shared by every run of the same flow (vector data, ...).
        A component keeps its data under its node id:
        ``context.state.setdefault(context.node.id, ...)``. Runs may happen on several
        threads at once: guard what you keep there.
    :param stop_node_id: the vector store an upsert stops at, if any.
    :param workspace: the workspace running the flow, if any.
    :param history: the conversation so far (this chat id's stored questions and answers,
        oldest first; empty for a new chat or outside predict); ``bufferMemory`` reads it.
        A local backend reads it from its store only when a component first uses it.
    :param uploads: the files sent with the question (predict), as Flowise's ``uploads``.
    """

    node: Node
    flow: Chatflow
    mode: Mode
    question: str | None
    chat_id: str | None
    overrides: Mapping[str, Any]
    state: dict[str, Any]
    stop_node_id: str | None
    workspace: object | None
    history: Sequence[ChatMessage] = ()
    uploads: Sequence[Upload] = ()
