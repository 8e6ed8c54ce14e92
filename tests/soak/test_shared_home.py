"""Soak: 4 processes on one FLOWKIT_HOME, SIGKILLs and server restarts.

The scenario is ``benchmarks/soak_shared_home.py``; ``make soak`` runs it for 60 seconds.
Here it runs ``$FLOWKIT_SOAK_SECONDS`` (6 by default) and asserts: lost only what was in the
memory of a SIGKILLed process, at most one batch resent per SIGKILL (in practice 0), and
nothing left in the home.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECONDS = max(6.0, float(os.environ.get("FLOWKIT_SOAK_SECONDS") or 6))


def _load() -> ModuleType:
    name = "flowkit_benchmarks_soak_shared_home"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "soak_shared_home.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_four_processes_on_one_home_lose_only_what_a_sigkill_took_and_resend_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _load().run_shared_home_soak(SECONDS, tmp_path)
    with capsys.disabled():
        print(f"\n{result.line()}")

    assert result.kills >= 3
    assert result.restarts >= 2
    assert result.made > 0
    assert result.lost_other == 0
    assert result.duplicated <= 100 * result.kills
    assert result.left_in_home == []
    assert result.drain_exit == 0
    assert result.ok
