"""Async listeners: coroutine receivers awaited by :class:`~flowkit.AsyncWorkspace`.

Run it with ``python examples/async_listeners.py``. Every method of an ``AsyncWorkspace``
awaits every async receiver before it returns, and runs the sync receivers too. A sync
``Workspace`` cannot await a coroutine: it logs an error naming the async method instead (a
strict workspace raises it, as shown at the end).
"""

from __future__ import annotations

import asyncio
from typing import Any

from flowkit import AsyncWorkspace, Chatflow, FlowkitError, Workspace, signals
from flowkit.runtime import retrieval_demo_flow

TEXT = "Async receivers are awaited in order.\n\nSync receivers run alongside them."
log: list[str] = []


# 1. Two async receivers, e.g. writing to an async database or message queue.
@signals.vector_upserted.connect
async def store_upsert(sender: Chatflow, *, result: Any, **kwargs: Any) -> None:
    """Pretend to record the upsert somewhere remote."""
    await asyncio.sleep(0.01)
    log.append(f"async  vector_upserted: {result.num_added} chunks into {sender.name!r}")


@signals.prediction_sent.connect
async def store_answer(sender: Chatflow, *, question: str, result: Any, **kwargs: Any) -> None:
    """Pretend to record the conversation somewhere remote."""
    await asyncio.sleep(0.01)
    log.append(f"async  prediction_sent: {question!r} -> {len(result.text)} characters")


# 2. A sync receiver on the same signal: the async methods run it too.
@signals.prediction_sent.connect
def count_answer(sender: Chatflow, **kwargs: Any) -> None:
    """Count predictions, synchronously."""
    log.append(f"sync   prediction_sent: chat {kwargs['chat_id'][:8]}")


async def main() -> None:
    workspace = AsyncWorkspace()
    flow = await workspace.create_chatflow(retrieval_demo_flow(TEXT, name="notes", chunk_size=50))
    await workspace.upsert_vector(flow)
    answer = await workspace.predict(flow, "How are async receivers run?")
    # Every receiver has finished by the time predict returns.
    print("Answer:", answer.text)
    print("Receivers, in the order they ran:")
    for line in log:
        print("  ", line)

    # 3. The sync predict cannot await store_answer; a strict workspace says what to use.
    strict = Workspace(strict_signals=True)
    strict.create_chatflow(flow)
    try:
        strict.predict(flow, "And from sync code?")
    except FlowkitError as exc:
        print("Sync predict with an async receiver:", exc)


asyncio.run(main())
