"""The async workspace's operations that run flows (upsert, predict, stream) and the
outcome signal of every operation; :class:`~flowkit.AsyncWorkspace` inherits them."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from time import perf_counter
from typing import Any, TypeVar

from flowkit import signals
from flowkit.backends.base import AsyncBackend, PredictRequest, Upload, UpsertRequest
from flowkit.backends.events import StreamEvent
from flowkit.model import Chatflow, ChatType
from flowkit.model.messages import ChatMessage
from flowkit.runtime import Prediction, UpsertResult
from flowkit.storage.upserts import UpsertRecord
from flowkit.workspace._common import (
    StreamReader,
    chat_type_of,
    entity_id_of,
    failure_args,
    flow_type_of,
    loose_chat_type,
    predict_request,
    prediction_args,
    upsert_request,
)

__all__ = ["AsyncFlowRuns"]

T = TypeVar("T")
R = TypeVar("R", UpsertRequest, PredictRequest)


class AsyncFlowRuns:
    """Running flows and reporting each operation's outcome, on ``self.backend``."""

    backend: AsyncBackend
    strict_signals: bool

    # ---- the outcome of every operation ----------------------------------------------------

    async def _run(
        self,
        operation: str,
        sender: object,
        work: Callable[[], Awaitable[T]],
    ) -> tuple[T, float]:
        """Do ``work``; on an error, send operation_failed and re-raise it unchanged."""
        started = perf_counter()
        try:
            result = await work()
        except Exception as exc:
            await self._failed(operation, sender, exc, started, None, sender)
            raise
        return result, perf_counter() - started

    async def _failed(
        self,
        operation: str,
        sender: object,
        error: BaseException,
        started: float,
        chat_type: ChatType | None,
        flow: object,
    ) -> None:
        """Send operation_failed for ``error`` (its type, never its message)."""
        await signals.send_async(
            signals.operation_failed,
            sender,
            workspace=self,
            **failure_args(
                operation,
                error,
                perf_counter() - started,
                chat_type=chat_type,
                flow_type=flow_type_of(flow),
            ),
        )

    async def _run_flow(
        self,
        operation: str,
        flow_or_id: Chatflow | str,
        chat_type: ChatType | str,
        build: Callable[[Chatflow], R],
        call: Callable[[R], Awaitable[T]],
    ) -> tuple[R, T, float]:
        """The body upsert_vector and predict share: find the saved flow, ``build`` its run
        request, have the backend ``call`` it, reporting a failure.

        :returns: the request, what the backend answered and the duration.
        """
        started = perf_counter()
        flow: Chatflow | None = None
        try:
            flow = await self._flow(flow_or_id, operation)
            request = build(flow)
            result = await call(request)
        except Exception as exc:
            kind = loose_chat_type(chat_type)
            await self._failed(
                operation, flow_or_id, exc, started, kind, flow if flow is not None else flow_or_id
            )
            raise
        return request, result, perf_counter() - started

    async def _succeeded(self, signal: Any, sender: object, duration: float, **kwargs: Any) -> None:
        await signals.send_async(
            signal, sender, strict=self.strict_signals, workspace=self, duration=duration, **kwargs
        )

    async def chat_messages(
        self, flow_or_id: Chatflow | str, chat_id: str | None = None
    ) -> builtins.list[ChatMessage]:
        """The stored questions and answers of a chatflow (of one conversation), oldest first."""
        flow_id = entity_id_of(flow_or_id, "chatflow", "chat_messages")
        return await self.backend.chat_messages(flow_id, chat_id)

    async def delete_chat_messages(
        self, flow_or_id: Chatflow | str, chat_id: str | None = None
    ) -> int:
        """Delete a chatflow's stored messages (one conversation's). :returns: how many."""
        flow_id = entity_id_of(flow_or_id, "chatflow", "delete_chat_messages")
        return await self.backend.delete_chat_messages(flow_id, chat_id)

    async def upsert_history(self, flow_or_id: Chatflow | str) -> builtins.list[UpsertRecord]:
        """See :meth:`flowkit.Workspace.upsert_history`.

        :raises ArgumentTypeError: when given neither a Chatflow nor an id.
        :raises NotFoundError: when there is no such chatflow.
        """
        flow_id = entity_id_of(flow_or_id, "chatflow", "upsert_history")
        return await self.backend.upsert_history(flow_id)

    # ---- running flows ---------------------------------------------------------------------

    async def _flow(self, flow_or_id: object, method: str) -> Chatflow:
        if isinstance(flow_or_id, Chatflow):
            return flow_or_id
        return await self.backend.get(Chatflow, entity_id_of(flow_or_id, "chatflow", method))

    async def upsert_vector(
        self,
        flow_or_id: Chatflow | str,
        *,
        stop_node_id: str | None = None,
        chat_type: ChatType | str = ChatType.INTERNAL,
        overrides: Mapping[str, Any] | None = None,
        files: Sequence[Upload] = (),
    ) -> UpsertResult:
        """Run the saved chatflow's vector-store part in upsert mode; send
        :data:`~flowkit.signals.vector_upserted`.

        :param flow_or_id: a saved chatflow or its id (the saved version runs).
        :param stop_node_id: the vector store to stop at (needed when there are several).
        :param chat_type: where the upsert came from (``INTERNAL`` by default, as Flowise's UI).
        :param overrides: Flowise ``overrideConfig``.
        :param files: files to load, as Flowise's multipart upsert sends them: each fills
            the loader input its extension names (``txtFile`` for ``.txt`` and unknown
            extensions, ``pdfFile``, ``jsonFile``, ``csvFile``, ...), on a Flowise server
            and in flowkit's own engine alike.
        :raises NotFoundError: when the chatflow is not saved.
        :raises FlowValidationError: when no single vector store can be chosen.
        :raises ComponentError: when a node has no component or its component failed.
        :raises ArgumentTypeError: when an argument has the wrong type (``files``
            included).
        """
        request, result, duration = await self._run_flow(
            "upsert_vector",
            flow_or_id,
            chat_type,
            lambda flow: upsert_request(
                flow, stop_node_id, chat_type_of(chat_type), overrides, files
            ),
            self.backend.upsert,
        )
        await self._succeeded(
            signals.vector_upserted,
            request.flow,
            duration,
            stop_node_id=result.stop_node_id,
            chat_type=request.chat_type,
            result=result,
        )
        return result

    async def predict(
        self,
        flow_or_id: Chatflow | str,
        question: str,
        *,
        chat_id: str | None = None,
        chat_type: ChatType | str = ChatType.EXTERNAL,
        overrides: Mapping[str, Any] | None = None,
        history: Sequence[ChatMessage] | None = None,
        uploads: Sequence[Upload] = (),
    ) -> Prediction:
        """Answer ``question`` with the saved chatflow; send
        :data:`~flowkit.signals.prediction_sent`.

        :param flow_or_id: a saved chatflow or its id (the saved version runs).
        :param question: the question.
        :param chat_id: the conversation; when not given, ``overrides["sessionId"]`` as in
            Flowise, else a fresh uuid4.
        :param chat_type: where the question came from (``EXTERNAL`` by default, as the API).
        :param overrides: Flowise ``overrideConfig`` (its ``sessionId`` names the
            conversation when ``chat_id`` does not).
        :param history: earlier messages to answer with, instead of the stored conversation
            (Flowise's ``history``).
        :param uploads: files sent with the question (Flowise's ``uploads``); flowkit's own
            engine gives them to components as ``context.uploads``.
        :raises NotFoundError: when the chatflow is not saved.
        :raises FlowValidationError: when the flow has no valid ending node.
        :raises ComponentError: when a node has no component or its component failed.
        :raises ArgumentTypeError: when an argument has the wrong type (``sessionId``
            included).
        """
        request, result, duration = await self._run_flow(
            "predict",
            flow_or_id,
            chat_type,
            lambda flow: predict_request(
                flow, question, chat_id, chat_type_of(chat_type), overrides, history, uploads
            ),
            self.backend.predict,
        )
        await self._succeeded(
            signals.prediction_sent, request.flow, duration, **prediction_args(request, result)
        )
        return result

    async def stream(
        self,
        flow_or_id: Chatflow | str,
        question: str,
        *,
        chat_id: str | None = None,
        chat_type: ChatType | str = ChatType.EXTERNAL,
        overrides: Mapping[str, Any] | None = None,
        history: Sequence[ChatMessage] | None = None,
        uploads: Sequence[Upload] = (),
    ) -> AsyncIterator[StreamEvent]:
        """Like :meth:`predict`, yielding the answer as :class:`StreamEvent` objects.

        Use it with ``async for``. Nothing happens until the first event is asked for. Once
        the stream has ended, :data:`~flowkit.signals.prediction_sent` is sent with the
        answer the events spell out; a raised error, or an ``error`` event, sends
        :data:`~flowkit.signals.operation_failed` (operation ``"predict"``) instead. A stream
        left before its end sends nothing.

        :raises: what :meth:`predict` raises, from the iteration.
        """
        started = perf_counter()
        kind = loose_chat_type(chat_type)
        flow: Chatflow | None = None
        try:
            flow = await self._flow(flow_or_id, "predict")
            request = predict_request(
                flow, question, chat_id, chat_type_of(chat_type), overrides, history, uploads
            )
            reader = StreamReader(request)
            async for event in self.backend.stream(request):
                reader.read(event)
                yield event
        except (GeneratorExit, asyncio.CancelledError):
            raise
        except Exception as exc:
            await self._failed(
                "predict", flow_or_id, exc, started, kind, flow if flow is not None else flow_or_id
            )
            raise
        error = reader.failure()
        if error is not None:
            await self._failed("predict", flow_or_id, error, started, kind, flow)
            return
        duration = perf_counter() - started
        result = reader.prediction()
        await self._succeeded(
            signals.prediction_sent, request.flow, duration, **prediction_args(request, result)
        )
