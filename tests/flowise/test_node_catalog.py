"""The node catalog flowkit ships is what this Flowise answers on ``GET /api/v1/nodes``
(``scripts/flowise_nodes.py --check``), so nodes built from it are the server's own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import Server

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "flowise_nodes.py"


def test_the_shipped_catalog_is_the_servers(server: Server) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--url", server.url, "--api-key", server.api_key, "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "up to date"
