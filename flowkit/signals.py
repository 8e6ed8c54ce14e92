"""The signals flowkit's operations send, on one ``blinker.Namespace``.

Each signal's sender is the entity the operation acted on (the :class:`~flowkit.Chatflow`,
:class:`~flowkit.Tool` or :class:`~flowkit.Assistant`); everything else comes as keyword
arguments. Receivers must accept ``**kwargs`` so that arguments added later never break
them::

    from flowkit import signals

    @signals.prediction_sent.connect
    def on_prediction(flow, *, question, result, duration, **kwargs):
        print(flow.name, question, result.text, f"{duration * 1000:.1f} ms")

``connect(receiver, sender=flow)`` limits a receiver to one flow, and blinker's
``connected_to`` suits tests. blinker holds receivers weakly by default: pass
``weak=False`` for a lambda or a function defined inside another.

Every operation ends with exactly one signal: its success signal once it succeeded, or
:data:`operation_failed` when it raised (sent after the error is known, before it is
raised; the caller gets the error unchanged). Every one carries ``workspace`` and
``duration`` (seconds, a float, measured around the backend's work).

The workspace sends through :func:`send` (or :func:`send_async`), which runs every receiver
even when one raises: a failing receiver is logged with its name and traceback on the
``flowkit.signals`` logger and the operation still succeeds (a strict workspace re-raises
the first error, once every receiver has run).
"""

from __future__ import annotations

import inspect
import logging
import weakref
from typing import Any

from blinker import NamedSignal, Namespace, Signal

from flowkit.errors import FlowkitError

try:  # blinker's receiver table (1.8 and later); without it, blinker's own receivers_for
    from blinker._utilities import make_id as _make_id
    from blinker.base import ANY_ID as _ANY_ID
except ImportError:  # pragma: no cover - blinker 1.7, or a blinker laid out differently
    _make_id = None  # type: ignore[assignment]
    _ANY_ID = 0

__all__ = [
    "ALL_SIGNALS",
    "OPERATIONS",
    "SIGNALS",
    "assistant_created",
    "assistant_deleted",
    "assistant_updated",
    "chatflow_created",
    "chatflow_deleted",
    "chatflow_updated",
    "namespace",
    "node_finished",
    "operation_failed",
    "prediction_sent",
    "send",
    "send_async",
    "tool_created",
    "tool_deleted",
    "tool_updated",
    "vector_upserted",
]

logger = logging.getLogger(__name__)

namespace = Namespace()
"""The namespace that holds flowkit's signals."""

