"""The :class:`Workspace`: where chatflows, tools and assistants are saved, and where
documents are upserted and questions answered. Every operation sends its signal."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from blinker import Signal
from pydantic import ValidationError

from flowkit import signals
from flowkit.errors import FlowkitError, FlowValidationError
from flowkit.model import Assistant, Chatflow, ChatType, Node, Tool
from flowkit.model.chatflow import new_id
from flowkit.runtime import (
    ComponentRegistry,
    Document,
    Prediction,
    UpsertResult,
    arun,
    default_registry,
    run,
)

__all__ = ["Workspace"]

E = TypeVar("E", Chatflow, Tool, Assistant)
Mode = Literal["upsert", "predict"]


class Workspace:
    """An in-memory home for chatflows, tools and assistants, and the operations on them.

    Thread-safe: several threads may create entities and predict on one workspace at once.
    Components run without the workspace's lock, so they must be thread-safe themselves
    (the built-ins are).

    :param components: the component registry flows run with (default: the process-wide
        registry holding the built-ins and whatever ``@component`` registered).
    :param strict_signals: re-raise a signal receiver's exception instead of logging it
        (for tests); the operation's own work is done by then.
    """

    def __init__(
        self, *, components: ComponentRegistry | None = None, strict_signals: bool = False
    ) -> None:
        self.components = components if components is not None else default_registry()
        self.strict_signals = strict_signals
        self._lock = threading.RLock()
        self._chatflows: dict[str, Chatflow] = {}
        self._tools: dict[str, Tool] = {}
        self._assistants: dict[str, Assistant] = {}
        self._state: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return (
            f"<Workspace chatflows={len(self._chatflows)} tools={len(self._tools)} "
            f"assistants={len(self._assistants)}>"
        )

    # ---- saving ------------------------------------------------------------------------

    def create_chatflow(self, flow: Chatflow) -> Chatflow:
        """Validate and save a chatflow, then send :data:`~flowkit.signals.chatflow_created`.

        :returns: ``flow`` itself (the same instance the signal's sender is).
        :raises FlowValidationError: when the flow is invalid (nothing saved, nothing sent).
        :raises FlowkitError: when a chatflow with the same id exists.
        """
        _expect(flow, Chatflow, "create_chatflow", "Chatflow.from_flowise(...)")
        flow.validate()
        return self._save(self._chatflows, flow, "chatflow", signals.chatflow_created)

    def create_tool(self, tool: Tool) -> Tool:
        """Save a tool, then send :data:`~flowkit.signals.tool_created`.

        :returns: ``tool`` itself.
        :raises FlowkitError: when a tool with the same id exists.
        """
        _expect(tool, Tool, "create_tool", "Tool.from_flowise(...)")
        return self._save(self._tools, tool, "tool", signals.tool_created)

    def create_assistant(self, assistant: Assistant) -> Assistant:
        """Save an assistant, then send :data:`~flowkit.signals.assistant_created`.

        :returns: ``assistant`` itself.
        :raises FlowkitError: when an assistant with the same id exists.
        """
        _expect(assistant, Assistant, "create_assistant", "Assistant(details=...)")
        return self._save(self._assistants, assistant, "assistant", signals.assistant_created)

    def _save(self, store: dict[str, E], entity: E, kind: str, signal: Signal) -> E:
        with self._lock:
            if entity.id in store:
                raise FlowkitError(f"a {kind} with id {entity.id!r} exists already")
            store[entity.id] = entity
        signals.send(signal, entity, strict=self.strict_signals, workspace=self)
        return entity

    # ---- reading -------------------------------------------------------------------------

    def get_chatflow(self, chatflow_id: str) -> Chatflow:
        """Return the saved chatflow with this id.

        :raises FlowkitError: when there is none (the message names the id).
        """
        return _get(self._chatflows, chatflow_id, "chatflow")

    def get_tool(self, tool_id: str) -> Tool:
        """Return the saved tool with this id.

        :raises FlowkitError: when there is none.
        """
        return _get(self._tools, tool_id, "tool")

    def get_assistant(self, assistant_id: str) -> Assistant:
        """Return the saved assistant with this id.

        :raises FlowkitError: when there is none.
        """
        return _get(self._assistants, assistant_id, "assistant")

    @property
    def chatflows(self) -> list[Chatflow]:
        """The saved chatflows, in the order they were saved."""
        with self._lock:
            return list(self._chatflows.values())

    @property
    def tools(self) -> list[Tool]:
        """The saved tools, in the order they were saved."""
        with self._lock:
            return list(self._tools.values())

    @property
    def assistants(self) -> list[Assistant]:
        """The saved assistants, in the order they were saved."""
        with self._lock:
            return list(self._assistants.values())

    # ---- operations ----------------------------------------------------------------------

    def upsert_vector(
        self,
        flow_or_id: Chatflow | str,
        *,
        stop_node_id: str | None = None,
        chat_type: ChatType | str = ChatType.INTERNAL,
        overrides: Mapping[str, Any] | None = None,
    ) -> UpsertResult:
        """Run the part of a saved chatflow that feeds its vector store, in upsert mode, then
        send :data:`~flowkit.signals.vector_upserted`.

        :param flow_or_id: a saved chatflow or its id.
        :param stop_node_id: the vector store to stop at; see
            :func:`flowkit.graph.resolve_stop_node` for how one is chosen otherwise.
        :param chat_type: where the upsert came from (``INTERNAL`` by default, as
            Flowise's own UI).
        :param overrides: Flowise ``overrideConfig``: input values to use instead of the
            nodes' own.
        :returns: the :class:`UpsertResult` (stop node, number added, what the store said).
        :raises FlowValidationError: when no single vector store can be chosen.
        :raises ComponentError: when a node has no component or its component failed.
        :raises FlowkitError: when the chatflow is not saved here, or the vector store's
            report is not a mapping of string keys with a whole-number ``num_added``.
        """
        flow, stop, kind, kwargs = self._prepare_upsert(flow_or_id, stop_node_id, chat_type)
        output = run(flow, stop, overrides=overrides, **kwargs)
        result = _upsert_result(stop, output)
        signals.send(
            signals.vector_upserted,
            flow,
            strict=self.strict_signals,
            **self._signal_args(stop_node_id=stop, chat_type=kind, result=result),
        )
        return result

    async def aupsert_vector(
        self,
        flow_or_id: Chatflow | str,
        *,
        stop_node_id: str | None = None,
        chat_type: ChatType | str = ChatType.INTERNAL,
        overrides: Mapping[str, Any] | None = None,
    ) -> UpsertResult:
        """Like :meth:`upsert_vector`, awaiting async components and async receivers."""
        flow, stop, kind, kwargs = self._prepare_upsert(flow_or_id, stop_node_id, chat_type)
        output = await arun(flow, stop, overrides=overrides, **kwargs)
        result = _upsert_result(stop, output)
        await signals.send_async(
            signals.vector_upserted,
            flow,
            strict=self.strict_signals,
            **self._signal_args(stop_node_id=stop, chat_type=kind, result=result),
        )
        return result

    def predict(
        self,
        flow_or_id: Chatflow | str,
        question: str,
        *,
        chat_id: str | None = None,
        chat_type: ChatType | str = ChatType.EXTERNAL,
        overrides: Mapping[str, Any] | None = None,
    ) -> Prediction:
        """Answer ``question`` with a saved chatflow, then send
        :data:`~flowkit.signals.prediction_sent`.

        Runs the part of the flow that feeds its ending node (the last one in flow order
        when there are several, as Flowise does).

        :param flow_or_id: a saved chatflow or its id.
        :param question: the question.
        :param chat_id: the conversation id (a fresh uuid4 when not given).
        :param chat_type: where the question came from (``EXTERNAL`` by default, as
            Flowise's API).
        :param overrides: Flowise ``overrideConfig``.
        :returns: the :class:`Prediction` (answer text, chat id, source documents).
        :raises FlowValidationError: when the flow has no valid ending node.
        :raises ComponentError: when a node has no component or its component failed.
        :raises FlowkitError: when the chatflow is not saved here, or the ending node gave
            no text or unreadable ``source_documents``.
        """
        flow, end, kind, kwargs = self._prepare_predict(flow_or_id, question, chat_id, chat_type)
        output = run(flow, end, overrides=overrides, **kwargs)
        result = _prediction(kwargs["chat_id"], output, end)
        signals.send(
            signals.prediction_sent,
            flow,
            strict=self.strict_signals,
            **self._signal_args(
                chat_id=result.chat_id, chat_type=kind, question=question, result=result
            ),
        )
        return result

    async def apredict(
        self,
        flow_or_id: Chatflow | str,
        question: str,
        *,
        chat_id: str | None = None,
        chat_type: ChatType | str = ChatType.EXTERNAL,
        overrides: Mapping[str, Any] | None = None,
    ) -> Prediction:
        """Like :meth:`predict`, awaiting async components and async receivers."""
        flow, end, kind, kwargs = self._prepare_predict(flow_or_id, question, chat_id, chat_type)
        output = await arun(flow, end, overrides=overrides, **kwargs)
        result = _prediction(kwargs["chat_id"], output, end)
        await signals.send_async(
            signals.prediction_sent,
            flow,
            strict=self.strict_signals,
            **self._signal_args(
                chat_id=result.chat_id, chat_type=kind, question=question, result=result
            ),
        )
        return result

    # ---- internals -----------------------------------------------------------------------

    def _saved_flow(self, flow_or_id: Chatflow | str) -> Chatflow:
        flow_id = flow_or_id.id if isinstance(flow_or_id, Chatflow) else flow_or_id
        if not isinstance(flow_id, str):
            raise FlowkitError(f"expected a Chatflow or its id, got {type(flow_or_id).__name__}")
        with self._lock:
            flow = self._chatflows.get(flow_id)
        if flow is None:
            raise FlowkitError(
                f"no chatflow {flow_id!r} in this workspace: save it with create_chatflow first"
            )
        return flow

    def _flow_state(self, flow_id: str) -> dict[str, Any]:
        with self._lock:
            return self._state.setdefault(flow_id, {})

    def _prepare_upsert(
        self, flow_or_id: Chatflow | str, stop_node_id: str | None, chat_type: ChatType | str
    ) -> tuple[Chatflow, str, ChatType, dict[str, Any]]:
        flow = self._saved_flow(flow_or_id)
        kind = _chat_type(chat_type)
        stop = flow.resolve_stop_node(stop_node_id)
        kwargs = self._run_kwargs(flow, "upsert", stop_node_id=stop)
        return flow, stop, kind, kwargs

    def _prepare_predict(
        self,
        flow_or_id: Chatflow | str,
        question: str,
        chat_id: str | None,
        chat_type: ChatType | str,
    ) -> tuple[Chatflow, str, ChatType, dict[str, Any]]:
        flow = self._saved_flow(flow_or_id)
        if not isinstance(question, str):
            raise FlowkitError(f"question must be a string, got {type(question).__name__}")
        if chat_id is not None and (not isinstance(chat_id, str) or not chat_id):
            raise FlowkitError("chat_id must be a non-empty string or None")
        kind = _chat_type(chat_type)
        end = _ending_node(flow)
        kwargs = self._run_kwargs(
            flow, "predict", question=question, chat_id=chat_id or new_id()
        )
        return flow, end, kind, kwargs

    def _signal_args(self, **arguments: Any) -> dict[str, Any]:
        """The keyword arguments an operation's signal carries: the workspace and ``arguments``."""
        return {"workspace": self, **arguments}

    def _run_kwargs(self, flow: Chatflow, mode: Mode, **extra: Any) -> dict[str, Any]:
        return {
            "mode": mode,
            "registry": self.components,
            "state": self._flow_state(flow.id),
            "workspace": self,
            **extra,
        }


def _expect(value: object, kind: type, method: str, hint: str) -> None:
    if not isinstance(value, kind):
        raise FlowkitError(
            f"{method} takes a {kind.__name__}, got {type(value).__name__}; build one with {hint}"
        )


def _get(store: dict[str, E], entity_id: str, kind: str) -> E:
    try:
        return store[entity_id]
    except (KeyError, TypeError):
        raise FlowkitError(f"no {kind} {entity_id!r} in this workspace") from None


def _chat_type(value: ChatType | str) -> ChatType:
    try:
        return ChatType(value)
    except ValueError:
        raise FlowkitError(f"chat_type must be INTERNAL or EXTERNAL, got {value!r}") from None


def _ending_node(flow: Chatflow) -> str:
    ends: list[Node] = flow.ending_nodes()
    if not ends:
        flow.validate()  # raises, naming what is wrong
        raise FlowValidationError(f"chatflow {flow.id!r} has no valid ending node")
    return ends[-1].id


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'value'}: {error['msg']}"
        for error in exc.errors()
    )


def _upsert_result(stop: str, output: Any) -> UpsertResult:
    # A component is user code: what it returns is checked here, so that a malformed
    # report is a FlowkitError naming the node, never a bare pydantic ValidationError.
    stats = {k: v for k, v in output.items() if k != "stop_node_id"} if isinstance(
        output, Mapping
    ) else {}
    try:
        return UpsertResult.model_validate({**stats, "stop_node_id": stop})
    except ValidationError as exc:
        raise FlowkitError(
            f"vector store {stop!r} reported an upsert result flowkit cannot read "
            f"({_problems(exc)}); a vector store's component must return a mapping with "
            "string keys and a whole-number 'num_added'"
        ) from exc


def _prediction(chat_id: str, output: Any, end: str) -> Prediction:
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
            raise FlowkitError(
                f"ending node {end!r} gave source_documents flowkit cannot read ({reason}); "
                "they must be a list of Documents or of mappings with a 'page_content' string"
            ) from exc
    raise FlowkitError(
        f"ending node {end!r} gave {type(output).__name__}; an ending node's component must "
        "return a str or a mapping with a 'text' string"
    )
