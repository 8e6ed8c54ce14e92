"""Run a flow: every node that feeds a target, in order, each through its component.

:func:`run` and :func:`arun` take the same arguments and share one body per step (inputs,
context, the check of what came back, the :data:`~flowkit.signals.node_finished` signal);
they differ only in how a component is called. Both look every node up in the registry
*before* running any, so a missing component (or, for :func:`run`, an async one) fails the
whole run with nothing executed. The work is one pass over the run order: linear in the size
of the subgraph that runs.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from flowkit import signals
from flowkit.errors import ArgumentTypeError, ComponentError, FlowkitError
from flowkit.model import Chatflow, Edge, Node
from flowkit.model.messages import ChatMessage, Upload
from flowkit.runtime.context import Mode, RunContext
from flowkit.runtime.registry import Component, ComponentRegistry

__all__ = ["Mode", "RunContext", "arun", "run"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Step:
    node: Node
    component: Component
    feeds: list[tuple[str, str]]  # (input name, source id) per incoming edge, in edge order


@dataclass(frozen=True, slots=True)
class _Plan:
    steps: list[_Step]
    global_overrides: dict[str, Any]
    node_overrides: dict[str, Mapping[str, Any]]


def _plan(
    flow: Chatflow,
    target_node_id: str,
    mode: str,
    registry: ComponentRegistry,
    overrides: Mapping[str, Any],
    *,
    sync: bool,
) -> _Plan:
    """Look up every node's component and incoming edges; raise before anything runs."""
    if mode not in ("upsert", "predict"):
        raise ArgumentTypeError(
            f"mode must be 'upsert' or 'predict', got {mode!r}: pass one of them"
        )
    if flow.node(target_node_id).is_sticky_note:
        raise FlowkitError(
            f"node {target_node_id!r} is a sticky note: there is nothing to run; pass the id of "
            "a node that runs (an ending node or a vector store)"
        )
    nodes = [flow.node(i) for i in flow.run_order(target_node_id)]
    nodes = [n for n in nodes if not n.is_sticky_note]
    found: list[tuple[Node, Component]] = []
    missing: list[Node] = []
    for node in nodes:
        entry = registry.get(node.name)
        if entry is None:
            missing.append(node)
        else:
            found.append((node, entry))
    if missing:
        raise _missing_error(missing)
    members = {n.id for n in nodes}
    incoming: dict[str, list[Edge]] = {n.id: [] for n in nodes}
    for edge in flow.edges:  # in the flow's edge order
        if edge.source in members and edge.target in members:
            incoming[edge.target].append(edge)
    steps: list[_Step] = []
    for node, entry in found:
        if sync and entry.is_async:
            raise ComponentError(
                f"node {node.id!r} uses async component {node.name!r}: run the flow with the "
                "async operations (AsyncWorkspace.predict / upsert_vector, or "
                "flowkit.runtime.arun)",
                node_id=node.id,
            )
        feeds = [
            (edge.target_input or flow.node(edge.source).name, edge.source)
            for edge in incoming[node.id]
        ]
        steps.append(_Step(node=node, component=entry, feeds=feeds))
    global_overrides: dict[str, Any] = {}
    node_overrides: dict[str, Mapping[str, Any]] = {}
    for key, value in overrides.items():
        if isinstance(value, Mapping) and any(
            isinstance(k, str) and flow.has_node(k) for k in value
        ):
            node_overrides[key] = value
        else:
            global_overrides[key] = value
    return _Plan(steps, global_overrides, node_overrides)


def _missing_error(missing: list[Node]) -> ComponentError:
    first = missing[0]
    category = f", category={json.dumps(first.category)}" if first.category else ""
    decorator = f"@component({json.dumps(first.name)}{category})"
    message = (
        f"no component registered for node {first.id!r} (component {first.name!r}): "
        f"register one with {decorator} on a function (inputs, context) -> output"
    )
    if len(missing) > 1:
        others = ", ".join(f"{n.id!r} ({n.name})" for n in missing[1:])
        message += f"; also missing: {others}"
    return ComponentError(message, node_id=first.id)


def _inputs(step: _Step, plan: _Plan, outputs: dict[str, Any]) -> dict[str, Any]:
    node = step.node
    inputs = dict(node.inputs)
    for key, value in plan.global_overrides.items():
        if key in node.inputs:
            inputs[key] = value
    for key, per_node in plan.node_overrides.items():
        if node.id in per_node:
            inputs[key] = per_node[node.id]
    fed: dict[str, list[Any]] = {}
    for name, source in step.feeds:
        fed.setdefault(name, []).append(outputs[source])
    for name, values in fed.items():
        inputs[name] = values[0] if len(values) == 1 else values
    return inputs


