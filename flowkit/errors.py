"""The one small hierarchy of flowkit's errors.

Everything flowkit raises on purpose is a :class:`FlowkitError`, so ``except FlowkitError``
catches all of it; the subclasses narrow the cause.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ComponentError",
    "DeliveryError",
    "FlowValidationError",
    "FlowkitError",
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


class ComponentError(FlowkitError):
    """A node could not run: no component is registered for it, or its component raised.

    :attr:`node_id` names the node; the component's own exception is chained as
    ``__cause__``.
    """

    def __init__(self, message: str, *, node_id: str) -> None:
        super().__init__(message)
        self.node_id = node_id


class DeliveryError(FlowkitError):
    """A telemetry sink could not deliver a batch (raised by sinks, caught by the client).

    :param retryable: whether sending the same batch again may succeed.
    :param retry_after: seconds the receiver asked to wait (``Retry-After``), if any.
    """

    def __init__(
        self, message: str, *, retryable: bool = True, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
