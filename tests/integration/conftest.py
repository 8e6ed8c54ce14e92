"""The integration suite runs only under ``make test-integration`` (FLOWKIT_INTEGRATION=1):
it starts real servers (Prometheus, an OTLP receiver) and real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import clean_environ

HERE = Path(__file__).resolve().parent
APP = HERE / "flowkit_app.py"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Collect this folder only under ``make test-integration`` (FLOWKIT_INTEGRATION=1) or
    when the ``integration`` marker is selected: a plain ``pytest`` (``make test``) does not
    collect it, so nothing here is ever reported as skipped-into-green."""
    if os.environ.get("FLOWKIT_INTEGRATION") == "1":
        return None
    if "integration" in (config.getoption("markexpr") or ""):
        return None
    return True


@pytest.fixture(autouse=True)
def _servers_are_started_by_the_target() -> None:
    """Selected by hand (``-m integration``) without the target's setup, fail, saying how."""
    if os.environ.get("FLOWKIT_INTEGRATION") != "1":
        pytest.fail(
            "the integration suite starts real servers: run it with `make test-integration`",
            pytrace=False,
        )


def app_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a flowkit subprocess: no inherited metrics or telemetry settings."""
    env = clean_environ()
    env["FLOWKIT_HOME"] = str(home)
    env.update(extra)
    return env


@pytest.fixture
def start_process() -> Iterator[object]:
    """Start processes that are always stopped (terminate, then kill) when the test ends."""
    started: list[subprocess.Popen[str]] = []

    def start(args: list[str], **kwargs: object) -> subprocess.Popen[str]:
        process = subprocess.Popen(args, text=True, **kwargs)  # type: ignore[call-overload]
        started.append(process)
        return process

    yield start
    for process in reversed(started):
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()


PYTHON = sys.executable