def _begin(
    step: _Step, plan: _Plan, base: RunContext, outputs: dict[str, Any]
) -> tuple[dict[str, Any], RunContext, float]:
    """The start of every step: its inputs, its context and the time it began."""
    node = step.node
    logger.debug("running node %s (%s), mode %s", node.id, node.name, base.mode)
    return _inputs(step, plan, outputs), replace(base, node=node), time.perf_counter()


def _finished(
    step: _Step, mode: Mode, outputs: dict[str, Any], output: Any, started: float
) -> dict[str, Any]:
    """The end of a step that worked: keep its output; return node_finished's arguments."""
    outputs[step.node.id] = output
    return _report(step, mode, "success", None, started)


def _failed(
    step: _Step, mode: Mode, exc: Exception, started: float
) -> tuple[ComponentError, dict[str, Any]]:
    """The end of a step that raised: the error to raise (a :class:`ComponentError` passes
    through unchanged, anything else is wrapped naming the node) and node_finished's
    arguments."""
    node = step.node
    error = (
        exc
        if isinstance(exc, ComponentError)
        else ComponentError(
            f"node {node.id!r} ({node.name}) failed: {type(exc).__name__}: {exc}",
            node_id=node.id,
        )
    )
    return error, _report(step, mode, "failure", type(exc).__name__, started)


def _report(
    step: _Step, mode: Mode, status: str, error_type: str | None, started: float
) -> dict[str, Any]:
    return {
        "node_id": step.node.id,
        "component": step.node.name,
        "mode": mode,
        "status": status,
        "error_type": error_type,
        "duration": time.perf_counter() - started,
    }


def _prepare(
    flow: Chatflow,
    target_node_id: str,
    mode: Mode,
    registry: ComponentRegistry,
    overrides: Mapping[str, Any] | None,
    *,
    sync: bool,
    question: str | None,
    chat_id: str | None,
    state: dict[str, Any] | None,
    stop_node_id: str | None,
    workspace: object | None,
    history: Sequence[ChatMessage] = (),
    uploads: Sequence[Upload] = (),
) -> tuple[_Plan, RunContext]:
    """Check and plan the run (see :func:`_plan`) and make the context its nodes share."""
    overrides = overrides if overrides is not None else {}
    plan = _plan(flow, target_node_id, mode, registry, overrides, sync=sync)
    base = RunContext(
        node=plan.steps[-1].node,
        flow=flow,
        mode=mode,
        question=question,
        chat_id=chat_id,
        overrides=overrides,
        state=state if state is not None else {},
        stop_node_id=stop_node_id,
        workspace=workspace,
        history=history,
        uploads=uploads,
    )
    return plan, base


