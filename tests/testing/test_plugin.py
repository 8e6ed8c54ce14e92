"""The pytest plugin: the ``telemetry_events`` fixture and ``assert_valid_event``.

Most tests run an inline pytest session (``pytester``) the way a user's suite would load
the plugin: through flowkit's ``pytest11`` entry point, never ``-p``. Checks of the messages
themselves use the fixture directly, as flowkit's own suite loads the plugin too.
"""

from __future__ import annotations

import dataclasses
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import flowkit.testing
from flowkit import Assistant, Tool, Workspace
from flowkit.errors import FlowkitError
from flowkit.runtime import retrieval_demo_flow
from flowkit.telemetry import TelemetryEvent, wire_keys
from flowkit.testing import TelemetryCapture, assert_valid_event

pytest_plugins = ["pytester"]

TEXT = "Telemetry is anonymous.\n\nIt is off when DISABLE_FLOWISE_TELEMETRY=true is set."

USER_TEST_HEADER = """
from flowkit import Assistant, Tool, Workspace
from flowkit.runtime import retrieval_demo_flow

def run_everything():
    workspace = Workspace()
    flow = workspace.create_chatflow(retrieval_demo_flow("Some text to search."))
    workspace.create_tool(Tool(name="calculator"))
    workspace.create_assistant(Assistant())
    workspace.upsert_vector(flow)
    workspace.predict(flow, "What is there?")
    return flow
"""


def _events_of_everything(capture: TelemetryCapture) -> dict[str, TelemetryEvent]:
    workspace = Workspace()
    flow = workspace.create_chatflow(retrieval_demo_flow(TEXT))
    workspace.create_tool(Tool(name="calculator"))
    workspace.create_assistant(Assistant())
    workspace.upsert_vector(flow)
    workspace.predict(flow, "When is telemetry off?")
    return {name: capture.last(name) for name in capture.names()}


def _with_properties(event: TelemetryEvent, properties: dict[str, Any]) -> TelemetryEvent:
    return dataclasses.replace(event, properties=properties)


# ---- inline sessions: the fixture as a user's suite sees it ---------------------------------


def test_fixture_sees_the_events_of_workspace_operations(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        USER_TEST_HEADER
        + """
def test_events(telemetry_events):
    flow = run_everything()
    assert telemetry_events.names() == [
        "chatflow_created", "tool_created", "assistant_created",
        "vector_upserted", "prediction_sent",
    ]
    assert len(telemetry_events) == 5
    assert [e.event for e in telemetry_events] == telemetry_events.names()
    created = telemetry_events.last("chatflow_created")
    assert created.properties["chatlowId"] == flow.id
    assert created.properties["flowGraph"]["nodes"] == [n.id for n in flow.nodes]
    assert len(telemetry_events.of("prediction_sent")) == 1
    telemetry_events.assert_all_valid()
    telemetry_events.clear()
    assert len(telemetry_events) == 0
"""
    )

    result = pytester.runpytest()

    result.assert_outcomes(passed=1)


