"""The metrics benchmark runs to the end in ``--quick`` mode and prints its verdict lines.

No timing is asserted (the machine is shared and noisy; the script exits 0 either way).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "metrics_overhead.py"


@pytest.mark.slow
def test_quick_metrics_benchmark_completes_and_prints_the_goal(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        env={"PATH": "/usr/bin:/bin", "FLOWKIT_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("goal: metrics prometheus adds ") for line in lines), done.stdout
    assert sum(line.strip().startswith("metrics prometheus + traces") for line in lines) == 2
