"""The component registry: registration, lookup, copies and the default registry."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import pytest

from flowkit.errors import FlowkitError
from flowkit.runtime import (
    ComponentRegistry,
    RunContext,
    builtin_registry,
    component,
    default_registry,
)

BUILTINS = {
    "bufferMemory",
    "conversationChain",
    "plainText",
    "textFile",
    "recursiveCharacterTextSplitter",
    "hashingEmbeddings",
    "memoryVectorStore",
    "promptTemplate",
    "fakeChatModel",
    "llmChain",
    "retrievalQAChain",
}


def sync_component(inputs: dict[str, Any], context: RunContext) -> str:
    return "sync"


async def async_component(inputs: dict[str, Any], context: RunContext) -> str:
    return "async"


def test_decorator_returns_the_function_unchanged() -> None:
    registry = ComponentRegistry()

    decorated = registry.component("echo", category="Utilities")(sync_component)

    assert decorated is sync_component
    entry = registry.get("echo")
    assert entry is not None
    assert (entry.name, entry.func, entry.category) == ("echo", sync_component, "Utilities")


def test_register_returns_the_function() -> None:
    registry = ComponentRegistry()

    assert registry.register("echo", sync_component) is sync_component
    assert "echo" in registry


def test_sync_function_is_not_async() -> None:
    registry = ComponentRegistry()
    registry.register("echo", sync_component)

    entry = registry.get("echo")
    assert entry is not None
    assert entry.is_async is False


def test_async_function_is_detected() -> None:
    registry = ComponentRegistry()
    registry.register("echo", async_component)

    entry = registry.get("echo")
    assert entry is not None
    assert entry.is_async is True


def test_callable_object_with_async_call_is_detected() -> None:
    class Caller:
        async def __call__(self, inputs: dict[str, Any], context: RunContext) -> str:
            return "async"

    registry = ComponentRegistry()
    registry.register("echo", Caller())

    entry = registry.get("echo")
    assert entry is not None
    assert entry.is_async is True


def test_unknown_name_gives_none() -> None:
    assert ComponentRegistry().get("ghost") is None
    assert "ghost" not in ComponentRegistry()


def test_registering_a_name_again_replaces_it() -> None:
    registry = ComponentRegistry()
    registry.register("echo", sync_component)

    registry.register("echo", async_component, category="Chains")

    entry = registry.get("echo")
    assert entry is not None
    assert (entry.func, entry.category) == (async_component, "Chains")
    assert registry.names() == ["echo"]


def test_copy_is_independent_of_the_original() -> None:
    original = ComponentRegistry()
    original.register("shared", sync_component)
    copy = original.copy()

    copy.register("only_in_copy", sync_component)
    original.unregister("shared")

    assert copy.names() == ["shared", "only_in_copy"]
    assert original.names() == []


def test_unregister_returns_what_it_removed() -> None:
    registry = ComponentRegistry()
    registry.register("echo", sync_component)

    removed = registry.unregister("echo")

    assert removed is not None
    assert removed.func is sync_component
    assert "echo" not in registry
    assert registry.unregister("echo") is None


def test_non_callable_is_refused_with_a_flowkit_error() -> None:
    with pytest.raises(FlowkitError, match="'echo' must be callable"):
        ComponentRegistry().register("echo", "not a function")  # type: ignore[type-var]


def test_empty_name_is_refused_with_a_flowkit_error() -> None:
    with pytest.raises(FlowkitError, match="non-empty name"):
        ComponentRegistry().register("", sync_component)


def test_registration_from_many_threads_keeps_every_component() -> None:
    registry = ComponentRegistry()

    def register_many(prefix: str) -> None:
        for i in range(200):
            registry.register(f"{prefix}{i}", sync_component)

    threads = [threading.Thread(target=register_many, args=(f"t{n}_",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(registry.names()) == 8 * 200


def test_default_registry_holds_the_nine_builtins() -> None:
    assert set(default_registry().names()) >= BUILTINS


def test_default_registry_is_one_object() -> None:
    assert default_registry() is default_registry()


def test_builtin_registry_holds_only_the_builtins_and_is_fresh() -> None:
    first = builtin_registry()

    first.register("extra", sync_component)

    assert set(builtin_registry().names()) == BUILTINS
    assert builtin_registry() is not first


def test_builtins_carry_their_flowise_categories() -> None:
    registry = builtin_registry()

    categories = {name: entry.category for name in BUILTINS if (entry := registry.get(name))}

    assert categories["memoryVectorStore"] == "Vector Stores"
    assert categories["retrievalQAChain"] == "Chains"
    assert categories["textFile"] == "Document Loaders"


def test_module_decorator_registers_into_the_default_registry() -> None:
    name = "test_registry_probe_component"
    try:
        decorated = component(name, category="Utilities")(sync_component)

        entry = default_registry().get(name)
        assert decorated is sync_component
        assert entry is not None
        assert entry.category == "Utilities"
    finally:
        default_registry().unregister(name)


def test_importing_the_runtime_builds_no_registry() -> None:
    code = (
        "import flowkit.runtime\n"
        "from flowkit.runtime import defaults\n"
        "assert defaults._default is None, 'built at import'\n"
    )

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
