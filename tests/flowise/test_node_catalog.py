"""The node catalog flowkit ships is what this Flowise answers on ``GET /api/v1/nodes``
(``scripts/flowise_nodes.py --check``), so nodes built from it are the server's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import Server

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "flowise_nodes.py"


def test_the_shipped_catalog_is_the_servers(server: Server) -> None:
    # The key goes through the environment: Flowise's keys are base64url, and one that
    # begins with "-" would be read by argparse as an option (CI met one).
    env = {**os.environ, "FLOWISE_URL": server.url, "FLOWISE_API_KEY": server.api_key}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "up to date"
