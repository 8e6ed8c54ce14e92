"""One way to turn pydantic's ``ValidationError`` into sentences that name the part at fault.

Every flowkit module that validates user data through pydantic reports it with
:func:`validation_problems` / :func:`describe_validation_error`, so a wrong field reads the
same whether it came from a Flowise export, a constructor or a workspace call.
"""

from __future__ import annotations

from pydantic import ValidationError

__all__ = ["describe_validation_error", "validation_problems"]


def validation_problems(exc: ValidationError, what: str = "") -> list[str]:
    """Return one sentence per error of ``exc``: ``"<what>: <field path>: <reason>"``.

    The input values are never quoted (they may be large or secret).

    :param exc: the error pydantic raised.
    :param what: how to name the thing validated, e.g. ``"node 'faiss_0'"`` (default: the
        model's title as pydantic gives it).
    :returns: at least one sentence.
    """
    name = what or exc.title
    found: list[str] = []
    for err in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in err["loc"])
        reason = err["msg"]
        found.append(f"{name}: {where}: {reason}" if where else f"{name}: {reason}")
    return found or [f"{name}: invalid"]


def describe_validation_error(exc: ValidationError, what: str = "") -> str:
    """Return ``exc`` as one message: the single problem, or ``"N problems: a; b; ..."``,
    ending with what to do (fix the named fields).

    :param exc: the error pydantic raised.
    :param what: how to name the thing validated (see :func:`validation_problems`).
    """
    found = validation_problems(exc, what)
    body = found[0] if len(found) == 1 else f"{len(found)} problems: " + "; ".join(found)
    return f"{body} (fix the field named above and try again)"
