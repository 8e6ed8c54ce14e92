"""A process that works on a shared workspace file, for the crash and sharing tests.

``python sqlite_worker.py mixed PATH WORKER OPS``: ``OPS`` mixed operations (create, update,
get, list, delete, chat messages, component state, tools); prints, as JSON, what it expects
the file to hold of its own work. Any exception ends it with status 1 and the traceback.

``python sqlite_worker.py crash PATH START``: creates and then updates flows ``START``,
``START + 1``, ... forever, printing ``created N`` / ``updated N`` after each call returns
(the test kills it with SIGKILL).
"""

from __future__ import annotations

import json
import random
import sys

from flowkit.errors import AlreadyExistsError
from flowkit.model import Chatflow, Tool
from flowkit.model.messages import ChatMessage, Role
from flowkit.storage.sqlite import SQLiteStore


def numbered_flow(flow_id: str, nodes: int) -> Chatflow:
    flow = Chatflow(id=flow_id, name=flow_id)
    previous = None
    for n in range(nodes):
        node = flow.add_node("llmChain", inputs={"prompt": "x" * 200, "n": n})
        if previous is not None:
            flow.connect(previous, node, "input")
        previous = node
    return flow


def mixed(path: str, worker: str, ops: int) -> dict[str, object]:
    rng = random.Random(worker)
    alive: dict[str, int] = {}  # flow id -> revisions saved
    created = 0
    messages = 0
    tools = 0
    with SQLiteStore(path) as store:
        for _ in range(ops):
            op = rng.choice(
                ["create", "update", "update", "get", "list", "delete", "chat", "state", "tool"]
            )
            if op == "create" or not alive:
                flow_id = f"{worker}-{created}"
                created += 1
                store.save(numbered_flow(flow_id, 3))
                alive[flow_id] = 1
            elif op == "update":
                flow_id = rng.choice(sorted(alive))
                flow = store.get(Chatflow, flow_id)
                flow.add_node("calculator")
                store.replace(flow)
                alive[flow_id] += 1
            elif op == "get":
                flow_id = rng.choice(sorted(alive))
                assert len(store.get(Chatflow, flow_id).nodes) == 2 + alive[flow_id]
            elif op == "list":
                store.list(Chatflow)
            elif op == "delete":
                flow_id = rng.choice(sorted(alive))
                store.delete(Chatflow, flow_id)
                del alive[flow_id]
            elif op == "chat":
                store.add_chat_messages(
                    [
                        ChatMessage(chatflow_id=worker, chat_id="c", role=Role.USER, content="q"),
                        ChatMessage(chatflow_id=worker, chat_id="c", role=Role.API, content="a"),
                    ]
                )
                messages += 2
            elif op == "state":
                store.save_state(worker, {"vs_0": {"count": messages}})
            else:
                store.save(Tool(id=f"{worker}-tool-{tools}", name=f"tool {tools}"))
                tools += 1
        state = store.load_state(worker)
    return {"alive": alive, "messages": messages, "tools": tools, "state": state}


def crash(path: str, start: int) -> None:
    with SQLiteStore(path) as store:
        n = start
        while True:
            flow = numbered_flow(f"flow-{n}", 3)
            try:
                store.save(flow)
            except AlreadyExistsError:  # saved by the killed run, which died before saying so
                n += 1
                continue
            print(f"created {n}", flush=True)
            flow.add_node("calculator")
            store.replace(flow)
            print(f"updated {n}", flush=True)
            n += 1


if __name__ == "__main__":
    if sys.argv[1] == "mixed":
        print(json.dumps(mixed(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
    else:
        crash(sys.argv[2], int(sys.argv[3]))
