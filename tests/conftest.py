"""Shared fixtures: an isolated environment for every test, and the Flowise marketplace.

Isolation is driven by :data:`flowkit.environment.ENVIRONMENT_VARIABLES` (and its
prefixes): the library's own list of what it reads, so a variable added there is cleared
here without anyone editing a test.

The marketplace exports: all 24 chatflows and 13 tools are vendored in ``tests/data/flowise``
(Apache-2.0, see its NOTICE) and always run; any export the team's copy beside the
repository (``../shared/flowise-marketplace``) holds beyond them is added when present.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from flowkit import signals
from flowkit.environment import flowkit_variables

VENDORED = Path(__file__).resolve().parent / "data" / "flowise"
"""The Flowise marketplace exports vendored with the tests (``chatflows/``, ``tools/``)."""

MARKETPLACE = Path(__file__).resolve().parents[1].parent / "shared" / "flowise-marketplace"
"""Where the full collection of Flowise marketplace exports is, when it is there at all."""

# Hypothesis's defaults time every example (a 200 ms deadline, a "too slow" health check):
# absolute times, which this shared, noisy machine and CI's cannot promise. Property tests
# judge what the code does, never how long it took; speed lives in benchmarks/. Tests that
# set their own settings keep them, on top of these.
settings.register_profile("flowkit", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("flowkit")


def clean_environ(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return ``environ`` (default: ``os.environ``) without any variable flowkit reads: the
    environment for a subprocess that must not see the developer's settings."""
    env = dict(os.environ if environ is None else environ)
    for name in flowkit_variables(list(env)):
        del env[name]
    return env


@pytest.fixture(autouse=True)
def flowkit_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Clear every variable flowkit reads and point ``FLOWKIT_HOME`` at an empty folder of
    the test's own, so that no test reads or writes the developer's real settings.

    The folder is not inside ``tmp_path``, which stays empty for the test itself.

    :returns: the ``FLOWKIT_HOME`` folder (it exists and is empty).
    """
    for name in flowkit_variables(list(os.environ)):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("flowkit_home")
    monkeypatch.setenv("FLOWKIT_HOME", str(home))
    return home


def marketplace_files(kind: str) -> list[Path]:
    """Return the marketplace ``*.json`` files of ``kind``, sorted by name: every vendored
    one, and those of the full collection when it is present (a vendored file wins over a
    copy of the same name).

    :param kind: ``"chatflows"`` or ``"tools"``.
    :returns: never empty.
    """
    found = {path.name: path for path in (VENDORED / kind).glob("*.json")}
    folder = MARKETPLACE / kind
    if folder.is_dir():
        for path in folder.glob("*.json"):
            found.setdefault(path.name, path)
    return [found[name] for name in sorted(found)]


@pytest.fixture
def marketplace() -> Path:
    """The full marketplace folder when present, else the vendored one (both hold
    ``chatflows/`` and ``tools/``)."""
    return MARKETPLACE if MARKETPLACE.is_dir() else VENDORED


@pytest.fixture
def marketplace_chatflows() -> list[Path]:
    """Every marketplace chatflow file (vendored, plus the full collection when present)."""
    return marketplace_files("chatflows")


@pytest.fixture
def marketplace_tools() -> list[Path]:
    """Every marketplace tool file (vendored, plus the full collection when present)."""
    return marketplace_files("tools")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run a test that takes ``marketplace_chatflow`` or ``marketplace_tool`` once per file
    (the test id is the file's stem)."""
    for argument, kind in (("marketplace_chatflow", "chatflows"), ("marketplace_tool", "tools")):
        if argument in metafunc.fixturenames:
            files = marketplace_files(kind)
            metafunc.parametrize(argument, [pytest.param(p, id=p.stem) for p in files])


@pytest.fixture
def no_receiver_left_behind() -> Iterator[None]:
    """Fail a test that leaves a receiver connected to any flowkit signal (use it with
    ``pytestmark = pytest.mark.usefixtures("no_receiver_left_behind")``)."""
    before = {s.name: set(s.receivers) for s in signals.SIGNALS}
    yield
    after = {s.name: set(s.receivers) for s in signals.SIGNALS}
    assert after == before, "a receiver was left connected"