def test_last_with_nothing_captured_names_what_was_captured(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
from flowkit import Workspace
from flowkit.runtime import retrieval_demo_flow

def test_nothing(telemetry_events):
    telemetry_events.last()

def test_no_prediction(telemetry_events):
    Workspace().create_chatflow(retrieval_demo_flow("Some text."))
    telemetry_events.last("prediction_sent")
"""
    )

    result = pytester.runpytest()

    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "E *AssertionError: no telemetry event was captured; events are recorded when a "
            "Workspace saves*",
            "E *AssertionError: no 'prediction_sent' event was captured "
            "(captured: chatflow_created); events are recorded*",
        ]
    )


def test_assert_valid_event_fails_with_the_key_order_message(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        USER_TEST_HEADER
        + """
import dataclasses
from flowkit.testing import assert_valid_event

def test_tampered(telemetry_events):
    run_everything()
    sent = telemetry_events.last("prediction_sent")
    p = sent.properties
    swapped = {k: p[k] for k in ["version", "chatlowId", "type", "chatId", "flowGraph"]}
    assert_valid_event(dataclasses.replace(sent, properties=swapped))
"""
    )

    result = pytester.runpytest()

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E *AssertionError: prediction_sent: property 3 is 'type', expected 'chatId'",
            "E *(the contract's keys of prediction_sent, in order: "
            "version, chatlowId, chatId, type, flowGraph)",
        ]
    )
    # the plugin's own frames are hidden: the failure points at the user's line
    assert "flowkit/testing.py" not in result.stdout.str()


def test_fixture_ignores_the_opt_out_because_nothing_leaves_the_process(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = tmp_path / "user_home"
    home.mkdir()
    monkeypatch.setenv("FLOWKIT_HOME", str(home))
    monkeypatch.setenv("DISABLE_FLOWISE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    monkeypatch.setenv("POSTHOG_PUBLIC_API_KEY", "phc_must_not_be_used")
    monkeypatch.setenv("POSTHOG_HOST", "http://127.0.0.1:9")
    (pytester.path / ".env").write_text("DISABLE_FLOWISE_TELEMETRY=true\n")
    pytester.makepyfile(
        USER_TEST_HEADER
        + """
import os, threading
from pathlib import Path

def test_captures(telemetry_events):
    run_everything()
    assert len(telemetry_events) == 5
    assert telemetry_events.telemetry.enabled
    assert telemetry_events.telemetry.stats.delivered == 5
    assert [t.name for t in threading.enumerate() if t.name == "flowkit-telemetry"] == []
    assert list(Path(os.environ["FLOWKIT_HOME"]).iterdir()) == []
"""
    )

    result = pytester.runpytest()

    result.assert_outcomes(passed=1)
    assert list(home.iterdir()) == []


def test_signals_after_the_fixture_teardown_are_not_captured(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        USER_TEST_HEADER
        + """
from flowkit import signals

kept = []

def test_first(telemetry_events):
    run_everything()
    kept.append(telemetry_events)
    assert len(telemetry_events) == 5

def test_second():
    capture = kept[0]
    assert not capture.telemetry.connected
    run_everything()
    assert len(capture) == 5
    assert all(not signal.receivers for signal in signals.SIGNALS)
"""
    )

    result = pytester.runpytest()

    result.assert_outcomes(passed=2)


def test_loading_the_plugin_has_no_side_effects(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = tmp_path / "user_home"
    home.mkdir()
    monkeypatch.setenv("FLOWKIT_HOME", str(home))
    (pytester.path / ".env").write_text("FLOWKIT_TELEMETRY_FILE=telemetry.jsonl\n")
    pytester.makepyfile(
        """
import os, sys, threading
from pathlib import Path

def test_nothing_happened(request):
    assert request.config.pluginmanager.has_plugin("flowkit")  # loaded by its entry point
    assert threading.enumerate() == [threading.main_thread()]
    assert list(Path(os.environ["FLOWKIT_HOME"]).iterdir()) == []
    assert "flowkit.telemetry" not in sys.modules  # so no client, no settings read
    assert "dotenv" not in sys.modules  # so no .env read
    from flowkit import signals
    assert all(not signal.receivers for signal in signals.SIGNALS)
"""
    )

    result = pytester.runpytest_subprocess()

    result.assert_outcomes(passed=1)
    assert list(home.iterdir()) == []
    assert [*pytester.path.rglob("*.jsonl"), *pytester.path.rglob("settings.json")] == []


def test_the_example_in_the_plugin_docstring_passes(pytester: pytest.Pytester) -> None:
    example = textwrap.dedent((flowkit.testing.__doc__ or "").split("::\n", 1)[1])
    pytester.makepyfile(example)

    result = pytester.runpytest()

    result.assert_outcomes(passed=1)


# ---- the capture object, used directly ---------------------------------------------------


def test_capture_of_and_last_pick_events_by_name(telemetry_events: TelemetryCapture) -> None:
    workspace = Workspace()
    first = workspace.create_chatflow(retrieval_demo_flow(TEXT, name="first"))
    second = workspace.create_chatflow(retrieval_demo_flow(TEXT, name="second"))

    created = telemetry_events.of("chatflow_created")

    assert [e.properties["chatlowId"] for e in created] == [first.id, second.id]
    assert telemetry_events.last().properties["chatlowId"] == second.id
    assert telemetry_events.of("tool_created") == []


def test_capture_rejects_an_unknown_event_name(telemetry_events: TelemetryCapture) -> None:
    with pytest.raises(AssertionError, match=r"unknown event 'prediction_send'; flowkit's"):
        telemetry_events.of("prediction_send")


def test_every_recorded_event_is_valid(telemetry_events: TelemetryCapture) -> None:
    events = _events_of_everything(telemetry_events)

    telemetry_events.assert_all_valid()
    for event in events.values():
        assert_valid_event(event)
        assert_valid_event(event.to_wire())
        assert_valid_event({"event": event.event, "properties": dict(event.properties)})


# ---- assert_valid_event's messages ---------------------------------------------------------


def test_an_extra_key_is_named(telemetry_events: TelemetryCapture) -> None:
    sent = _events_of_everything(telemetry_events)["prediction_sent"]
    tampered = _with_properties(sent, {**sent.properties, "question": "secret?"})

    with pytest.raises(AssertionError, match=r"^prediction_sent: unexpected key 'question'\n"):
        assert_valid_event(tampered)


def test_a_missing_key_is_named(telemetry_events: TelemetryCapture) -> None:
    sent = _events_of_everything(telemetry_events)["prediction_sent"]
    properties = {k: v for k, v in sent.properties.items() if k != "flowGraph"}

    with pytest.raises(AssertionError, match=r"^prediction_sent: missing key 'flowGraph'\n"):
        assert_valid_event(_with_properties(sent, properties))


def test_a_key_out_of_order_is_named_with_the_expected_one(
    telemetry_events: TelemetryCapture,
) -> None:
    upserted = _events_of_everything(telemetry_events)["vector_upserted"]
    order = ["version", "chatlowId", "type", "stopNodeId", "flowGraph"]
    tampered = _with_properties(upserted, {k: upserted.properties[k] for k in order})

    with pytest.raises(AssertionError) as caught:
        assert_valid_event(tampered)

    assert str(caught.value).splitlines() == [
        "vector_upserted: property 4 is 'stopNodeId', expected 'flowGraph'",
        "(the contract's keys of vector_upserted, in order: "
        + ", ".join(wire_keys("vector_upserted"))
        + ")",
    ]


def test_a_bad_value_is_named_with_its_path(telemetry_events: TelemetryCapture) -> None:
    sent = _events_of_everything(telemetry_events)["prediction_sent"]
    graph = {"nodes": ["a_0", 7], "edges": [{"source": "a_0", "target": "b_0"}]}
    tampered = _with_properties(sent, {**sent.properties, "type": "BOGUS", "flowGraph": graph})

    with pytest.raises(AssertionError) as caught:
        assert_valid_event(tampered)

    assert str(caught.value).splitlines()[:2] == [
        "prediction_sent: flowGraph.nodes.1: 7 is not of type 'string'",
        "prediction_sent: type: 'BOGUS' is not one of ['INTERNAL', 'EXTERNAL']",
    ]


def test_flow_graph_keys_and_edge_keys_are_checked(telemetry_events: TelemetryCapture) -> None:
    created = _events_of_everything(telemetry_events)["chatflow_created"]
    graph = created.properties["flowGraph"]
    edge = graph["edges"][0]
    tampered_graph = {
        "edges": [{"target": edge["target"], "source": edge["source"], "label": "x"}],
        "nodes": graph["nodes"],
    }
    tampered = _with_properties(created, {**created.properties, "flowGraph": tampered_graph})

    with pytest.raises(AssertionError) as caught:
        assert_valid_event(tampered)

    assert str(caught.value).splitlines()[:2] == [
        "chatflow_created: flowGraph: key 1 is 'edges', expected 'nodes'",
        "chatflow_created: flowGraph.edges[0]: unexpected key 'label'",
    ]


def test_a_wire_dict_envelope_is_checked(telemetry_events: TelemetryCapture) -> None:
    wire = _events_of_everything(telemetry_events)["tool_created"].to_wire()
    wire["distinct_id"] = wire.pop("distinctId")

    with pytest.raises(AssertionError) as caught:
        assert_valid_event(wire)

    assert str(caught.value).splitlines()[:2] == [
        "tool_created: unexpected envelope key 'distinct_id'",
        "tool_created: missing envelope key 'distinctId'",
    ]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"event": "prediction_send", "properties": {}}, r"unknown event 'prediction_send'"),
        ({"name": "prediction_sent"}, r"a wire dict with 'event' and 'properties'"),
        (42, r"expected a TelemetryEvent or a wire dict, got int"),
        ({"event": "tool_created", "properties": []}, r"properties must be a dict, got list"),
    ],
)
def test_something_that_is_not_an_event_is_refused(event: Any, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        assert_valid_event(event)


def test_without_jsonschema_the_error_says_what_to_install(
    telemetry_events: TelemetryCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = _events_of_everything(telemetry_events)["assistant_created"]
    monkeypatch.setitem(sys.modules, "jsonschema", None)

    with pytest.raises(FlowkitError, match=r"pip install .flowkit\[testing\]."):
        assert_valid_event(event)
