"""The telemetry benchmark runs to the end in ``--quick`` mode and prints its summary.

Only that: no timing or ratio is asserted (the machine is shared and noisy; the script
exits 0 whether targets are met or missed).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "telemetry_vs_posthog.py"
TIMEOUT = 240  # seconds; --quick takes well under a minute on an idle machine


@pytest.mark.slow
def test_quick_benchmark_completes_and_prints_summary(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("POSTHOG_", "PYTEST_")) and k != "FLOWKIT_TELEMETRY_FILE"
    }
    env["FLOWKIT_HOME"] = str(tmp_path / "home")
    env["PYTHONIOENCODING"] = "utf-8"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    output = result.stdout
    assert result.returncode == 0, f"exit {result.returncode}\n{output}\n{result.stderr}"
    assert "== 1. caller-thread cost" in output
    assert "== 2. burst of 10,000" in output
    summary = output.split("== summary ==", 1)
    assert len(summary) == 2, output
    table = summary[1]
    for row in (
        "caller cost, 10 nodes",
        "caller cost, 1000 nodes",
        "flowkit dropped in",
        "burst rate vs posthog default",
        "burst rate vs posthog tuned",
    ):
        line = next((ln for ln in table.splitlines() if ln.startswith(row)), None)
        assert line is not None, f"summary has no {row!r} row:\n{table}"
        assert line.rstrip().endswith(("PASS", "MISS")), line
    assert "refused non-loopback attempts: 0" in output
