"""The ``flowkit`` command: every command's happy path, help, errors and exit statuses.

Exit statuses and standard error are checked in real subprocesses (``python -m flowkit``);
the rest runs ``main([...])`` in-process.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from flowkit.cli import common as cli_common
from flowkit.cli import main
from flowkit.cli.common import MAX_FLOW_FILE_BYTES
from flowkit.errors import FlowValidationError
from flowkit.telemetry import EVENTS, wire_keys

from .helpers import Run, edge, node, write_json

COMMANDS = [
    [],
    ["demo"],
    ["preview"],
    ["validate"],
    ["events"],
    ["schema"],
    ["telemetry"],
    ["telemetry", "status"],
]
FLOW_EVENTS = ["chatflow_created", "vector_upserted", "prediction_sent"]


def _stdout_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> Any:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def _is_one_error_line(err: str) -> bool:
    lines = err.splitlines()
    return len(lines) == 1 and lines[0].startswith("flowkit: error: ") and "Traceback" not in err


def _flowise_graph(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {
        "nodes": [n["id"] for n in data["nodes"]],
        "edges": [{"source": e["source"], "target": e["target"]} for e in data["edges"]],
    }


def _vector_stores(path: Path) -> list[str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [n["id"] for n in data["nodes"] if n.get("data", {}).get("category") == "Vector Stores"]


# ---- help and usage ------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "flowkit")
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--help"]) == 0

    out = capsys.readouterr().out
    assert out.startswith(f"usage: {' '.join(['flowkit', *command])}")


def test_help_runs_as_python_dash_m(run_flowkit: Run) -> None:
    result = run_flowkit("--help")

    assert result.code == 0
    for command in ("demo", "preview", "validate", "events", "schema", "telemetry"):
        assert command in result.out


def test_version_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    from flowkit import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"flowkit {__version__}\n"


@pytest.mark.parametrize(
    "argv",
    [[], ["bogus"], ["events", "--format", "xml"], ["preview"], ["telemetry", "bogus"]],
    ids=["no-command", "unknown-command", "bad-choice", "missing-file", "bad-action"],
)
def test_usage_errors_are_one_line_with_status_2(argv: list[str], run_flowkit: Run) -> None:
    result = run_flowkit(*argv)

    assert result.code == 2
    assert _is_one_error_line(result.err), result.err
    assert "--help" in result.err
    assert result.out == ""


def test_telemetry_without_action_says_which_to_choose(run_flowkit: Run) -> None:
    result = run_flowkit("telemetry")

    assert result.code == 2
    assert _is_one_error_line(result.err)
    assert "status" in result.err


# ---- bad input -----------------------------------------------------------------------------


def test_preview_of_missing_file_is_one_line(run_flowkit: Run, tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"

    result = run_flowkit("preview", str(missing))

    assert result.code == 2
    assert _is_one_error_line(result.err)
    assert "missing.json" in result.err
    assert "No such file" in result.err


def test_preview_of_bad_json_is_one_line(run_flowkit: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"nodes": [', encoding="utf-8")

    result = run_flowkit("preview", str(bad))

    assert result.code == 2
    assert _is_one_error_line(result.err)
    assert "not valid JSON" in result.err


def test_preview_of_invalid_flow_says_nothing_would_be_sent(
    run_flowkit: Run, cyclic_flow: Path
) -> None:
    result = run_flowkit("preview", str(cyclic_flow))

    assert result.code == 2
    assert _is_one_error_line(result.err)
    assert "nothing would be sent" in result.err
    assert "cycle" in result.err


def test_schema_of_unknown_event_names_the_known_ones(run_flowkit: Run) -> None:
    result = run_flowkit("schema", "chatflow_deleted")

    assert result.code == 2
    assert _is_one_error_line(result.err)
    assert "'chatflow_deleted'" in result.err
    for name in EVENTS:
        assert name in result.err


def test_preview_of_unknown_event_is_one_line(run_flowkit: Run, good_flow: Path) -> None:
    result = run_flowkit("preview", str(good_flow), "--event", "tool_created")

    assert result.code == 2
    assert _is_one_error_line(result.err)


# ---- preview -------------------------------------------------------------------------------


def test_preview_prints_the_flows_events_with_its_graph(
    good_flow: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = _stdout_json(capsys, ["preview", str(good_flow)])

    assert [e["event"] for e in events] == FLOW_EVENTS
    for event in events:
        assert list(event) == ["event", "properties"]
        assert list(event["properties"]) == wire_keys(event["event"])
        assert event["properties"]["flowGraph"] == _flowise_graph(good_flow)
    assert events[1]["properties"]["stopNodeId"] == "faiss_0"


def test_preview_defaults_to_external(good_flow: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = _stdout_json(capsys, ["preview", str(good_flow)])

    assert [e["properties"]["type"] for e in events[1:]] == ["EXTERNAL", "EXTERNAL"]


@pytest.mark.parametrize("given", ["INTERNAL", "internal"])
def test_preview_chat_type_sets_the_type_of_upsert_and_prediction(
    given: str, good_flow: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = _stdout_json(capsys, ["preview", str(good_flow), "--chat-type", given])

    assert [e["properties"].get("type") for e in events] == [None, "INTERNAL", "INTERNAL"]


@pytest.mark.parametrize("name", FLOW_EVENTS)
def test_preview_event_filters_to_one(
    name: str, good_flow: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = _stdout_json(capsys, ["preview", str(good_flow), "--event", name])

    assert [e["event"] for e in events] == [name]


def test_preview_gives_each_run_a_fresh_chat_id(
    good_flow: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _stdout_json(capsys, ["preview", str(good_flow), "--event", "prediction_sent"])
    second = _stdout_json(capsys, ["preview", str(good_flow), "--event", "prediction_sent"])

    assert first[0]["properties"]["chatId"] != second[0]["properties"]["chatId"]


def test_preview_keeps_an_api_records_chatflow_id(
    tmp_path: Path, good_flow: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = write_json(
        tmp_path / "record.json",
        {"id": "cf-1", "name": "QA", "flowData": good_flow.read_text(encoding="utf-8")},
    )

    events = _stdout_json(capsys, ["preview", str(record)])

    assert {e["properties"]["chatlowId"] for e in events} == {"cf-1"}


def test_preview_skips_the_upsert_of_a_flow_without_vector_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = write_json(
        tmp_path / "chain.json",
        {
            "nodes": [
                node("chatOpenAI_0", "chatOpenAI", "Chat Models"),
                node("llmChain_0", "llmChain", "Chains"),
            ],
            "edges": [edge("chatOpenAI_0", "llmChain_0")],
        },
    )

    events = _stdout_json(capsys, ["preview", str(flow)])

    assert [e["event"] for e in events] == ["chatflow_created", "prediction_sent"]


def test_preview_pseudonymizes_ids_that_may_hold_user_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = write_json(
        tmp_path / "custom.json",
        {
            "nodes": [
                node("my secret model", "chatOpenAI", "Chat Models"),
                node("llmChain_0", "llmChain", "Chains"),
            ],
            "edges": [edge("my secret model", "llmChain_0")],
        },
    )

    assert main(["preview", str(flow)]) == 0
    out = capsys.readouterr().out

    assert "my secret model" not in out
    graph = json.loads(out)[0]["properties"]["flowGraph"]
    assert graph["nodes"][0].startswith("node_")
    assert graph["edges"] == [{"source": graph["nodes"][0], "target": "llmChain_0"}]


def test_preview_touches_no_file_and_starts_no_thread(
    good_flow: Path, flowkit_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    threads = threading.active_count()

    _stdout_json(capsys, ["preview", str(good_flow)])

    assert list(flowkit_home.iterdir()) == []
    assert threading.active_count() == threads


def test_preview_in_a_subprocess_creates_nothing(
    run_flowkit: Run, good_flow: Path, flowkit_home: Path
) -> None:
    result = run_flowkit("preview", str(good_flow))

    assert result.code == 0, result.err
    assert len(json.loads(result.out)) == 3
    assert list(flowkit_home.iterdir()) == []


def test_preview_of_every_marketplace_chatflow_matches_its_nodes_and_edges(
    marketplace_chatflow: Path, flowkit_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stores = _vector_stores(marketplace_chatflow)
    argv = ["preview", str(marketplace_chatflow)]
    if len(stores) > 1:
        argv += ["--stop-node", stores[-1]]

    events = _stdout_json(capsys, argv)

    expected = (
        ["chatflow_created", "vector_upserted", "prediction_sent"]
        if stores
        else [
            "chatflow_created",
            "prediction_sent",
        ]
    )
    assert [e["event"] for e in events] == expected
    graph = _flowise_graph(marketplace_chatflow)
    for event in events:
        assert event["properties"]["flowGraph"] == graph
        assert list(event["properties"]) == wire_keys(event["event"])
    if stores:
        assert events[1]["properties"]["stopNodeId"] == stores[-1]
    assert list(flowkit_home.iterdir()) == []


@pytest.mark.parametrize("stem", ["Multiple Documents QnA", "SubQuestion Query Engine"])
def test_two_vector_stores_need_a_stop_node(
    stem: str, marketplace: Path, run_flowkit: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    path = marketplace / "chatflows" / f"{stem}.json"
    stores = _vector_stores(path)
    assert len(stores) == 2

    refused = run_flowkit("preview", str(path))
    events = _stdout_json(capsys, ["preview", str(path), "--stop-node", stores[0]])

    assert refused.code == 2
    assert _is_one_error_line(refused.err), refused.err
    assert "--stop-node" in refused.err
    for store in stores:
        assert store in refused.err
    assert events[1]["properties"]["stopNodeId"] == stores[0]


def test_unknown_stop_node_lists_the_vector_stores(run_flowkit: Run, good_flow: Path) -> None:
    result = run_flowkit("preview", str(good_flow), "--stop-node", "pinecone_9")

    assert result.code == 2
    assert _is_one_error_line(result.err)
    assert "pinecone_9" in result.err
    assert "faiss_0" in result.err


# ---- validate ------------------------------------------------------------------------------


def test_validate_good_file_says_ok(run_flowkit: Run, good_flow: Path) -> None:
    result = run_flowkit("validate", str(good_flow))

    assert result.code == 0
    assert result.out == f"{good_flow}: ok\n"


def test_validate_edge_to_unknown_node_names_edge_and_node(
    run_flowkit: Run, dangling_flow: Path
) -> None:
    result = run_flowkit("validate", str(dangling_flow))

    assert result.code == 1
    assert result.out == f"{dangling_flow}: edge 'e7' points to unknown node 'ghost_3'\n"
    assert "Traceback" not in result.err


def test_validate_prints_every_problem_and_every_verdict(
    good_flow: Path, cyclic_flow: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.json"

    code = main(["validate", str(good_flow), str(cyclic_flow), str(missing)])

    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert lines[0] == f"{good_flow}: ok"
    cyclic = [line for line in lines if line.startswith(f"{cyclic_flow}: ")]
    assert len(cyclic) == 2
    assert "cycle" in cyclic[0]
    assert "ending node" in cyclic[1]
    assert lines[-1].startswith(f"{missing}: cannot read")


def test_validate_every_marketplace_chatflow(
    marketplace_chatflows: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", *map(str, marketplace_chatflows)]) == 0
    assert capsys.readouterr().out.count(": ok\n") == len(marketplace_chatflows)


# ---- events and schema ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "es"])
def test_events_markdown_has_one_row_per_event(
    lang: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["events", "--format", "markdown", "--lang", lang]) == 0

    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(EVENTS)


def test_events_table_is_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events"]) == 0

    out = capsys.readouterr().out
    for name in EVENTS:
        assert f"{name}: " in out
        for key in wire_keys(name):
            assert f"  {key} " in out


def test_events_json_lists_properties_in_wire_order(capsys: pytest.CaptureFixture[str]) -> None:
    rows = _stdout_json(capsys, ["events", "--format", "json", "--lang", "es"])

    assert [row["event"] for row in rows] == list(EVENTS)
    for row in rows:
        assert [p["key"] for p in row["properties"]] == wire_keys(row["event"])


def test_schema_of_all_events_are_valid_json_schemas(capsys: pytest.CaptureFixture[str]) -> None:
    schemas = _stdout_json(capsys, ["schema"])

    assert list(schemas) == list(EVENTS)
    for schema in schemas.values():
        Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", list(EVENTS))
def test_schema_of_one_event_is_a_draft_2020_12_schema(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = _stdout_json(capsys, ["schema", name])

    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert list(schema["properties"]) == wire_keys(name)


def test_previewed_events_validate_against_their_schemas(
    good_flow: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = _stdout_json(capsys, ["preview", str(good_flow)])

    for event in events:
        schema = _stdout_json(capsys, ["schema", event["event"]])
        Draft202012Validator(schema).validate(event["properties"])


# ---- telemetry status ----------------------------------------------------------------------


def test_status_says_on_where_events_go_and_creates_nothing(
    run_flowkit: Run, flowkit_home: Path
) -> None:
    result = run_flowkit("telemetry", "status")

    assert result.code == 0
    assert "Telemetry: on" in result.out
    assert f"local file {flowkit_home / 'telemetry.jsonl'}" in result.out
    assert f"none yet; it is created in {flowkit_home / 'settings.json'}" in result.out
    assert list(flowkit_home.iterdir()) == []


def test_status_when_opted_out_says_off_and_why(run_flowkit: Run, flowkit_home: Path) -> None:
    result = run_flowkit("telemetry", "status", DISABLE_FLOWISE_TELEMETRY="true")

    assert result.code == 0
    assert "Telemetry: off" in result.out
    assert "Decided by: DISABLE_FLOWISE_TELEMETRY=true in environment" in result.out
    assert "none is created while telemetry is off" in result.out
    assert list(flowkit_home.iterdir()) == []


def test_status_names_the_dotenv_file_that_decided(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / ".env").write_text("DO_NOT_TRACK=1\n", encoding="utf-8")

    assert main(["telemetry", "status"]) == 0

    out = capsys.readouterr().out
    assert "Telemetry: off" in out
    assert f"DO_NOT_TRACK=1 in {workdir / '.env'}" in out


def test_status_shows_an_existing_instance_id(
    flowkit_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    instance_id = "0b5f1c36-63d8-4ab8-9d4a-3f9b6b9e0f11"
    (flowkit_home / "settings.json").write_text(json.dumps({"instanceId": instance_id}))

    assert main(["telemetry", "status"]) == 0

    assert f"Instance id: {instance_id}" in capsys.readouterr().out


def test_status_names_posthog_but_never_the_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POSTHOG_PUBLIC_API_KEY", "phc_secret_key")
    monkeypatch.setenv("POSTHOG_HOST", "https://eu.i.posthog.com")

    assert main(["telemetry", "status"]) == 0

    out = capsys.readouterr().out
    assert "PostHog at https://eu.i.posthog.com" in out
    assert "phc_secret_key" not in out


def test_status_names_the_default_profile_and_how_to_change_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["telemetry", "status"]) == 0

    assert "Profile: flowise-1 (Flowise 1.x shapes, the default; " in capsys.readouterr().out


@pytest.mark.parametrize(
    ("org_id", "said"),
    [
        ("org-7", "distinctId is the organization id from FLOWKIT_TELEMETRY_ORG_ID"),
        ("", "distinctId is the instance id (FLOWKIT_TELEMETRY_ORG_ID is not set)"),
    ],
)
def test_status_names_the_flowise_3_profile_and_its_distinct_id(
    org_id: str, said: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FLOWKIT_TELEMETRY_PROFILE", "flowise-3")
    monkeypatch.setenv("FLOWKIT_TELEMETRY_ORG_ID", org_id)

    assert main(["telemetry", "status"]) == 0

    out = capsys.readouterr().out
    assert f"Profile: flowise-3 (FLOWKIT_TELEMETRY_PROFILE; {said})" in out
    assert "org-7" not in out  # the organization id itself is never printed


# ---- files that are no Flowise export: FIFOs, devices, folders, huge files -------------------

QUICK = 20.0
"""Seconds a refused file may take, subprocess start included (a hang would take forever)."""


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    """A named pipe with no writer: opening it for reading blocks by default."""
    path = tmp_path / "pipe.json"
    os.mkfifo(path)
    return path


def test_preview_of_a_fifo_fails_at_once_with_one_line(fifo: Path, run_flowkit: Run) -> None:
    result = run_flowkit("preview", str(fifo), timeout=QUICK)

    assert result.code == 2
    assert _is_one_error_line(result.err)
    assert (
        f"{fifo}: cannot read file '{fifo}': it is a FIFO (named pipe), not a regular file"
        in result.err
    )


def test_preview_of_dev_zero_fails_at_once_with_one_line(run_flowkit: Run) -> None:
    result = run_flowkit("preview", "/dev/zero", timeout=QUICK)

    assert result.code == 2
    assert _is_one_error_line(result.err)
    assert "it is a character device, not a regular file" in result.err
    assert "MemoryError" not in result.err


def test_validate_says_why_each_unreadable_file_fails_and_goes_on(
    fifo: Path, good_flow: Path, tmp_path: Path, run_flowkit: Run
) -> None:
    args = (str(fifo), "/dev/zero", str(tmp_path), str(good_flow))

    result = run_flowkit("validate", *args, timeout=QUICK)

    lines = result.out.splitlines()
    assert result.code == 1
    assert "Traceback" not in result.err
    assert lines == [
        f"{fifo}: cannot read file '{fifo}': it is a FIFO (named pipe), not a regular file; "
        "pass a Flowise export (.json)",
        "/dev/zero: cannot read file '/dev/zero': it is a character device, not a regular "
        "file; pass a Flowise export (.json)",
        f"{tmp_path}: cannot read file '{tmp_path}': it is a folder, not a regular file; "
        "pass a Flowise export (.json)",
        f"{good_flow}: ok",
    ]


def test_file_over_64_mib_is_refused_unread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as stream:  # sparse: no disk, and nothing worth reading
        stream.truncate(MAX_FLOW_FILE_BYTES + 1)

    code = main(["preview", str(huge)])

    assert MAX_FLOW_FILE_BYTES == 64 * 1024 * 1024
    assert code == 2
    assert _is_one_error_line(capsys.readouterr().err)
    assert main(["validate", str(huge)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{huge}: cannot read file '{huge}': it is larger than 64 MiB, the most flowkit reads; "
        "is it the Flowise export you meant?"
    ]


def test_file_that_grows_past_the_cap_while_read_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_common, "MAX_FLOW_FILE_BYTES", 10)
    exact, over = tmp_path / "exact.json", tmp_path / "over.json"
    exact.write_bytes(b"0123456789")
    over.write_bytes(b"0123456789A")

    assert cli_common.read_flow_file(str(exact)) == b"0123456789"
    with pytest.raises(FlowValidationError, match="larger than"):
        cli_common.read_flow_file(str(over))


def test_fifo_with_a_writer_is_refused_too(fifo: Path, run_flowkit: Run) -> None:
    writer = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # a writer end kept open: no EOF
    try:
        os.write(writer, b'{"nodes": [], "edges": []}')
        result = run_flowkit("validate", str(fifo), timeout=QUICK)
    finally:
        os.close(writer)

    assert result.code == 1
    assert "it is a FIFO (named pipe), not a regular file" in result.out


def test_symlink_to_a_flow_is_read(good_flow: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(good_flow)

    assert cli_common.read_flow_file(str(link)) == good_flow.read_bytes()
