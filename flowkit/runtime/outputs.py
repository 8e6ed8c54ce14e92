"""Reading what a run gave back: an upsert's :class:`UpsertResult`, a prediction's
:class:`Prediction`, and which node a prediction ends at.

A component is user code: what it returns is checked here, so that a malformed output is a
:class:`~flowkit.ComponentError` naming the node, never a bare pydantic ``ValidationError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from flowkit.errors import ComponentError, FlowValidationError
from flowkit.model import Chatflow, Node
from flowkit.model.problems import validation_problems
from flowkit.runtime.results import Document, Prediction, UpsertResult

__all__ = ["ending_node", "prediction", "upsert_result"]


def ending_node(flow: Chatflow) -> str:
    """The node a prediction runs to: the last ending node in flow order, as Flowise does.

    :raises FlowValidationError: when the flow has no valid ending node (naming what is
        wrong with the flow).
    """
    ends: list[Node] = flow.ending_nodes()
    if not ends:
        flow.check()  # raises, naming what is wrong
        raise FlowValidationError(
            f"chatflow {flow.id!r} has no valid ending node: connect a chain or an agent "
            "as the last node"
        )
    return ends[-1].id


def upsert_result(stop: str, output: Any) -> UpsertResult:
    """Read a vector store's upsert output.

    :param stop: the vector-store node the upsert stopped at.
    :param output: what its component returned (a mapping with ``num_added``).
    :raises ComponentError: when it is not a mapping of string keys with a whole-number
        ``num_added``.
    """
    stats = (
        {k: v for k, v in output.items() if k != "stop_node_id"}
        if isinstance(output, Mapping)
        else {}
    )
    try:
        return UpsertResult.model_validate({**stats, "stop_node_id": stop})
    except ValidationError as exc:
        raise ComponentError(
            f"vector store {stop!r} reported an upsert result flowkit cannot read "
            f"({_problems(exc)}); a vector store's component must return a mapping with "
            "string keys and a whole-number 'num_added'",
            node_id=stop,
        ) from exc


def prediction(chat_id: str, output: Any, end: str) -> Prediction:
    """Read an ending node's output as the :class:`Prediction` for ``chat_id``.

    :raises ComponentError: when it is neither a str, a Prediction nor a mapping with a
        ``text`` string, or its ``source_documents`` cannot be read.
    """
    if isinstance(output, Prediction):
        return output.model_copy(update={"chat_id": chat_id})
    if isinstance(output, str):
        return Prediction(text=output, chat_id=chat_id)
    if isinstance(output, Mapping) and isinstance(output.get("text"), str):
        docs = output.get("source_documents") or []
        try:
            if isinstance(docs, str | bytes | Mapping | Document):
                raise TypeError(f"a list of documents is wanted, got {type(docs).__name__}")
            return Prediction(
                text=output["text"],
                chat_id=chat_id,
                source_documents=[
                    d if isinstance(d, Document) else Document.model_validate(d) for d in docs
                ],
            )
        except (TypeError, ValidationError) as exc:
            reason = _problems(exc) if isinstance(exc, ValidationError) else str(exc)
            raise ComponentError(
                f"ending node {end!r} gave source_documents flowkit cannot read ({reason}); "
                "they must be a list of Documents or of mappings with a 'page_content' string",
                node_id=end,
            ) from exc
    raise ComponentError(
        f"ending node {end!r} gave {type(output).__name__}; an ending node's component must "
        "return a str or a mapping with a 'text' string",
        node_id=end,
    )


def _problems(exc: ValidationError) -> str:
    return "; ".join(validation_problems(exc, "the output"))
