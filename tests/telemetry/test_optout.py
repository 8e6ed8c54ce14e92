"""Opting out: by environment, by ``.env``, by ``DO_NOT_TRACK``, and the union of both.

An opted-out client sends nothing whatever its sink: no event, no file under
``FLOWKIT_HOME``, no thread, no socket, no instance id; other listeners of the signals still
get every signal.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import clean_environ

from flowkit import signals
from flowkit.model import Assistant, Tool
from flowkit.runtime import retrieval_demo_flow
from flowkit.telemetry import MemorySink, Telemetry, TelemetrySettings, TelemetryStats
from flowkit.workspace import Workspace

try:
    from fake_posthog import FakePostHog  # tests/ is on sys.path (no tests/__init__.py)
except ImportError:  # pragma: no cover - tests/ became a package
    from tests.fake_posthog import FakePostHog

THREAD_NAME = "flowkit-telemetry"


class Listener:
    """Another program's receiver on all five signals: counts what it was sent."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._receivers: list[tuple[Any, Callable[..., None]]] = []
        for signal in signals.SIGNALS:

            def receive(sender: object, _name: str = signal.name, **kwargs: object) -> None:
                self.calls.append(_name)

            signal.connect(receive, weak=False)
            self._receivers.append((signal, receive))

    def disconnect(self) -> None:
        for signal, receive in self._receivers:
            signal.disconnect(receive)


@pytest.fixture
def listener() -> Iterator[Listener]:
    other = Listener()
    yield other
    other.disconnect()


@pytest.fixture
def threads_before() -> set[threading.Thread]:
    return telemetry_threads()


def telemetry_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == THREAD_NAME}


def operate() -> None:
    """Run every operation once, through a real workspace: five signals."""
    workspace = Workspace(strict_signals=True)
    flow = workspace.create_chatflow(retrieval_demo_flow("Paris is the capital of France."))
    workspace.upsert_vector(flow)
    workspace.predict(flow, "What is the capital of France?")
    workspace.create_tool(Tool(name="lookup"))
    workspace.create_assistant(Assistant())


def assert_sent_nothing(
    client: Telemetry,
    sink: MemorySink,
    home: Path,
    threads_before: set[threading.Thread],
    listener: Listener,
) -> None:
    assert not client.enabled
    assert not client.connected
    assert sink.events == []
    assert sorted(home.rglob("*")) == []
    assert telemetry_threads() <= threads_before
    assert client.stats == TelemetryStats(0, 0, 0, 0, 0)
    assert client.flush(0.1) is True
    assert listener.calls == [
        "chatflow_created",
        "vector_upserted",
        "prediction_sent",
        "tool_created",
        "assistant_created",
    ]


@pytest.fixture
def run_opted_out(
    flowkit_home: Path, threads_before: set[threading.Thread], listener: Listener
) -> Iterator[Callable[[TelemetrySettings | None], Telemetry]]:
    """Build a client (with a MemorySink) from the given settings, connect it, operate,
    and check that nothing was sent."""
    made: list[Telemetry] = []

    def run(settings: TelemetrySettings | None) -> Telemetry:
        sink = MemorySink()
        client = Telemetry(sink=sink, settings=settings)
        made.append(client)
        with client:
            operate()
        assert_sent_nothing(client, sink, flowkit_home, threads_before, listener)
        return client

    yield run
    for client in made:
        client.shutdown()


def env(home: Path, **variables: str) -> dict[str, str]:
    return {"FLOWKIT_HOME": str(home), **variables}


def write_dotenv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_disable_flowise_telemetry_in_environment_sends_nothing(
    flowkit_home: Path, tmp_path: Path, run_opted_out: Callable[..., Telemetry]
) -> None:
    settings = TelemetrySettings.from_env(
        environ=env(flowkit_home, DISABLE_FLOWISE_TELEMETRY="true"),
        dotenv_path=tmp_path / "absent.env",
    )

    client = run_opted_out(settings)

    assert client.settings.disabled_by is not None
    assert "DISABLE_FLOWISE_TELEMETRY" in client.settings.disabled_by
    assert "environment" in client.settings.disabled_by


def test_disable_flowise_telemetry_in_dotenv_sends_nothing(
    flowkit_home: Path, tmp_path: Path, run_opted_out: Callable[..., Telemetry]
) -> None:
    dotenv = write_dotenv(tmp_path / ".env", "DISABLE_FLOWISE_TELEMETRY=true\n")

    settings = TelemetrySettings.from_env(environ=env(flowkit_home), dotenv_path=dotenv)
    client = run_opted_out(settings)

    assert client.settings.disabled_by is not None
    assert str(dotenv) in client.settings.disabled_by


