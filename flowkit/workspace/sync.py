"""The :class:`Workspace`: checks arguments, hands the work to its backend, sends signals."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from flowkit.backends.base import Backend
from flowkit.backends.local import LocalBackend
from flowkit.errors import ArgumentTypeError, FlowkitError
from flowkit.model import Assistant, Chatflow, Tool
from flowkit.runtime import ComponentRegistry
from flowkit.storage.revisions import RevisionInfo
from flowkit.workspace._common import (
    SUCCESS,
    entity_id_of,
    expect,
)
from flowkit.workspace._sync_runs import FlowRuns

__all__ = ["Workspace"]

T = TypeVar("T")
E = TypeVar("E", Chatflow, Tool, Assistant)


class Workspace(FlowRuns):
    """Chatflows, tools and assistants, and the operations on them, on one backend.

    ``Workspace()`` keeps everything in memory and runs flows in this process;
    ``Workspace.open(path)`` keeps them in a SQLite file; ``Workspace.connect(url)`` uses a
    Flowise server. Whatever the backend, every operation ends with exactly one signal: its
    success signal (with ``duration``) or :data:`~flowkit.signals.operation_failed`, sent
    before the error reaches the caller unchanged. A failed operation changes nothing.

    Thread-safe as its backend is (the built-in ones are). Entities come back from
    ``get_*`` as copies: change one, then save it with ``update_*``.

    :param backend: where entities live and flows run (default: a
        :class:`~flowkit.backends.LocalBackend` in memory).
    :param components: the component registry for the default backend (default: the
        process-wide registry); give it to the backend instead when you pass one.
    :param strict_signals: re-raise a success signal's receiver exception instead of logging
        it (for tests); the operation's own work is done by then. A failure signal's
        receivers are always isolated, so the caller gets the operation's own error.
    :raises ArgumentTypeError: when both ``backend`` and ``components`` are given.
    """

    def __init__(
        self,
        backend: Backend | None = None,
        *,
        components: ComponentRegistry | None = None,
        strict_signals: bool = False,
    ) -> None:
        if backend is not None and components is not None:
            raise ArgumentTypeError(
                "pass components to the backend (LocalBackend(components=...)), not to a "
                "Workspace given a backend"
            )
        self.backend: Backend = (
            backend if backend is not None else LocalBackend(components=components)
        )
        self.strict_signals = strict_signals

    @property
    def components(self) -> ComponentRegistry | None:
        """The component registry flows run with, when the backend runs them here."""
        found = getattr(self.backend, "components", None)
        return found if isinstance(found, ComponentRegistry) else None

    def __repr__(self) -> str:
        return f"<Workspace backend={self.backend!r}>"

    # ---- building one ----------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, strict_signals: bool = False) -> Workspace:
        """A workspace kept in a SQLite file (created when missing), run in this process.

        :raises StorageError: when the file is not a flowkit workspace or is from a newer one.
        """
        from flowkit.storage.sqlite import SQLiteStore  # only when asked

        return cls(LocalBackend(store=SQLiteStore(path)), strict_signals=strict_signals)

    @classmethod
    def connect(
        cls,
        url: str | None = None,
        *,
        api_key: str | None = None,
        strict_signals: bool = False,
        **options: Any,
    ) -> Workspace:
        """A workspace on a Flowise server (needs the ``flowise`` extra: httpx).

        :param url: the server (default: ``FLOWISE_URL``).
        :param api_key: its API key (default: ``FLOWISE_API_KEY``).
        :param options: passed to ``FlowiseBackend.connect`` (timeouts, transport, ...).
        :raises FlowkitError: when no URL is given and ``FLOWISE_URL`` is unset. The server is
            not contacted here: an operation on a server that cannot be reached sends
            ``operation_failed`` and raises :class:`~flowkit.errors.UnavailableError`.
        """
        from flowkit.backends.flowise import FlowiseBackend  # httpx: an extra

        backend = FlowiseBackend.connect(url, api_key=api_key, **options)
        return cls(backend, strict_signals=strict_signals)

    def close(self) -> None:
        """Release the backend's files and connections; calling it twice is harmless."""
        self.backend.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _entity(self, verb: str, word: str, sender: object, work: Callable[[], E]) -> E:
        result, duration = self._run(f"{verb}_{word}", sender, work)
        self._succeeded(SUCCESS[verb, word], result, duration)
        return result

    # ---- chatflows, tools, assistants ------------------------------------------------------

    def create_chatflow(self, flow: Chatflow) -> Chatflow:
        """Check and save a new chatflow; send :data:`~flowkit.signals.chatflow_created`.

        :returns: the chatflow as saved (locally ``flow`` itself; on a Flowise server a new
            object carrying the server's id). It is the signal's sender.
        :raises ArgumentTypeError: when ``flow`` is not a Chatflow.
        :raises FlowValidationError: when the flow is invalid.
        :raises AlreadyExistsError: when a chatflow with its id exists.
        """

        def work() -> Chatflow:
            expect(flow, "chatflow", "create_chatflow")
            flow.check()
            return self.backend.create(flow)

        return self._entity("create", "chatflow", flow, work)

    def update_chatflow(self, flow: Chatflow) -> Chatflow:
        """Check and save a changed chatflow; send :data:`~flowkit.signals.chatflow_updated`.

        :returns: the chatflow as saved now (the signal's sender).
        :raises ArgumentTypeError: when ``flow`` is not a Chatflow.
        :raises FlowValidationError: when the flow is invalid.
        :raises NotFoundError: when no chatflow has its id.
        """

        def work() -> Chatflow:
            expect(flow, "chatflow", "update_chatflow")
            flow.check()
            return self.backend.update(flow)

        return self._entity("update", "chatflow", flow, work)

    def delete_chatflow(self, flow_or_id: Chatflow | str) -> Chatflow:
        """Delete a chatflow (and, locally, its messages and component state); send
        :data:`~flowkit.signals.chatflow_deleted`.

        :returns: the chatflow as it was (the signal's sender).
        :raises ArgumentTypeError: when given neither a Chatflow nor an id.
        :raises NotFoundError: when there is no such chatflow.
        """
        return self._entity(
            "delete",
            "chatflow",
            flow_or_id,
            lambda: self.backend.delete(
                Chatflow, entity_id_of(flow_or_id, "chatflow", "delete_chatflow")
            ),
        )

    def create_tool(self, tool: Tool) -> Tool:
        """Save a new tool; send :data:`~flowkit.signals.tool_created`.

        :returns: the tool as saved (the signal's sender).
        :raises ArgumentTypeError: when ``tool`` is not a Tool.
        :raises AlreadyExistsError: when a tool with its id exists.
        """

        def work() -> Tool:
            expect(tool, "tool", "create_tool")
            return self.backend.create(tool)

        return self._entity("create", "tool", tool, work)

    def update_tool(self, tool: Tool) -> Tool:
        """Save a changed tool; send :data:`~flowkit.signals.tool_updated`.

        :raises ArgumentTypeError: when ``tool`` is not a Tool.
        :raises NotFoundError: when no tool has its id.
        """

        def work() -> Tool:
            expect(tool, "tool", "update_tool")
            return self.backend.update(tool)

        return self._entity("update", "tool", tool, work)

    def delete_tool(self, tool_or_id: Tool | str) -> Tool:
        """Delete a tool; send :data:`~flowkit.signals.tool_deleted`.

        :returns: the tool as it was.
        :raises NotFoundError: when there is no such tool.
        """
        return self._entity(
            "delete",
            "tool",
            tool_or_id,
            lambda: self.backend.delete(Tool, entity_id_of(tool_or_id, "tool", "delete_tool")),
        )

    def create_assistant(self, assistant: Assistant) -> Assistant:
        """Save a new assistant; send :data:`~flowkit.signals.assistant_created`.

        :raises ArgumentTypeError: when ``assistant`` is not an Assistant.
        :raises AlreadyExistsError: when an assistant with its id exists.
        """

        def work() -> Assistant:
            expect(assistant, "assistant", "create_assistant")
            return self.backend.create(assistant)

        return self._entity("create", "assistant", assistant, work)

    def update_assistant(self, assistant: Assistant) -> Assistant:
        """Save a changed assistant; send :data:`~flowkit.signals.assistant_updated`.

        :raises ArgumentTypeError: when ``assistant`` is not an Assistant.
        :raises NotFoundError: when no assistant has its id.
        """

        def work() -> Assistant:
            expect(assistant, "assistant", "update_assistant")
            return self.backend.update(assistant)

        return self._entity("update", "assistant", assistant, work)

    def delete_assistant(self, assistant_or_id: Assistant | str) -> Assistant:
        """Delete an assistant; send :data:`~flowkit.signals.assistant_deleted`.

        :returns: the assistant as it was.
        :raises NotFoundError: when there is no such assistant.
        """
        return self._entity(
            "delete",
            "assistant",
            assistant_or_id,
            lambda: self.backend.delete(
                Assistant, entity_id_of(assistant_or_id, "assistant", "delete_assistant")
            ),
        )

    # ---- reading (no signal) ---------------------------------------------------------------

    def get_chatflow(self, chatflow_id: str, *, revision: int | None = None) -> Chatflow:
        """The saved chatflow (a copy); as saved in revision number ``revision`` when given
        (see :meth:`revisions`).

        :raises NotFoundError: when there is none (or no such revision).
        :raises FlowkitError: when ``revision`` is given and the backend keeps no revisions.
        """
        flow_id = entity_id_of(chatflow_id, "chatflow", "get_chatflow")
        if revision is None:
            return self.backend.get(Chatflow, flow_id)
        number = _revision_number(revision)
        flow: Chatflow = self._revision_backend().get_revision(flow_id, number)
        return flow

    # ---- revisions (a workspace file keeps every saved version of every chatflow) ---------

    def _revision_backend(self) -> Any:
        if not callable(getattr(self.backend, "revisions", None)):
            raise FlowkitError(
                f"this workspace's backend ({type(self.backend).__name__}) keeps no "
                "revisions: open a workspace file (Workspace.open(path)) to keep every saved "
                "version of a chatflow"
            )
        return self.backend

    def revisions(self, flow_or_id: Chatflow | str) -> builtins.list[RevisionInfo]:
        """The stored revisions of a chatflow, number 1 (its create) first; each update and
        restore adds one. A revision number counts saves; it is not ``Chatflow.revision``,
        the in-memory change counter.

        :raises FlowkitError: when the backend keeps no revisions (only a workspace file does).
        :raises NotFoundError: when there is no such chatflow.
        """
        flow_id = entity_id_of(flow_or_id, "chatflow", "revisions")
        found: builtins.list[RevisionInfo] = self._revision_backend().revisions(flow_id)
        return found

    def restore_chatflow(self, flow_or_id: Chatflow | str, *, revision: int) -> Chatflow:
        """Save revision number ``revision`` of a chatflow again, as its newest revision;
        send :data:`~flowkit.signals.chatflow_updated`.

        :returns: the chatflow as saved now (the signal's sender).
        :raises FlowkitError: when the backend keeps no revisions.
        :raises NotFoundError: when there is no such chatflow or revision.
        :raises ArgumentTypeError: when ``revision`` is not a whole number >= 1.
        """

        def work() -> Chatflow:
            flow_id = entity_id_of(flow_or_id, "chatflow", "restore_chatflow")
            number = _revision_number(revision)
            restored: Chatflow = self._revision_backend().restore(flow_id, number)
            return restored

        return self._entity("update", "chatflow", flow_or_id, work)

    def get_tool(self, tool_id: str) -> Tool:
        """The saved tool (a copy). :raises NotFoundError: when there is none."""
        return self.backend.get(Tool, entity_id_of(tool_id, "tool", "get_tool"))

    def get_assistant(self, assistant_id: str) -> Assistant:
        """The saved assistant (a copy). :raises NotFoundError: when there is none."""
        return self.backend.get(Assistant, entity_id_of(assistant_id, "assistant", "get_assistant"))

    @property
    def chatflows(self) -> builtins.list[Chatflow]:
        """The saved chatflows, in the order they were saved."""
        return self.backend.list(Chatflow)

    @property
    def tools(self) -> builtins.list[Tool]:
        """The saved tools, in the order they were saved."""
        return self.backend.list(Tool)

    @property
    def assistants(self) -> builtins.list[Assistant]:
        """The saved assistants, in the order they were saved."""
        return self.backend.list(Assistant)

    def list_chatflows(self) -> builtins.list[Chatflow]:
        """The saved chatflows (copies), in the order they were saved; as :attr:`chatflows`."""
        return self.backend.list(Chatflow)

    def list_tools(self) -> builtins.list[Tool]:
        """The saved tools (copies), in the order they were saved; as :attr:`tools`."""
        return self.backend.list(Tool)

    def list_assistants(self) -> builtins.list[Assistant]:
        """The saved assistants (copies), in the order they were saved; as :attr:`assistants`."""
        return self.backend.list(Assistant)


def _revision_number(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ArgumentTypeError(
            f"revision must be a whole number >= 1 (as revisions() lists them), got {value!r}"
        )
    return value
