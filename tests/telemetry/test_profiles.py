"""Wire profiles: ``flowise-1`` (the default) and ``flowise-3``, checked against the events a
real Flowise 3.1.4 server sent (tests/data/flowise3_events.json, vendored from the capture in
../shared/flowise/events.json)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from flowkit import Chatflow, ChatType, signals
from flowkit.errors import FlowkitError
from flowkit.model import Assistant, Tool
from flowkit.runtime import retrieval_demo_flow
from flowkit.telemetry import (
    PROFILES,
    TABLE,
    MemorySink,
    Telemetry,
    TelemetrySettings,
    json_schema,
    wire_keys,
)
from flowkit.telemetry.properties import preview_events
from flowkit.testing import assert_valid_event

DATA = Path(__file__).resolve().parents[1] / "data"
REAL = json.loads((DATA / "flowise3_events.json").read_text(encoding="utf-8"))
REAL_EVENTS: dict[str, dict[str, Any]] = {e["event"]: e for e in REAL["events"]}
ORG_ID = "b8b7ab3d-f53d-4103-8955-6ef26213ea3f"


@pytest.mark.parametrize("name", list(REAL_EVENTS))
def test_flowise3_keys_are_the_real_servers_in_its_order(name: str) -> None:
    assert wire_keys(name, "flowise-3") == list(REAL_EVENTS[name]["properties"])


@pytest.mark.parametrize("name", list(REAL_EVENTS))
def test_real_flowise3_payloads_pass_the_flowise3_schema_and_assertion(name: str) -> None:
    properties = REAL_EVENTS[name]["properties"]

    jsonschema.Draft202012Validator(json_schema(name, "flowise-3")).validate(properties)
    assert_valid_event({"event": name, "properties": properties}, "flowise-3")


@pytest.mark.parametrize("name", ["chatflow_created", "prediction_sent"])
def test_flowise1_assertion_refuses_a_flowise3_payload(name: str) -> None:
    with pytest.raises(AssertionError, match="chatflowId"):
        assert_valid_event(
            {"event": name, "properties": REAL_EVENTS[name]["properties"]}, "flowise-1"
        )


def test_the_two_profiles_differ_where_flowise_3_changed_and_nowhere_else() -> None:
    changed = [
        e.name for e in TABLE if wire_keys(e.name, "flowise-1") != wire_keys(e.name, "flowise-3")
    ]
    assert changed == ["chatflow_created", "prediction_sent"]
    assert wire_keys("vector_upserted", "flowise-3")[1] == "chatlowId"  # still misspelt in 3.1.4


def test_unknown_profile_is_refused_with_the_known_ones() -> None:
    with pytest.raises(FlowkitError, match="flowise-1, flowise-3"):
        Telemetry(settings=TelemetrySettings(home=Path("/nonexistent")), profile="flowise-2")  # type: ignore[arg-type]


def _events(profile: str, flowkit_home: Path, **env: str) -> list[Any]:
    sink = MemorySink()
    telemetry = Telemetry(
        sink=sink,
        settings=TelemetrySettings(home=flowkit_home),
        profile=profile,  # type: ignore[arg-type]
        synchronous=True,
    ).connect()
    try:
        flow = retrieval_demo_flow("Paris is in France.")
        signals.send(signals.chatflow_created, flow, workspace=None, duration=0.1)
        stop = flow.resolve_stop_node()
        signals.send(
            signals.vector_upserted,
            flow,
            workspace=None,
            stop_node_id=stop,
            chat_type=ChatType.EXTERNAL,
            result=None,
            duration=0.1,
        )
        signals.send(
            signals.prediction_sent,
            flow,
            workspace=None,
            chat_id="sess-1",
            chat_type=ChatType.EXTERNAL,
            question="q",
            result=None,
            duration=0.1,
        )
        signals.send(signals.tool_created, Tool(name="get_weather"), workspace=None, duration=0.1)
        signals.send(signals.assistant_created, Assistant(), workspace=None, duration=0.1)
    finally:
        telemetry.shutdown()
    return sink.events


def test_flowise3_client_sends_the_real_servers_shapes(flowkit_home: Path) -> None:
    events = _events("flowise-3", flowkit_home)

    assert [e.event for e in events] == [
        "chatflow_created",
        "vector_upserted",
        "prediction_sent",
        "tool_created",
        "assistant_created",
    ]
    for event in events:
        real = REAL_EVENTS[event.event]["properties"]
        assert list(event.properties) == list(real), event.event
        for key in ("productId", "subscriptionId"):
            if key in real:
                assert event.properties[key] == real[key], (event.event, key)
        assert_valid_event(event, "flowise-3")


def test_flowise3_distinct_id_is_the_organization_id_when_set(
    flowkit_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWKIT_TELEMETRY_ORG_ID", ORG_ID)

    events = _events("flowise-3", flowkit_home)

    assert {e.distinct_id for e in events} == {ORG_ID}


def test_flowise3_distinct_id_is_the_instance_id_without_an_organization(
    flowkit_home: Path,
) -> None:
    events = _events("flowise-3", flowkit_home)

    stored = json.loads((flowkit_home / "settings.json").read_text())["instanceId"]
    assert {e.distinct_id for e in events} == {stored}


def test_flowise1_ignores_the_organization_id(
    flowkit_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWKIT_TELEMETRY_ORG_ID", ORG_ID)

    events = _events("flowise-1", flowkit_home)

    assert ORG_ID not in {e.distinct_id for e in events}
    assert list(events[0].properties) == ["version", "chatlowId", "flowGraph"]


def test_profile_comes_from_the_environment(
    flowkit_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWKIT_TELEMETRY_PROFILE", "flowise-3")

    client = Telemetry(settings=TelemetrySettings(home=flowkit_home), synchronous=True)

    assert client.profile == "flowise-3"


def test_marketplace_flows_preview_in_flowise3_shapes(marketplace_chatflow: Path) -> None:
    flow = Chatflow.from_flowise(json.loads(marketplace_chatflow.read_text(encoding="utf-8")))
    events = preview_events(
        flow, events=["chatflow_created", "prediction_sent"], profile="flowise-3"
    )
    for event in events:
        assert list(event["properties"]) == list(REAL_EVENTS[event["event"]]["properties"])
        assert_valid_event(event, "flowise-3")


@pytest.mark.parametrize("profile", PROFILES)
def test_schema_command_knows_both_profiles(profile: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flowkit", "schema", "prediction_sent", "--profile", profile],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert list(schema["properties"]) == wire_keys("prediction_sent", profile)  # type: ignore[arg-type]


def test_preview_command_prints_flowise3_shapes(marketplace: Path) -> None:
    sample = marketplace / "chatflows" / "Conversation Chain.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flowkit",
            "preview",
            str(sample),
            "--event",
            "prediction_sent",
            "--profile",
            "flowise-3",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    (event,) = json.loads(result.stdout)
    assert list(event["properties"]) == list(REAL_EVENTS["prediction_sent"]["properties"])
    assert event["properties"]["subscriptionId"] is None
    assert event["properties"]["productId"] == ""
