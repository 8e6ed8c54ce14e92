"""``flowkit validate`` and ``preview`` on tool exports and on flows with several vector
stores, and ``flowkit telemetry status`` naming the sink really used."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import VENDORED

from flowkit.cli import main
from flowkit.cli.status import describe, effective_destination
from flowkit.telemetry.options import TelemetryOptions
from flowkit.telemetry.settings import TelemetrySettings

from .helpers import Run, write_json

TOOLS = sorted((VENDORED / "tools").glob("*.json"))
TWO_STORES = VENDORED / "chatflows" / "Multiple Documents QnA.json"


def test_validate_says_ok_for_every_tool_export(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", *map(str, TOOLS)])

    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines() == [f"{path}: ok" for path in TOOLS]


def test_validate_reports_a_tool_without_a_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write_json(tmp_path / "bad tool.json", {"description": "x", "func": "return 1;"})

    code = main(["validate", str(bad)])

    assert code == 1
    assert capsys.readouterr().out == f"{bad}: tool has no name (a non-empty string); give it one\n"


@pytest.mark.parametrize("path", TOOLS, ids=lambda p: p.stem)
def test_preview_of_a_tool_prints_its_tool_created_event(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["preview", str(path)])

    events = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [e["event"] for e in events] == ["tool_created"]
    assert events[0]["properties"]["toolName"] == json.loads(path.read_text("utf-8"))["name"]


def test_preview_of_a_tool_refuses_a_chatflow_event(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["preview", str(TOOLS[0]), "--event", "prediction_sent"])

    err = capsys.readouterr().err
    assert code == 2
    assert "a tool sends only tool_created" in err


def test_preview_of_a_chatflow_refuses_the_tool_event(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["preview", str(TWO_STORES), "--event", "tool_created"])

    assert code == 2
    assert "does not send tool_created" in capsys.readouterr().err


def test_preview_with_several_vector_stores_names_them_and_the_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["preview", str(TWO_STORES)])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert "2 vector stores (pinecone_0, pinecone_1)" in captured.err
    assert "--stop-node ID" in captured.err


# ---- telemetry status: the sink really used ---------------------------------------------


def settings_with_key(home: Path) -> TelemetrySettings:
    environ = {"POSTHOG_PUBLIC_API_KEY": "phc_test", "FLOWKIT_HOME": str(home)}
    return TelemetrySettings.from_env(environ, dotenv_path=home / "absent.env")


def test_status_names_posthog_when_the_extra_is_installed(flowkit_home: Path) -> None:
    line = effective_destination(
        settings_with_key(flowkit_home), TelemetryOptions(), posthog_ready=True
    )

    assert line.startswith("PostHog at ")


def test_status_names_the_file_when_the_posthog_extra_is_missing(flowkit_home: Path) -> None:
    lines = describe(settings_with_key(flowkit_home), TelemetryOptions(), posthog_ready=False)

    where = next(line for line in lines if line.startswith("Events go to: "))
    assert f"local file {flowkit_home / 'telemetry.jsonl'}" in where
    assert "pip install 'flowkit[posthog]'" in where
    assert "PostHog at" not in where


@pytest.mark.parametrize(
    ("sink", "expected"),
    [("log", "Python logger"), ("otel", "OpenTelemetry"), ("file", "local file")],
)
def test_status_follows_the_sink_option(flowkit_home: Path, sink: str, expected: str) -> None:
    options = TelemetryOptions.from_env({"FLOWKIT_TELEMETRY_SINK": sink})

    line = effective_destination(settings_with_key(flowkit_home), options, posthog_ready=True)

    assert expected in line


def test_status_command_reports_the_file_when_urllib3_cannot_import(
    run_flowkit: Run, tmp_path: Path
) -> None:
    shadow = tmp_path / "shadow"
    (shadow / "urllib3").mkdir(parents=True)
    (shadow / "urllib3" / "__init__.py").write_text("raise ImportError('not installed')\n")
    path = os.pathsep.join(p for p in (str(shadow), os.environ.get("PYTHONPATH")) if p)

    missing = run_flowkit("telemetry", "status", POSTHOG_PUBLIC_API_KEY="phc_test", PYTHONPATH=path)
    present = run_flowkit("telemetry", "status", POSTHOG_PUBLIC_API_KEY="phc_test")

    assert missing.code == 0, missing.err
    assert "the PostHog extra is missing" in missing.out
    assert "Events go to: PostHog at" in present.out
