"""The one small hierarchy of flowkit's errors.

Everything flowkit raises on purpose is a :class:`FlowkitError`, so ``except FlowkitError``
catches all of it; the subclasses narrow the cause, and several also derive from the
built-in exception a Python caller would reach for (``LookupError``, ``TypeError``,
``ValueError``, ``ConnectionError``).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "AlreadyExistsError",
    "ArgumentTypeError",
    "AuthenticationError",
    "ComponentError",
    "DeliveryError",
    "FlowValidationError",
    "FlowiseAPIError",
    "FlowkitError",
    "NotFoundError",
    "StorageError",
    "UnavailableError",
]


class FlowkitError(Exception):
    """Base class of every error flowkit raises on purpose."""


class FlowValidationError(FlowkitError, ValueError):
    """A flow, tool or file is malformed.

    The message lists every problem found, each naming the node or edge at fault;
    :attr:`problems` holds them one by one.

    :param problems: one sentence per problem; a single string is one problem.
    """

    def __init__(self, problems: str | Iterable[str]) -> None:
        self.problems: tuple[str, ...] = (
            (problems,) if isinstance(problems, str) else tuple(problems)
        )
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            lines = "\n".join(f"- {p}" for p in self.problems)
            message = f"{len(self.problems)} problems:\n{lines}"
        super().__init__(message)


class ArgumentTypeError(FlowkitError, TypeError):
    """An argument has the wrong type (a ``str`` where a :class:`~flowkit.Chatflow` goes, ...).

    The message names the argument, the type given and how to build the right one.
    """


class NotFoundError(FlowkitError, LookupError):
    """No chatflow, tool, assistant (or other entity) with that id.

    :param message: names the kind and the id, and where to look.
    :param kind: ``"chatflow"``, ``"tool"``, ``"assistant"``, ...
    :param entity_id: the id that was not found.
    """

    def __init__(self, message: str, *, kind: str = "", entity_id: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.entity_id = entity_id


class AlreadyExistsError(FlowkitError):
    """An entity with that id (or, where names identify, that name) exists already.

    :param kind: ``"chatflow"``, ``"tool"``, ``"assistant"``, ...
    :param entity_id: the id that is taken.
    """

    def __init__(self, message: str, *, kind: str = "", entity_id: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.entity_id = entity_id


class ComponentError(FlowkitError):
    """A node could not run: no component is registered for it, or its component raised.

    :attr:`node_id` names the node; the component's own exception is chained as
    ``__cause__``.
    """

    def __init__(self, message: str, *, node_id: str) -> None:
        super().__init__(message)
        self.node_id = node_id


class StorageError(FlowkitError):
    """A workspace file cannot be used: not a flowkit file, corrupt, or from a newer flowkit.

    The message names the path and what to do; nothing in the file was changed.
    """


class DeliveryError(FlowkitError):
    """A telemetry sink could not deliver a batch (raised by sinks, caught by the client).

    Sink authors raise it to say whether the batch may be sent again.

    :param retryable: whether sending the same batch again may succeed.
    :param retry_after: seconds the receiver asked to wait (``Retry-After``), if any.
    """

    def __init__(
        self, message: str, *, retryable: bool = True, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class FlowiseAPIError(FlowkitError):
    """A Flowise server answered with an error.

    :param status: the HTTP status code.
    :param url: the request's URL (never its query string's secrets: flowkit sends none).
    :param server_message: Flowise's own ``message``, when it gave one.
    """

    def __init__(
        self, message: str, *, status: int, url: str, server_message: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.url = url
        self.server_message = server_message


class AuthenticationError(FlowiseAPIError, PermissionError):
    """A Flowise server refused the API key (401, 403, or a 500 saying "Unauthorized").

    The message names the server and how to pass a key (``api_key=...`` or
    ``FLOWISE_API_KEY``).
    """


class UnavailableError(FlowkitError, ConnectionError):
    """A Flowise server could not be reached: refused, unknown host, TLS, or a timeout.

    :param url: the address that did not answer.
    """

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url
