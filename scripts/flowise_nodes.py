"""Regenerate ``flowkit/model/data/flowise-nodes.json.gz``, the node catalog that
:meth:`flowkit.Chatflow.add_flowise_node` builds nodes from, from a running Flowise server.

The catalog is what ``GET /api/v1/nodes`` answers (every component's label, version, type,
category, base classes, credential, inputs and outputs), keyed by component name, less the
fields that name files on the server or only serve its editor (``icon``, ``filePath``,
``loadMethods``), with the server's version beside it. Written compact, gzipped
with no timestamp, so the same answer always gives the same bytes.

Run against a server (``make test-flowise`` starts one; so does
``scripts/flowise/start-flowise.sh``)::

    FLOWISE_URL=http://127.0.0.1:3000 FLOWISE_API_KEY=KEY .venv/bin/python scripts/flowise_nodes.py
    .venv/bin/python scripts/flowise_nodes.py --check   # exit 1 if stale

``--url`` and ``--api-key`` default to ``FLOWISE_URL`` and ``FLOWISE_API_KEY``, as the
``flowkit`` commands do. Give a key that begins with ``-`` as ``--api-key=KEY`` (or in the
environment): Flowise's keys are base64url, and argparse reads ``--api-key -x...`` as a
missing value.

Needs the ``flowise`` extra (httpx).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "flowkit" / "model" / "data" / "flowise-nodes.json.gz"
DROPPED = ("icon", "filePath", "loadMethods")
"""Per component: file paths on the server and editor-only fields."""


def catalog(nodes: list[dict[str, Any]], version: str) -> dict[str, Any]:
    """The catalog document for a server's ``/api/v1/nodes`` answer."""
    components = {
        node["name"]: {key: value for key, value in node.items() if key not in DROPPED}
        for node in nodes
    }
    return {"flowise": version, "components": components}


def encoded(document: dict[str, Any]) -> bytes:
    """The catalog's bytes: compact JSON, gzipped with no timestamp."""
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return gzip.compress(text.encode("utf-8"), mtime=0)


def fetch(url: str, api_key: str) -> dict[str, Any]:
    """Ask the server for its nodes and version, through flowkit's own client (its errors
    say what to do: a wrong key, a server that is down)."""
    from flowkit.client import FlowiseClient
    from flowkit.client.core import Call

    with FlowiseClient(url, api_key=api_key, timeout=60) as client:
        nodes = client.send(Call("GET", "/nodes", list))
        version = client.version()
    return catalog(nodes, version)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url", default=os.environ.get("FLOWISE_URL"), help="the Flowise server (FLOWISE_URL)"
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("FLOWISE_API_KEY"),
        help="an API key of that server (FLOWISE_API_KEY)",
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write")
    parser.add_argument("--check", action="store_true", help="exit 1 when the file differs")
    args = parser.parse_args(argv)
    if not args.url or not args.api_key:
        parser.error("give --url and --api-key, or set FLOWISE_URL and FLOWISE_API_KEY")
    data = encoded(fetch(args.url, args.api_key))
    if args.check:
        same = args.output.is_file() and args.output.read_bytes() == data
        print("up to date" if same else f"{args.output} differs from the server's catalog")
        return 0 if same else 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    print(f"wrote {args.output} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
