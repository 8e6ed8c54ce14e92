"""Send flowkit's telemetry to a PostHog host of your choice.

Run it with ``python examples/posthog_export.py HOST [--api-key KEY]``, e.g. against a
self-hosted PostHog or a local test server: ``python examples/posthog_export.py
http://127.0.0.1:8000``. It needs the ``posthog`` extra (``pip install 'flowkit[posthog]'``).

The settings are given explicitly, so no ``.env`` or environment variable is consulted:
events go to HOST because you asked for it. The anonymous instance id is kept in a temporary
home folder that is removed at the end.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from flowkit import Assistant, FlowkitError, Tool, Workspace
from flowkit.runtime import retrieval_demo_flow
from flowkit.telemetry import PostHogSink, Telemetry, TelemetrySettings

TEXT = "PostHog receives batches at /batch/.\n\nEach event carries an anonymous instance id."

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("host", help="the PostHog host, e.g. https://eu.i.posthog.com")
parser.add_argument("--api-key", default="phc_flowkit_example", help="the project api key")
args = parser.parse_args()

with tempfile.TemporaryDirectory(prefix="flowkit-home-") as home:
    # 1. A client that posts batches to HOST/batch/, connected to flowkit's signals.
    try:
        sink = PostHogSink(args.api_key, args.host)
    except FlowkitError as exc:  # a malformed host, or urllib3 missing
        parser.error(str(exc))
    telemetry = Telemetry(sink=sink, settings=TelemetrySettings(home=Path(home)))
    telemetry.connect()

    # 2. The demo: each operation's event is queued; a background thread sends batches.
    workspace = Workspace()
    flow = workspace.create_chatflow(retrieval_demo_flow(TEXT, chunk_size=50))
    workspace.create_tool(Tool(name="calculator"))
    workspace.create_assistant(Assistant())
    workspace.upsert_vector(flow)
    print("Answer:", workspace.predict(flow, "Where does PostHog receive batches?").text)

    # 3. Wait for delivery, then stop the client. (An application keeps a lasting home:
    #    what could not be delivered waits in its outbox for the next run.)
    delivered_all = telemetry.flush(timeout=10)
    stats = telemetry.stats
    telemetry.shutdown()

print(f"Delivered {stats.delivered} of {stats.enqueued} events to {args.host.rstrip('/')}/batch/")
if not delivered_all:
    print(f"Not everything was delivered: {stats}", file=sys.stderr)
    sys.exit(1)
