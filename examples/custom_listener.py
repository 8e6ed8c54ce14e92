"""Custom listeners: an audit log on all five signals, and a listener for one flow only.

Run it with ``python examples/custom_listener.py``. Every flowkit operation sends a blinker
signal after it succeeded; here one audit function hears all five, and a second listener,
connected with ``sender=flow``, hears only what happens to one flow.
"""

from __future__ import annotations

import functools
from enum import Enum
from typing import Any

from flowkit import Assistant, Chatflow, Tool, Workspace, signals
from flowkit.runtime import retrieval_demo_flow

HANDBOOK = "Holidays are booked through the portal.\n\nExpenses are paid monthly."
RELEASES = "Version 2 adds async listeners.\n\nVersion 3 adds the pytest plugin."

# 1. An audit log: one function for all five signals. blinker calls a receiver with the
#    sender and keyword arguments only, so functools.partial tells it which signal fired.
audit_log: list[str] = []


def _describe(entity: Any) -> str:
    if isinstance(entity, Chatflow | Tool):
        return f"{type(entity).__name__.lower()} {entity.name!r}"
    return f"{type(entity).__name__.lower()} {entity.id[:8]}"


def audit(signal_name: str, sender: Any, **kwargs: Any) -> None:
    """Append one line per operation; receivers take ``**kwargs`` so new arguments never
    break them."""
    details = [
        f"{key}={value.value if isinstance(value, Enum) else value!r}"
        for key, value in kwargs.items()
        if key in ("stop_node_id", "chat_type", "question")
    ]
    audit_log.append(f"{signal_name:<17} {_describe(sender)} {' '.join(details)}".rstrip())


for signal in signals.SIGNALS:
    # weak=False: blinker holds receivers weakly by default, and nothing else keeps the
    # partial alive.
    signal.connect(functools.partial(audit, signal.name), weak=False)

# 2. Two flows; a second listener connected with sender=handbook hears that flow only.
handbook = retrieval_demo_flow(HANDBOOK, name="handbook", chunk_size=50)
releases = retrieval_demo_flow(RELEASES, name="release notes", chunk_size=50)
handbook_only: list[str] = []


def on_handbook(sender: Chatflow, **kwargs: Any) -> None:
    """Hear the handbook flow's signals, whatever happens to other flows."""
    if "question" in kwargs:
        what = f"asked {kwargs['question']!r}"
    elif "stop_node_id" in kwargs:
        what = f"upserted into {kwargs['stop_node_id']}"
    else:
        what = "saved"
    handbook_only.append(f"{sender.name}: {what}")


for signal in (signals.chatflow_created, signals.vector_upserted, signals.prediction_sent):
    signal.connect(on_handbook, sender=handbook)

# 3. Create, upsert and predict: each operation sends its signal once it succeeded.
workspace = Workspace()
workspace.create_chatflow(handbook)
workspace.create_chatflow(releases)
workspace.create_tool(Tool(name="calculator", description="Adds two numbers."))
workspace.create_assistant(Assistant(details={"name": "helper"}))
workspace.upsert_vector(handbook)
workspace.upsert_vector(releases)
print("Answer:", workspace.predict(handbook, "How are holidays booked?").text)
print("Answer:", workspace.predict(releases, "What does version 3 add?").text)

print(f"\nAudit log ({len(audit_log)} entries):")
for line in audit_log:
    print("  ", line)

print(f"\nThe handbook-only listener ({len(handbook_only)} entries):")
for line in handbook_only:
    print("  ", line)
heard_only_handbook = all(line.startswith("handbook:") for line in handbook_only)
print("It heard only the handbook flow:", heard_only_handbook)