chatflow_created: NamedSignal = namespace.signal(
    "chatflow_created",
    doc="""Sent when a chatflow is saved for the first time (``Workspace.create_chatflow``).

    :sender: the saved :class:`~flowkit.Chatflow` (on a Flowise server: a new object carrying
        the id the server gave it).
    :param workspace: the workspace that saved it.
    :param duration: ``float``, seconds the operation took.
    """,
)
chatflow_updated: NamedSignal = namespace.signal(
    "chatflow_updated",
    doc="""Sent when a saved chatflow was replaced (``Workspace.update_chatflow``, or a
    workspace's ``restore_chatflow``).

    :sender: the chatflow as saved now.
    :param workspace: the workspace.
    :param duration: ``float``, seconds.
    """,
)
chatflow_deleted: NamedSignal = namespace.signal(
    "chatflow_deleted",
    doc="""Sent when a chatflow was deleted (``Workspace.delete_chatflow``).

    :sender: the chatflow as it was before it was deleted.
    :param workspace: the workspace.
    :param duration: ``float``, seconds.
    """,
)
tool_created: NamedSignal = namespace.signal(
    "tool_created",
    doc="""Sent when a tool is saved for the first time (``Workspace.create_tool``).

    :sender: the saved :class:`~flowkit.Tool`.
    :param workspace: the workspace that saved it.
    :param duration: ``float``, seconds.
    """,
)
tool_updated: NamedSignal = namespace.signal(
    "tool_updated",
    doc="""Sent when a saved tool was replaced (``Workspace.update_tool``).

    :sender: the tool as saved now.
    :param workspace: the workspace.
    :param duration: ``float``, seconds.
    """,
)
tool_deleted: NamedSignal = namespace.signal(
    "tool_deleted",
    doc="""Sent when a tool was deleted (``Workspace.delete_tool``).

    :sender: the tool as it was before it was deleted.
    :param workspace: the workspace.
    :param duration: ``float``, seconds.
    """,
)
assistant_created: NamedSignal = namespace.signal(
    "assistant_created",
    doc="""Sent when an assistant is saved for the first time (``Workspace.create_assistant``).

    :sender: the saved :class:`~flowkit.Assistant`.
    :param workspace: the workspace that saved it.
    :param duration: ``float``, seconds.
    """,
)
assistant_updated: NamedSignal = namespace.signal(
    "assistant_updated",
    doc="""Sent when a saved assistant was replaced (``Workspace.update_assistant``).

    :sender: the assistant as saved now.
    :param workspace: the workspace.
    :param duration: ``float``, seconds.
    """,
)
assistant_deleted: NamedSignal = namespace.signal(
    "assistant_deleted",
    doc="""Sent when an assistant was deleted (``Workspace.delete_assistant``).

    :sender: the assistant as it was before it was deleted.
    :param workspace: the workspace.
    :param duration: ``float``, seconds.
    """,
)
vector_upserted: NamedSignal = namespace.signal(
    "vector_upserted",
    doc="""Sent when documents were upserted through a chatflow's vector store
    (``Workspace.upsert_vector``).

    :sender: the :class:`~flowkit.Chatflow`.
    :param workspace: the workspace.
    :param stop_node_id: ``str``, the vector-store node the upsert stopped at.
    :param chat_type: :class:`~flowkit.ChatType`, ``INTERNAL`` or ``EXTERNAL``.
    :param result: the :class:`~flowkit.UpsertResult`.
    :param duration: ``float``, seconds.
    """,
)
prediction_sent: NamedSignal = namespace.signal(
    "prediction_sent",
    doc="""Sent when a chatflow answered a question (``Workspace.predict``, or a
    ``Workspace.stream`` that ended without an error).

    :sender: the :class:`~flowkit.Chatflow`.
    :param workspace: the workspace.
    :param chat_id: ``str``, the conversation id.
    :param chat_type: :class:`~flowkit.ChatType`, ``INTERNAL`` or ``EXTERNAL``.
    :param question: ``str``, the question asked.
    :param result: the :class:`~flowkit.Prediction` (answer text, source documents).
    :param duration: ``float``, seconds.
    """,
)
operation_failed: NamedSignal = namespace.signal(
    "operation_failed",
    doc="""Sent when any workspace operation raised, instead of its success signal.

    Sent once the error is known and before it is raised to the caller, who gets it
    unchanged. Carries the error's type, never its message (a message can hold user data).
    A failed ``Workspace.stream`` counts as a failed ``"predict"``. Its receivers are always
    isolated (logged, never re-raised, even by a strict workspace), so that the caller gets
    the operation's own error.

    :sender: what the operation was given: the entity, or the id when only an id was given.
    :param workspace: the workspace.
    :param operation: ``str``, one of :data:`OPERATIONS` (``"create_chatflow"``,
        ``"predict"``, ...).
    :param error_type: ``str``, the exception's class name (``"NotFoundError"``).
    :param duration: ``float``, seconds until the error.
    :param chat_type: :class:`~flowkit.ChatType` or ``None``: for ``upsert_vector`` and
        ``predict``, where the request came from; ``None`` for the others.
    :param flow_type: :class:`~flowkit.FlowType` or ``None``: the flow's type when the sender
        is (or was found to be) a chatflow.
    """,
)

node_finished: NamedSignal = namespace.signal(
    "node_finished",
    doc="""Sent by flowkit's own engine each time one node of a flow has run (successfully or
    not), on the thread (or task) that ran it, before the operation's own signal. Traces build
    their per-node spans from it; a Flowise server's node runs are not reported.

    :sender: the :class:`~flowkit.Chatflow`.
    :param node_id: ``str``, the node's id.
    :param component: ``str``, the node's Flowise component name (``data.name``).
    :param mode: ``"upsert"`` or ``"predict"``.
    :param status: ``"success"`` or ``"failure"``.
    :param error_type: ``str`` or ``None``, the exception's class name when it failed.
    :param duration: ``float``, seconds the node took.
    """,
)

SIGNALS: tuple[NamedSignal, ...] = (
    chatflow_created,
    tool_created,
    assistant_created,
    vector_upserted,
    prediction_sent,
)
"""The five signals Flowise's telemetry has events for, in the contract's order."""

ALL_SIGNALS: tuple[NamedSignal, ...] = (
    chatflow_created,
    chatflow_updated,
    chatflow_deleted,
    tool_created,
    tool_updated,
    tool_deleted,
    assistant_created,
    assistant_updated,
    assistant_deleted,
    vector_upserted,
    prediction_sent,
    operation_failed,
    node_finished,
)
"""Every signal flowkit sends."""

OPERATIONS: tuple[str, ...] = (
    "create_chatflow",
    "update_chatflow",
    "delete_chatflow",
    "create_tool",
    "update_tool",
    "delete_tool",
    "create_assistant",
    "update_assistant",
    "delete_assistant",
    "upsert_vector",
    "predict",
)
"""The operations' names as :data:`operation_failed` and metrics spell them."""


def _describe(receiver: object) -> str:
    module = getattr(receiver, "__module__", None) or "?"
    name = getattr(receiver, "__qualname__", None) or type(receiver).__qualname__
    return f"{module}.{name}"


_NO_IDS: frozenset[Any] = frozenset()