def run(
    flow: Chatflow,
    target_node_id: str,
    *,
    mode: Mode,
    registry: ComponentRegistry,
    question: str | None = None,
    chat_id: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    stop_node_id: str | None = None,
    workspace: object | None = None,
    history: Sequence[ChatMessage] = (),
    uploads: Sequence[Upload] = (),
) -> Any:
    """Run ``target_node_id`` and everything that feeds it; return the target's output.

    Nodes run one at a time in :meth:`Chatflow.run_order` order (sticky notes skipped).
    Each component gets a new dict: a shallow copy of the node's static ``inputs``; then
    ``overrides`` (Flowise ``overrideConfig``): for each key, a mapping keyed by node ids of
    this flow sets that input on the nodes it names only, any other value sets it on every
    node whose static inputs have that key; then each upstream output under the input its
    edge targets (:attr:`Edge.target_input`, else the source's component name), a list of
    outputs in edge order where several edges feed one input.

    :param flow: the flow.
    :param target_node_id: the node whose output is wanted (an ending node, a vector store).
    :param mode: ``"upsert"`` or ``"predict"``, passed to every component.
    :param registry: where components are looked up by node ``name``.
    :param question: the question (predict).
    :param chat_id: the conversation id.
    :param overrides: Flowise ``overrideConfig``-style input overrides.
    :param state: the flow's shared state (a new empty dict when None).
    :param stop_node_id: the vector store an upsert stops at, passed through.
    :param workspace: the calling workspace, passed through.
    :param history: the conversation so far, given to components as ``context.history``.
    :param uploads: the files sent with the question, given as ``context.uploads``.
    :returns: the target node's output.
    :raises ComponentError: before anything runs, when a node has no registered component
        (the message shows how to register one) or an ``async`` one (use :func:`arun`);
        while running, when a component raises (the message names the node, the exception
        is chained as ``__cause__``; a :class:`ComponentError` passes through unchanged).
    :raises NotFoundError: when the flow has no node ``target_node_id``.
    :raises ArgumentTypeError: when ``mode`` is not ``"upsert"`` or ``"predict"``.
    :raises FlowkitError: when ``target_node_id`` is a sticky note.
    """
    plan, base = _prepare(
        flow,
        target_node_id,
        mode,
        registry,
        overrides,
        sync=True,
        question=question,
        chat_id=chat_id,
        state=state,
        stop_node_id=stop_node_id,
        workspace=workspace,
        history=history,
        uploads=uploads,
    )
    outputs: dict[str, Any] = {}
    for step in plan.steps:
        inputs, context, started = _begin(step, plan, base, outputs)
        try:
            output = step.component.func(inputs, context)
            if inspect.iscoroutine(output):
                output.close()
                raise ComponentError(
                    f"node {step.node.id!r} ({step.node.name}) returned a coroutine: run the "
                    "flow with the async operations (AsyncWorkspace.predict / upsert_vector, "
                    "or flowkit.runtime.arun)",
                    node_id=step.node.id,
                )
        except Exception as exc:
            error, finished = _failed(step, mode, exc, started)
            signals.send(signals.node_finished, flow, **finished)
            if error is exc:
                raise
            raise error from exc
        signals.send(signals.node_finished, flow, **_finished(step, mode, outputs, output, started))
    return outputs[target_node_id]


async def arun(
    flow: Chatflow,
    target_node_id: str,
    *,
    mode: Mode,
    registry: ComponentRegistry,
    question: str | None = None,
    chat_id: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    stop_node_id: str | None = None,
    workspace: object | None = None,
    history: Sequence[ChatMessage] = (),
    uploads: Sequence[Upload] = (),
) -> Any:
    """Like :func:`run`, awaiting ``async`` components; sync ones are called directly.

    Whatever a component returns that is awaitable is awaited, and its result is the
    node's output.

    Sync components run in a worker thread (:func:`asyncio.to_thread`), so a slow one never
    blocks the event loop: other tasks go on while it works. Components of one run still run
    one at a time, in order.

    :param flow: the flow.
    :param target_node_id: the node whose output is wanted.
    :param mode: ``"upsert"`` or ``"predict"``.
    :param registry: where components are looked up by node ``name``.
    :param question: the question (predict).
    :param chat_id: the conversation id.
    :param overrides: Flowise ``overrideConfig``-style input overrides.
    :param state: the flow's shared state (a new empty dict when None).
    :param stop_node_id: the vector store an upsert stops at, passed through.
    :param workspace: the calling workspace, passed through.
    :param history: the conversation so far, given to components as ``context.history``.
    :param uploads: the files sent with the question, given as ``context.uploads``.
    :returns: the target node's output.
    :raises ComponentError: before anything runs, when a node has no registered component;
        while running, when a component raises (chained; a :class:`ComponentError` passes
        through unchanged).
    :raises NotFoundError: when the flow has no node ``target_node_id``.
    :raises ArgumentTypeError: when ``mode`` is not ``"upsert"`` or ``"predict"``.
    :raises FlowkitError: when ``target_node_id`` is a sticky note.
    """
    plan, base = _prepare(
        flow,
        target_node_id,
        mode,
        registry,
        overrides,
        sync=False,
        question=question,
        chat_id=chat_id,
        state=state,
        stop_node_id=stop_node_id,
        workspace=workspace,
        history=history,
        uploads=uploads,
    )
    outputs: dict[str, Any] = {}
    for step in plan.steps:
        inputs, context, started = _begin(step, plan, base, outputs)
        try:
            if step.component.is_async:
                output = await step.component.func(inputs, context)
            else:  # off the event loop: a slow sync component never blocks other tasks
                output = await asyncio.to_thread(step.component.func, inputs, context)
            if inspect.isawaitable(output):
                output = await output
        except Exception as exc:
            error, finished = _failed(step, mode, exc, started)
            await signals.send_async(signals.node_finished, flow, **finished)
            if error is exc:
                raise
            raise error from exc
        finished = _finished(step, mode, outputs, output, started)
        await signals.send_async(signals.node_finished, flow, **finished)
    return outputs[target_node_id]
