"""The registries flows run with: :func:`builtin_registry`, :func:`default_registry` and the
:func:`component` decorator that adds to the default one."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from flowkit.runtime.builtins import register_builtins
from flowkit.runtime.registry import ComponentRegistry

__all__ = ["builtin_registry", "component", "default_registry"]

F = TypeVar("F", bound=Callable[..., Any])

_default: ComponentRegistry | None = None
_default_lock = threading.Lock()


def builtin_registry() -> ComponentRegistry:
    """Return a fresh registry holding only the built-in offline components.

    The built-ins are ``plainText``, ``textFile``, ``recursiveCharacterTextSplitter``,
    ``hashingEmbeddings``, ``memoryVectorStore``, ``promptTemplate``, ``fakeChatModel``,
    ``llmChain`` and ``retrievalQAChain``; see :mod:`flowkit.runtime.builtins`.
    """
    registry = ComponentRegistry()
    register_builtins(registry)
    return registry


def default_registry() -> ComponentRegistry:
    """Return the process-wide registry: the built-ins plus whatever :func:`component` added.

    Built on the first call (nothing happens at import); every later call returns the same
    object. Safe to call from several threads.
    """
    global _default
    registry = _default
    if registry is None:
        with _default_lock:
            if _default is None:
                _default = builtin_registry()
            registry = _default
    return registry


def component(name: str, *, category: str | None = None) -> Callable[[F], F]:
    """Register the decorated function as component ``name`` in the default registry.

    ::

        @component("faiss", category="Vector Stores")
        def faiss(inputs: dict[str, Any], context: RunContext) -> Any:
            ...

    Registering a name again replaces the earlier component, built-ins included.

    :param name: the component name nodes use (Flowise ``data.name``).
    :param category: the Flowise category, e.g. ``"Vector Stores"``.
    :returns: a decorator that registers its function and returns it unchanged.
    """
    return default_registry().component(name, category=category)
