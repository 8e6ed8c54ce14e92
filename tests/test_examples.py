"""Every example runs as a user would run it, and prints what it promises.

Each runs in a subprocess (``sys.executable``, from the repository root) with its own
``FLOWKIT_HOME`` and no telemetry variable of the developer's shell; the PostHog example
sends to a fake PostHog server on 127.0.0.1.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import clean_environ

from flowkit import Chatflow

try:
    from fake_posthog import FakePostHog  # tests/ is on sys.path (no tests/__init__.py)
except ImportError:  # pragma: no cover - tests/ became a package
    from tests.fake_posthog import FakePostHog

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TIMEOUT = 120
API_KEY = "phc_example_key"
RUN_ELSEWHERE = {  # example -> the test that runs it, and why not here
    "rag_on_flowise.py": (
        "tests/flowise/test_example.py",
        "needs a Flowise server: run by tests/flowise/test_example.py under make test-flowise",
    ),
}
"""Examples not run by ``make test``, each named with the test that runs it instead."""
CLEARED = (  # besides every variable flowkit reads (clean_environ)
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
    "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty ``FLOWKIT_HOME`` for the example's process."""
    folder = tmp_path / "example_home"
    folder.mkdir()
    return folder


def run_example(home: Path, *args: str, status: int = 0) -> subprocess.CompletedProcess[str]:
    """Run ``python *args`` from the repository root and check its exit status."""
    env = {k: v for k, v in clean_environ().items() if k not in CLEARED}
    env["FLOWKIT_HOME"] = str(home)
    env["PYTHONIOENCODING"] = "utf-8"
    result = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == status, f"{args}: exit status {result.returncode}:\n" + (
        result.stdout + result.stderr
    )
    return result


def test_quickstart_prints_the_answer_and_what_the_listener_saw(home: Path) -> None:
    out = run_example(home, "examples/quickstart.py").stdout

    assert "Answer:" in out
    assert "DISABLE_FLOWISE_TELEMETRY=true" in out.split("Answer:", 1)[1].splitlines()[0]
    assert "chatflow_created: 'docs QA' with 6 nodes" in out
    assert "vector_upserted:" in out
    assert "into memoryVectorStore_0" in out
    assert "prediction_sent: 'How do I turn telemetry off?'" in out
    assert list(home.iterdir()) == []


def test_custom_listener_prints_the_audit_log_and_one_flow_only(home: Path) -> None:
    out = run_example(home, "examples/custom_listener.py").stdout
    audit = out.split("Audit log (8 entries):", 1)[1].split("The handbook-only", 1)[0]
    per_flow = out.split("The handbook-only listener (3 entries):", 1)[1]

    assert 'Answer: According to the context: "Holidays are booked through the portal."' in out
    assert [line.split()[0] for line in audit.strip().splitlines()] == [
        "chatflow_created",
        "chatflow_created",
        "tool_created",
        "assistant_created",
        "vector_upserted",
        "vector_upserted",
        "prediction_sent",
        "prediction_sent",
    ]
    assert "tool_created      tool 'calculator'" in audit
    assert "prediction_sent   chatflow 'release notes'" in audit
    assert "question='What does version 3 add?'" in audit
    assert per_flow.split("It heard")[0].split() == [
        "handbook:", "saved",
        "handbook:", "upserted", "into", "memoryVectorStore_0",
        "handbook:", "asked", "'How", "are", "holidays", "booked?'",
    ]  # fmt: skip
    assert "release notes" not in per_flow
    assert "It heard only the handbook flow: True" in out


def test_async_listeners_are_awaited_alongside_the_sync_one(home: Path) -> None:
    out = run_example(home, "examples/async_listeners.py").stdout
    ran = out.split("Receivers, in the order they ran:", 1)[1].strip().splitlines()

    assert 'Answer: According to the context: "Async receivers are awaited in order."' in out
    assert [line.split(":")[0].split() for line in ran[:3]] == [
        ["async", "vector_upserted"],
        ["async", "prediction_sent"],
        ["sync", "prediction_sent"],
    ]
    assert "2 chunks into 'notes'" in ran[0]
    assert "is async and the operation is sync: use the async method" in out