def test_dotenv_in_the_working_directory_turns_off_the_default_client(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_opted_out: Callable[..., Telemetry],
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    write_dotenv(project / ".env", "DISABLE_FLOWISE_TELEMETRY=true\n")
    monkeypatch.chdir(project)

    client = run_opted_out(None)

    assert client.settings.dotenv_file == project / ".env"


@pytest.mark.parametrize("name", ["DO_NOT_TRACK", "do_not_track"])
def test_do_not_track_in_environment_sends_nothing(
    name: str, flowkit_home: Path, tmp_path: Path, run_opted_out: Callable[..., Telemetry]
) -> None:
    settings = TelemetrySettings.from_env(
        environ=env(flowkit_home, **{name: "1"}), dotenv_path=tmp_path / "absent.env"
    )

    client = run_opted_out(settings)

    assert client.settings.disabled_by == f"{name}=1 in environment"


def test_do_not_track_in_dotenv_sends_nothing(
    flowkit_home: Path, tmp_path: Path, run_opted_out: Callable[..., Telemetry]
) -> None:
    dotenv = write_dotenv(tmp_path / ".env", "DO_NOT_TRACK=1\n")

    run_opted_out(TelemetrySettings.from_env(environ=env(flowkit_home), dotenv_path=dotenv))


def test_environment_false_and_dotenv_true_is_off(
    flowkit_home: Path, tmp_path: Path, run_opted_out: Callable[..., Telemetry]
) -> None:
    dotenv = write_dotenv(tmp_path / ".env", "DISABLE_FLOWISE_TELEMETRY=true\n")

    settings = TelemetrySettings.from_env(
        environ=env(flowkit_home, DISABLE_FLOWISE_TELEMETRY="false"), dotenv_path=dotenv
    )
    client = run_opted_out(settings)

    assert str(dotenv) in (client.settings.disabled_by or "")


def test_environment_true_and_dotenv_false_is_off(
    flowkit_home: Path, tmp_path: Path, run_opted_out: Callable[..., Telemetry]
) -> None:
    dotenv = write_dotenv(tmp_path / ".env", "DISABLE_FLOWISE_TELEMETRY=false\n")

    run_opted_out(
        TelemetrySettings.from_env(
            environ=env(flowkit_home, DISABLE_FLOWISE_TELEMETRY="true"), dotenv_path=dotenv
        )
    )


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes", "on", "anything", " True "])
def test_any_value_but_a_falsy_one_opts_out(
    value: str, flowkit_home: Path, tmp_path: Path, run_opted_out: Callable[..., Telemetry]
) -> None:
    run_opted_out(
        TelemetrySettings.from_env(
            environ=env(flowkit_home, DISABLE_FLOWISE_TELEMETRY=value),
            dotenv_path=tmp_path / "absent.env",
        )
    )


def test_opted_out_client_opens_no_socket_even_with_a_posthog_key(
    flowkit_home: Path, tmp_path: Path, run_opted_out: Callable[..., Telemetry]
) -> None:
    with FakePostHog() as server:
        settings = TelemetrySettings.from_env(
            environ=env(
                flowkit_home,
                DO_NOT_TRACK="1",
                POSTHOG_PUBLIC_API_KEY="phc_test",
                POSTHOG_HOST=server.url,
            ),
            dotenv_path=tmp_path / "absent.env",
        )

        run_opted_out(settings)

        assert server.connection_count == 0
        assert server.requests == 0


def test_opted_out_settings_win_over_an_explicit_sink(
    flowkit_home: Path, run_opted_out: Callable[..., Telemetry]
) -> None:
    settings = TelemetrySettings(home=flowkit_home, enabled=False, disabled_by="test")

    client = run_opted_out(settings)

    assert "disabled" in repr(client)


def test_falsy_values_leave_telemetry_on(flowkit_home: Path, tmp_path: Path) -> None:
    dotenv = write_dotenv(tmp_path / ".env", "DISABLE_FLOWISE_TELEMETRY=no\nDO_NOT_TRACK=0\n")
    settings = TelemetrySettings.from_env(
        environ=env(flowkit_home, DISABLE_FLOWISE_TELEMETRY="false", DO_NOT_TRACK="off"),
        dotenv_path=dotenv,
    )
    sink = MemorySink()
    client = Telemetry(sink=sink, settings=settings, synchronous=True)

    with client:
        operate()
    client.shutdown()

    assert client.enabled
    assert len(sink.events) == 5


INSTALL_AND_OPERATE = """
import dataclasses, json, threading
import flowkit.telemetry
from flowkit import signals
from flowkit.model import Assistant, Tool
from flowkit.runtime import retrieval_demo_flow
from flowkit.workspace import Workspace

calls = []
def listen(sender, **kwargs):
    calls.append(1)
for signal in signals.SIGNALS:
    signal.connect(listen)

client = flowkit.telemetry.install()
workspace = Workspace(strict_signals=True)
flow = workspace.create_chatflow(retrieval_demo_flow("Paris is the capital of France."))
workspace.upsert_vector(flow)
workspace.predict(flow, "What is the capital of France?")
workspace.create_tool(Tool(name="lookup"))
workspace.create_assistant(Assistant())
print(json.dumps({
    "enabled": client.enabled,
    "connected": client.connected,
    "threads": sorted(t.name for t in threading.enumerate()),
    "stats": dataclasses.asdict(client.stats),
    "calls": len(calls),
}))
"""


@pytest.mark.parametrize("where", ["environment", "lowercase environment", "dotenv"])
def test_installed_client_in_an_opted_out_process_leaves_no_trace(
    where: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"  # does not exist: nothing may create it
    workdir = tmp_path / "project"
    workdir.mkdir()
    script = tmp_path / "operate.py"
    script.write_text(INSTALL_AND_OPERATE, encoding="utf-8")
    env = clean_environ()
    env["FLOWKIT_HOME"] = str(home)
    if where == "environment":
        env["DISABLE_FLOWISE_TELEMETRY"] = "true"
    elif where == "lowercase environment":
        env["do_not_track"] = "1"
    else:
        (workdir / ".env").write_text("DO_NOT_TRACK=1\n", encoding="utf-8")

    with FakePostHog() as server:
        env["POSTHOG_PUBLIC_API_KEY"] = "phc_test"
        env["POSTHOG_HOST"] = server.url
        result = subprocess.run(
            [sys.executable, str(script)],
            env=env,
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        connections = server.connection_count

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["enabled"] is False
    assert report["connected"] is False
    assert THREAD_NAME not in report["threads"]
    assert set(report["stats"].values()) == {0}
    assert report["calls"] == 5
    assert not home.exists()
    assert connections == 0