def _receivers(signal: Signal, sender: Any) -> list[Any]:
    """The live receivers of ``signal`` for ``sender``: those connected to any sender and
    those connected to this one, as ``Signal.receivers_for`` yields them.

    Reads blinker's receiver table directly: the ``receivers_for`` generator is most of what
    a send costs (about 2.5 us against 1 us here), and every operation pays it on the
    caller's thread. Falls back to ``receivers_for`` on a blinker without that table (1.7
    names its helpers otherwise). Dead weakly-held receivers are skipped (blinker's weakref
    callback removes them).
    """
    table = getattr(signal, "_by_sender", None) if _make_id is not None else None
    if table is None:
        return list(signal.receivers_for(sender))
    ids = table.get(_ANY_ID, _NO_IDS)
    # Only a table with keys besides ANY's can hold receivers of this very sender: the
    # sender's id (a few hundred ns for a pydantic model) is worked out only then.
    if len(table) > (_ANY_ID in table):
        sender_id = _make_id(sender)
        if sender_id != _ANY_ID and sender_id in table:
            ids = ids | table[sender_id]
    receivers = signal.receivers
    found: list[Any] = []
    for receiver_id in tuple(ids):
        receiver = receivers.get(receiver_id)
        if receiver is None:
            continue
        if isinstance(receiver, weakref.ref):
            receiver = receiver()
            if receiver is None:
                continue
        found.append(receiver)
    return found


def _name(signal: Signal) -> str:
    return str(getattr(signal, "name", None) or repr(signal))


def _silent(signal: Signal) -> bool:
    # blinker's ``Signal.send`` honours ``muted()``; these helpers bypass it, so check here.
    return bool(getattr(signal, "is_muted", False)) or not signal.receivers


def _failed(
    signal: Signal,
    receiver: object,
    exc: Exception,
    strict: bool,
    first: Exception | None,
) -> Exception | None:
    """Deal with a receiver's failure and return the error to re-raise once every receiver
    has run: in strict mode the first one (kept, not logged); any other is logged."""
    if strict and first is None:
        return exc
    if isinstance(exc, _AsyncReceiverError):
        logger.error("%s; it was not awaited, and the operation went on", exc)
        return first
    logger.error(
        "receiver %s of signal %r raised; the operation went on",
        _describe(receiver),
        _name(signal),
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return first


class _AsyncReceiverError(FlowkitError):
    """An async receiver met a sync operation."""


def _async_in_sync(signal: Signal, receiver: object) -> FlowkitError:
    return _AsyncReceiverError(
        f"receiver {_describe(receiver)} of signal {_name(signal)!r} is async and the operation "
        "is sync: use the async method (flowkit.AsyncWorkspace: its methods await async "
        "receivers) to have it awaited"
    )


def send(signal: Signal, sender: Any, *, strict: bool = False, **kwargs: Any) -> None:
    """Run every receiver of ``signal`` for ``sender``, isolating the ones that fail.

    Every receiver runs, whatever another one raises, strict or not: a failing receiver is
    logged (with its name and traceback, on the ``flowkit.signals`` logger), or, when
    ``strict``, the *first* failure is re-raised once all the receivers have run (later
    failures are logged). So a failing receiver never keeps another (telemetry, metrics)
    from recording the operation, even in a strict workspace.

    An async receiver cannot run here; it is treated as a failing receiver whose log (or,
    when strict, whose :class:`FlowkitError`) says to use the async method. A signal inside
    blinker's ``muted()`` block calls no receiver, as with ``Signal.send``.

    :param signal: one of :data:`SIGNALS` (any blinker signal works).
    :param sender: the entity the operation acted on.
    :param strict: re-raise the first receiver's exception, after every receiver has run,
        instead of logging it (for tests).
    :param kwargs: the signal's keyword arguments.
    :raises Exception: only when ``strict``: the first failing receiver's exception.
    """
    if _silent(signal):
        return
    first: Exception | None = None
    for receiver in _receivers(signal, sender):
        try:
            result = receiver(sender, **kwargs)
            # An async receiver only made a coroutine (none of its body ran): close it.
            if result is not None and inspect.isawaitable(result):
                if inspect.iscoroutine(result):
                    result.close()
                raise _async_in_sync(signal, receiver)
        except Exception as exc:
            first = _failed(signal, receiver, exc, strict, first)
    if first is not None:
        raise first


async def send_async(signal: Signal, sender: Any, *, strict: bool = False, **kwargs: Any) -> None:
    """Like :func:`send`, awaiting async receivers; sync receivers run too.

    Every receiver runs (and is awaited) whatever another one raises; when ``strict``, the
    first failure is re-raised once all have run, later ones are logged.

    :raises Exception: only when ``strict``: the first failing receiver's exception.
    """
    if _silent(signal):
        return
    first: Exception | None = None
    for receiver in _receivers(signal, sender):
        try:
            result = receiver(sender, **kwargs)
            if result is not None and inspect.isawaitable(result):
                await result
        except Exception as exc:
            first = _failed(signal, receiver, exc, strict, first)
    if first is not None:
        raise first
