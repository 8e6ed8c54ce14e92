"""Async listeners: coroutine receivers awaited by ``apredict`` and ``aupsert_vector``.

Run it with ``python examples/async_listeners.py``. The async operations await every async
receiver before they return, and run the sync receivers too. The sync operations cannot
await a coroutine: they log an error naming the async method instead (a strict workspace
raises it, as shown at the end).
"""

from __future__ import annotations

import asyncio
from typing import Any

from flowkit import Chatflow, FlowkitError, Workspace, signals
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
    workspace = Workspace()
    flow = workspace.create_chatflow(retrieval_demo_flow(TEXT, name="notes", chunk_size=50))
    await workspace.aupsert_vector(flow)
    answer = await workspace.apredict(flow, "How are async receivers run?")
    # Every receiver has finished by the time apredict returns.
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
