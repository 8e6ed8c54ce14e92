"""Shared fixtures: an isolated environment for every test, and the Flowise marketplace.

The marketplace exports live beside the repository (``../shared/flowise-marketplace``) on
the team's machines and not in a user's fresh clone, so every test that needs them is
skipped, with the reason, when the folder is absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flowkit import signals

MARKETPLACE = Path(__file__).resolve().parents[1].parent / "shared" / "flowise-marketplace"
"""Where the Flowise marketplace exports are, when they are there at all."""

MARKETPLACE_ABSENT = (
    f"Flowise marketplace exports not found at {MARKETPLACE} "
    "(they sit beside the repository on the team's machines, not in a fresh clone)"
)

TELEMETRY_VARIABLES = (
    "DISABLE_FLOWISE_TELEMETRY",
    "DO_NOT_TRACK",
    "POSTHOG_PUBLIC_API_KEY",
    "POSTHOG_HOST",
    "FLOWKIT_TELEMETRY_FILE",
)
"""Variables of the developer's shell that must not leak into a test."""


@pytest.fixture(autouse=True)
def flowkit_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point ``FLOWKIT_HOME`` at an empty folder of the test's own and clear the telemetry
    variables, so that no test reads or writes the developer's real settings.

    The folder is not inside ``tmp_path``, which stays empty for the test itself.

    :returns: the ``FLOWKIT_HOME`` folder (it exists and is empty).
    """
    home = tmp_path_factory.mktemp("flowkit_home")
    monkeypatch.setenv("FLOWKIT_HOME", str(home))
    for name in TELEMETRY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return home


def marketplace_files(kind: str) -> list[Path]:
    """Return the ``*.json`` files of a marketplace folder, sorted by name.

    :param kind: ``"chatflows"`` or ``"tools"``.
    :returns: ``[]`` when the folder is absent.
    """
    folder = MARKETPLACE / kind
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def _files_or_skip(kind: str) -> list[Path]:
    files = marketplace_files(kind)
    if not files:
        pytest.skip(MARKETPLACE_ABSENT)
    return files


@pytest.fixture
def marketplace() -> Path:
    """The marketplace folder; the test is skipped when it is absent."""
    if not MARKETPLACE.is_dir():
        pytest.skip(MARKETPLACE_ABSENT)
    return MARKETPLACE


@pytest.fixture
def marketplace_chatflows() -> list[Path]:
    """Every marketplace chatflow file; the test is skipped when there are none."""
    return _files_or_skip("chatflows")


@pytest.fixture
def marketplace_tools() -> list[Path]:
    """Every marketplace tool file; the test is skipped when there are none."""
    return _files_or_skip("tools")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run a test that takes ``marketplace_chatflow`` or ``marketplace_tool`` once per file
    (the test id is the file's stem), or skip it with the reason when there are none."""
    for argument, kind in (("marketplace_chatflow", "chatflows"), ("marketplace_tool", "tools")):
        if argument not in metafunc.fixturenames:
            continue
        files = marketplace_files(kind)
        params = [pytest.param(path, id=path.stem) for path in files] or [
            pytest.param(None, id=f"no-{kind}", marks=pytest.mark.skip(reason=MARKETPLACE_ABSENT))
        ]
        metafunc.parametrize(argument, params)


@pytest.fixture
def no_receiver_left_behind() -> Iterator[None]:
    """Fail a test that leaves a receiver connected to any flowkit signal (use it with
    ``pytestmark = pytest.mark.usefixtures("no_receiver_left_behind")``)."""
    before = {s.name: set(s.receivers) for s in signals.SIGNALS}
    yield
    after = {s.name: set(s.receivers) for s in signals.SIGNALS}
    assert after == before, "a receiver was left connected"