def test_flowise_import_validates_and_previews_the_bundled_export(home: Path) -> None:
    out = run_example(home, "examples/flowise_import.py").stdout
    flow = Chatflow.from_flowise(EXAMPLES / "data" / "retrieval_flow.json")

    assert "Loaded 'retrieval_flow': 6 nodes, 5 edges" in out
    assert "Valid: a workspace would save it" in out
    assert [line for line in out.splitlines() if line.endswith(":") and " " not in line] == [
        "chatflow_created:",
        "vector_upserted:",
        "prediction_sent:",
    ]
    assert '"stopNodeId": "memoryVectorStore_0"' in out
    assert '"type": "EXTERNAL"' in out
    for node in flow.nodes:
        assert f'"{node.id}"' in out
    assert "flowGraph: 6 node ids as in the file, 0 pseudonymized" in out
    assert list(home.iterdir()) == []  # a preview reads and writes no instance id


def test_flowise_import_takes_a_file_from_the_command_line(home: Path, tmp_path: Path) -> None:
    export = tmp_path / "two stores.json"
    flow = Chatflow(name="two stores")
    for name in ("memoryVectorStore", "memoryVectorStore"):
        store = flow.add_node(name, category="Vector Stores")
        flow.connect(store, flow.add_node("retrievalQAChain", category="Chains"), "retriever")
    export.write_text(json.dumps(flow.to_flowise()), encoding="utf-8")

    out = run_example(home, "examples/flowise_import.py", str(export)).stdout

    assert "Loaded 'two stores': 4 nodes, 2 edges" in out
    assert "No upsert preview: 2 vector stores" in out
    assert "vector_upserted:" not in out
    assert "prediction_sent:" in out


def test_flowise_import_reports_a_broken_file(home: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"nodes": [], "edges": [{"source": "ghost_0"}]}', encoding="utf-8")

    result = run_example(home, "examples/flowise_import.py", str(broken), status=1)

    assert "broken.json: cannot be loaded:" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_payload_tests_pass_with_the_plugin(home: Path) -> None:
    result = run_example(
        home, "-m", "pytest", "examples/test_payloads.py", "-q", "-p", "no:cacheprovider"
    )

    assert "4 passed" in result.stdout


def test_posthog_export_delivers_every_event_to_the_host(home: Path) -> None:
    with FakePostHog(api_key=API_KEY) as server:
        url = server.url
        result = run_example(home, "examples/posthog_export.py", url, "--api-key", API_KEY)
        assert server.wait_for_events(5)
        received = server.events

    assert f"Delivered 5 of 5 events to {url}/batch/" in result.stdout
    assert [event["event"] for event in received] == [
        "chatflow_created",
        "tool_created",
        "assistant_created",
        "vector_upserted",
        "prediction_sent",
    ]
    assert len({event["uuid"] for event in received}) == 5
    assert list(home.iterdir()) == []  # its home was a temporary folder of its own


def test_posthog_export_refuses_a_malformed_host(home: Path) -> None:
    result = run_example(home, "examples/posthog_export.py", "ftp://example.com", status=2)

    assert "must look like https://" in result.stderr
    assert "Traceback" not in result.stderr


def test_flows_as_code_moves_a_folder_between_two_workspace_files(home: Path) -> None:
    out = run_example(home, "examples/flows_as_code.py").stdout

    assert "Pulled from dev.db: chatflows/Docs QA.json, tools/calculator.json" in out
    assert "The model's credential, by name: credential:openai-key" in out
    assert "Plan for prod.db:\n  + tools/calculator\n  + chatflows/Docs QA" in out
    assert "~ chatflows/Docs QA: nodes changed chatOpenAI_0 (inputs temperature)" in out
    assert "Applied: prod's temperature is 0.2; No changes" in out


def test_components_example_runs_its_own_model_embeddings_and_store(home: Path) -> None:
    out = run_example(home, "examples/components.py").stdout

    assert out.splitlines() == ["Upserted: 2", "Answer: OWLS HOOT AT NIGHT."]


def test_every_example_is_run_here_or_by_the_test_named_for_it() -> None:
    this_file = Path(__file__).read_text(encoding="utf-8")
    examples = sorted(path.name for path in EXAMPLES.glob("*.py"))

    not_run = [
        name
        for name in examples
        if f'"examples/{name}"' not in this_file and name not in RUN_ELSEWHERE
    ]
    for name, (test, _why) in RUN_ELSEWHERE.items():
        assert name in examples, f"RUN_ELSEWHERE names {name}, which examples/ no longer has"
        assert f'"{name}"' in (ROOT / test).read_text(encoding="utf-8"), f"{test} never runs {name}"
    assert not_run == [], f"examples no test runs: {not_run}; add a test here"
