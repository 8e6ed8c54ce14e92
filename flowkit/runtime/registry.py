"""Which function runs a node: the :class:`ComponentRegistry` and the default one.

A component is a function called with the node's resolved inputs and a
:class:`~flowkit.runtime.RunContext`::

    @component("memoryVectorStore", category="Vector Stores")
    def memory_vector_store(inputs: dict[str, Any], context: RunContext) -> Any:
        ...

It may be ``async def``; the executor awaits it under :func:`~flowkit.runtime.arun` and
refuses it, before running anything, under the synchronous :func:`~flowkit.runtime.run`.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from flowkit.errors import ArgumentTypeError
from flowkit.runtime.context import RunContext

__all__ = [
    "Component",
    "ComponentFunc",
    "ComponentRegistry",
]

logger = logging.getLogger(__name__)

ComponentFunc: TypeAlias = Callable[[dict[str, Any], RunContext], Any]
"""A component: ``func(inputs, context) -> output``, or an ``async def`` of the same."""

F = TypeVar("F", bound="Callable[..., Any]")


def _is_async(func: Callable[..., Any]) -> bool:
    # Plain functions, methods and partials; then callable objects with ``async def __call__``.
    call = getattr(type(func), "__call__", None)  # noqa: B004 - the method itself is wanted
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(call)


@dataclass(frozen=True)
class Component:
    """One registered component.

    :param name: the component name a node's ``name`` matches, e.g. ``"memoryVectorStore"``.
    :param func: the function that runs the node.
    :param category: the Flowise category, e.g. ``"Vector Stores"`` (informational).
    :param is_async: whether ``func`` is ``async def`` (detected at registration).
    """

    name: str
    func: ComponentFunc
    category: str | None
    is_async: bool


class ComponentRegistry:
    """A name -> :class:`Component` table that the executor looks nodes up in.

    Registering a name that is already registered replaces the earlier component (and logs
    it at DEBUG level), so an application can override a built-in. Registration and removal
    take a lock, so registries may be changed from several threads; lookups never block.
    """

    def __init__(self) -> None:
        self._components: dict[str, Component] = {}
        self._lock = threading.Lock()

    def register(self, name: str, func: F, *, category: str | None = None) -> F:
        """Register ``func`` as the component named ``name`` and return ``func`` unchanged.

        :param name: the component name nodes use (Flowise ``data.name``).
        :param func: ``func(inputs, context) -> output``, sync or ``async def``.
        :param category: the Flowise category, e.g. ``"Vector Stores"``.
        :returns: ``func`` itself.
        :raises ArgumentTypeError: when ``name`` is not a non-empty string or ``func`` is
            not callable.
        """
        if not isinstance(name, str) or not name:
            raise ArgumentTypeError(
                f"a component needs a non-empty name (the node's Flowise data.name), got {name!r}"
            )
        if not callable(func):
            raise ArgumentTypeError(
                f"component {name!r} must be callable, got {type(func).__name__}: register a "
                "function (inputs, context) -> output"
            )
        entry = Component(name=name, func=func, category=category, is_async=_is_async(func))
        with self._lock:
            if name in self._components:
                logger.debug("component %r replaced", name)
            self._components[name] = entry
        return func

    def component(self, name: str, *, category: str | None = None) -> Callable[[F], F]:
        """Return a decorator that registers the decorated function as component ``name``.

        :param name: the component name nodes use.
        :param category: the Flowise category.
        :returns: a decorator that registers its function and returns it unchanged.
        """

        def decorate(func: F) -> F:
            return self.register(name, func, category=category)

        return decorate

    def get(self, name: str) -> Component | None:
        """Return the component registered as ``name``, or None."""
        return self._components.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._components

    def __len__(self) -> int:
        return len(self._components)

    def names(self) -> list[str]:
        """Return the registered names, in registration order (a replaced name keeps its place)."""
        return list(self._components)

    def copy(self) -> ComponentRegistry:
        """Return a new registry with the same components; changing one leaves the other alone."""
        other = ComponentRegistry()
        with self._lock:
            other._components = dict(self._components)
        return other

    def unregister(self, name: str) -> Component | None:
        """Remove the component ``name``.

        :returns: the removed component, or None when nothing was registered as ``name``.
        """
        with self._lock:
            return self._components.pop(name, None)

    def __repr__(self) -> str:
        return f"<ComponentRegistry {len(self._components)} components>"
