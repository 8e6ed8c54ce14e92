"""Import a Flowise export: load it, validate it, and preview the telemetry it would send.

Run it with ``python examples/flowise_import.py [FILE]``; FILE defaults to the small
retrieval flow in ``examples/data/``, and any Flowise export works (a marketplace template,
an API record, a bare ``flowData``). Nothing is sent: the preview builds the events with the
telemetry client's own code and prints them (``flowkit preview FILE`` does the same).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from flowkit import Chatflow, FlowValidationError
from flowkit.graph import problems
from flowkit.telemetry.properties import preview_events

BUNDLED = Path(__file__).parent / "data" / "retrieval_flow.json"
path = Path(sys.argv[1]) if len(sys.argv) > 1 else BUNDLED

# 1. Load: any shape Flowise exports; a malformed file names every problem at once.
try:
    flow = Chatflow.from_flowise(path)
except FlowValidationError as exc:
    sys.exit(f"{path}: cannot be loaded: {exc}")
print(f"Loaded {flow.name!r}: {len(flow.nodes)} nodes, {len(flow.edges)} edges")

# 2. Validate: a well-formed file can still be an invalid flow (a cycle, no ending node...).
found = problems(flow)
for problem in found:
    print("  problem:", problem)
if found:
    sys.exit(f"{path}: invalid flow, so a workspace would not save it and nothing is sent")
print("Valid: a workspace would save it")

# 3. Preview: chatflow_created, vector_upserted (when it has one vector store) and
#    prediction_sent, exactly as the telemetry client would send them.
try:
    events = preview_events(flow)
except FlowValidationError as exc:  # several vector stores: an upsert needs stop_node_id
    print("No upsert preview:", exc)
    events = preview_events(flow, events=["chatflow_created", "prediction_sent"])
for event in events:
    print(f"\n{event['event']}:")
    print(json.dumps(event["properties"], indent=2))

# Flowise's own ids (<name>_<n>) pass unchanged; any other id may hold user text, so the
# payload carries a pseudonym instead.
sent = events[0]["properties"]["flowGraph"]["nodes"]
same = sum(a == node.id for a, node in zip(sent, flow.nodes, strict=True))
print(f"\nflowGraph: {same} node ids as in the file, {len(sent) - same} pseudonymized")
