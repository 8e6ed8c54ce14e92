"""Reading and copying JSON-shaped data safely: bounded depth, no recursion.

Whatever loads through these helpers can also be exported, copied and serialised (pydantic,
``json``, ``copy``) without reaching Python's recursion limit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flowkit.errors import FlowValidationError

__all__ = ["MAX_DEPTH", "Source", "clone", "kind_of", "names_a_file", "parse_json", "read_json"]

Source = str | bytes | Path | Mapping[str, Any]
"""What the loaders accept: a mapping, JSON text (``str`` or ``bytes``) or a path."""

MAX_DEPTH = 200
"""How deeply dicts and lists may nest in what is read: deeper input is refused, so that
whatever loads can also be exported, copied and serialised (pydantic, ``json``, ``copy``)
without reaching Python's recursion limit."""


class _TooDeep(Exception):
    """Data nests deeper than allowed."""


def clone(value: Any) -> Any:
    """Deep-copy JSON-shaped data (dicts and lists) at any depth, without recursion; other
    values are shared."""
    return _copy(value, None)


def _copy(value: Any, max_depth: int | None) -> Any:
    """``clone``, refusing data nested deeper than ``max_depth`` (when given).

    :raises _TooDeep: when the data nests deeper than ``max_depth``.
    """
    kind = type(value)
    if kind is not dict and kind is not list:
        return value
    top: Any = {} if kind is dict else []
    pending: list[tuple[Any, Any, int]] = [(value, top, 1)]
    while pending:
        source, target, depth = pending.pop()
        if max_depth is not None and depth > max_depth:
            raise _TooDeep
        items = source.items() if type(source) is dict else enumerate(source)
        is_list = type(target) is list
        for key, item in items:
            kind = type(item)
            if kind is dict or kind is list:
                item_copy: Any = {} if kind is dict else []
                pending.append((item, item_copy, depth + 1))
                item = item_copy
            if is_list:
                target.append(item)
            else:
                target[key] = item
    return top


def _deeper_than(value: Any, max_depth: int) -> bool:
    """Whether dicts and lists nest deeper than ``max_depth`` in ``value`` (no recursion)."""
    level = [value] if type(value) in (dict, list) else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return True
        below: list[Any] = []
        for item in level:
            below += [
                inner
                for inner in (item.values() if type(item) is dict else item)
                if type(inner) is dict or type(inner) is list
            ]
        level = below
    return False


def _too_deep(what: str) -> FlowValidationError:
    return FlowValidationError(
        f"{what}: JSON nested too deeply (more than {MAX_DEPTH} levels); flatten the data"
    )


def read_json(source: Source, what: str = "input") -> Any:
    """Return the parsed JSON of ``source``: a mapping (deep-copied), JSON text, or a path.

    A ``str`` that starts with ``{`` or ``[`` (after white space) is JSON text; any other
    ``str`` is a path.

    :raises FlowValidationError: when ``source`` is none of those, the file cannot be read,
        is not JSON, or nests dicts and lists more than :data:`MAX_DEPTH` levels deep.
    """
    if isinstance(source, Mapping):
        try:
            return _copy(dict(source), MAX_DEPTH)
        except _TooDeep:
            raise _too_deep(what) from None
    if isinstance(source, bytes) or (isinstance(source, str) and not names_a_file(source)):
        return parse_json(source, what)
    try:
        path = Path(source)
    except TypeError:  # None, a number, a list...: nothing flowkit can read
        raise FlowValidationError(
            f"{what} must be a mapping, JSON text, bytes or a path, got {type(source).__name__}"
        ) from None
    try:
        text = path.read_bytes()
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise FlowValidationError(
            f"cannot read file '{path}': {reason}; check the path and its permissions"
        ) from None
    return parse_json(text, f"file '{path}'")


def names_a_file(text: str) -> bool:
    """Whether :func:`read_json` takes the string ``text`` for a path (else for JSON text)."""
    return text.lstrip()[:1] not in ("{", "[")


def parse_json(text: str | bytes, what: str = "input") -> Any:
    """Return the parsed JSON text ``text`` (never read as a path).

    :param what: how to name the text in a message, e.g. ``"flowData"``.
    :raises FlowValidationError: when it is not JSON or is nested too deeply.
    """
    try:
        parsed = json.loads(text)
    except RecursionError:
        raise _too_deep(what) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, huge integers
        raise FlowValidationError(f"{what} is not valid JSON: {exc}") from None
    if _deeper_than(parsed, MAX_DEPTH):
        raise _too_deep(what)
    return parsed


def kind_of(value: Any) -> str:
    """Name a JSON value's kind for a message: ``"an object"``, ``"a list"``, ``"null"``..."""
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )
