"""The package's face: version, public names, error hierarchy, and a quiet import."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import clean_environ

import flowkit
from flowkit.environment import ENVIRONMENT_VARIABLES, flowkit_variables

PUBLIC_NAMES = [
    "Chatflow",
    "Node",
    "Edge",
    "Tool",
    "Assistant",
    "FlowType",
    "AssistantType",
    "ChatType",
    "FlowkitError",
    "FlowValidationError",
]


def test_version_is_the_installed_distribution_version() -> None:
    expected = importlib.metadata.version("flowkit")

    assert flowkit.__version__ == expected


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_public_name_is_importable_from_flowkit(name: str) -> None:
    namespace: dict[str, object] = {}

    exec(f"from flowkit import {name}", namespace)

    assert namespace[name] is getattr(flowkit, name)


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_public_name_is_listed_in_all(name: str) -> None:
    assert name in flowkit.__all__


def test_flow_validation_error_is_a_flowkit_error_and_a_value_error() -> None:
    error = flowkit.FlowValidationError("node 'x_0' is broken")

    assert isinstance(error, flowkit.FlowkitError)
    assert isinstance(error, ValueError)


def test_flow_validation_error_keeps_every_problem() -> None:
    error = flowkit.FlowValidationError(["first problem", "second problem"])

    assert error.problems == ("first problem", "second problem")
    assert "first problem" in str(error)
    assert "second problem" in str(error)


def test_import_starts_no_thread_and_writes_no_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cwd = tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    env = clean_environ()
    env.update(FLOWKIT_HOME=str(home), HOME=str(home), PYTHONDONTWRITEBYTECODE="1")
    code = (
        "import threading\n"
        "import flowkit, flowkit.model, flowkit.graph, flowkit.flowise\n"
        "print(threading.active_count())\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"
    assert list(home.iterdir()) == []
    assert list(cwd.iterdir()) == []


def test_environment_lists_every_variable_the_library_names() -> None:
    source = "\n".join(
        p.read_text(encoding="utf-8") for p in Path(flowkit.__file__).parent.rglob("*.py")
    )
    named = set(
        re.findall(
            r"[\"'](FLOWKIT_[A-Z_]+|FLOWISE_(?:URL|API_KEY)|DISABLE_FLOWISE_"
            r"TELEMETRY|DO_NOT_TRACK|POSTHOG_[A-Z_]+|ENABLE_METRICS|METRICS_"
            r"[A-Z_]+|PROMETHEUS_MULTIPROC_DIR)[\"']",
            source,
        )
    )

    missing = sorted(n for n in named if not flowkit_variables([n]))

    assert not missing, f"add these to flowkit/environment.py: {missing}"
    assert "FLOWKIT_HOME" in ENVIRONMENT_VARIABLES


def test_isolation_fixture_cleared_every_flowkit_variable(flowkit_home: Path) -> None:
    assert flowkit_variables(os.environ) == ["FLOWKIT_HOME"]
    assert os.environ["FLOWKIT_HOME"] == str(flowkit_home)
    assert clean_environ({"OTEL_SERVICE_NAME": "x", "PATH": "/bin", "DO_NOT_TRACK": "1"}) == {
        "PATH": "/bin"
    }


def test_isolation_clears_the_opt_outs_in_any_case_as_settings_read_them() -> None:
    shell = {"do_not_track": "1", "Disable_Flowise_Telemetry": "true", "flowkit_home": "/x"}

    assert flowkit_variables(shell) == ["do_not_track", "Disable_Flowise_Telemetry"]
    assert clean_environ(shell) == {"flowkit_home": "/x"}
