"""While the plugin is loaded, application code's ``flowkit.telemetry.install()`` sends
nothing real; a test opts in with the ``real_telemetry`` fixture or the
``flowkit_real_telemetry`` marker. Inline sessions load the plugin through the entry point,
as a user's suite does, with a real (fake) PostHog server on 127.0.0.1 as the destination."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

try:
    from fake_posthog import FakePostHog  # tests/ is on sys.path (no tests/__init__.py)
except ImportError:  # pragma: no cover - tests/ became a package
    from tests.fake_posthog import FakePostHog

pytest_plugins = ["pytester"]

APP = """
import flowkit.telemetry
from flowkit import Workspace
from flowkit.runtime import retrieval_demo_flow

def application_code():
    telemetry = flowkit.telemetry.install()
    workspace = Workspace()
    flow = workspace.create_chatflow(retrieval_demo_flow("Some text."))
    workspace.predict(flow, "What is it?")
    telemetry.flush(5)
    return telemetry
"""


@pytest.fixture
def server(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePostHog]:
    with FakePostHog() as fake:
        monkeypatch.setenv("POSTHOG_PUBLIC_API_KEY", "phc_test")
        monkeypatch.setenv("POSTHOG_HOST", fake.url)
        monkeypatch.setenv("FLOWKIT_HOME", str(pytester.path / "home"))
        yield fake


def test_install_is_blocked_unless_a_test_opts_in(
    pytester: pytest.Pytester, server: FakePostHog
) -> None:
    pytester.makepyfile(
        "import pytest\n"
        + APP
        + """
def test_blocked():
    telemetry = application_code()
    assert not telemetry.enabled
    assert "real_telemetry" in telemetry.settings.disabled_by

def test_capture_still_records(telemetry_events):
    application_code()
    assert telemetry_events.names() == ["chatflow_created", "prediction_sent"]

def test_opted_in_by_fixture(real_telemetry):
    assert application_code().enabled

@pytest.mark.flowkit_real_telemetry
def test_opted_in_by_marker():
    assert application_code().enabled

def test_blocked_again_afterwards():
    assert not application_code().enabled
"""
    )

    result = pytester.runpytest("--strict-markers", "-p", "no:randomly")

    result.assert_outcomes(passed=5)
    assert server.wait_for_events(4)
    # Only the two opted-in tests delivered: two events each, through one installed client.
    assert sorted(e["event"] for e in server.events) == 2 * ["chatflow_created"] + 2 * [
        "prediction_sent"
    ]
    assert not (pytester.path / "home" / "telemetry.jsonl").exists()
