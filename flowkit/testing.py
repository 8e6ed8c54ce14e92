"""The pytest plugin for telemetry payload tests: ``telemetry_events``,
:func:`assert_valid_event`, and no real telemetry from a test run.

pytest loads this module through flowkit's ``pytest11`` entry point wherever flowkit is
installed. Loading it reads no ``.env``, writes no file, starts no thread and connects no
signal. While it is loaded, :func:`flowkit.telemetry.install` called by application code
returns a disabled client: a test suite never sends real telemetry (as pytest-httpx blocks
real requests). A test that wants real delivery opts in with the ``real_telemetry``
fixture or the ``flowkit_real_telemetry`` marker. Only a test that asks for the
``telemetry_events`` fixture gets a recording telemetry client, and only for that test::

    from flowkit import Workspace
    from flowkit.runtime import retrieval_demo_flow
    from flowkit.testing import assert_valid_event

    def test_prediction_payload(telemetry_events):
        workspace = Workspace()
        flow = workspace.create_chatflow(retrieval_demo_flow("Some text."))
        workspace.predict(flow, "What is it?")

        assert telemetry_events.names() == ["chatflow_created", "prediction_sent"]
        sent = telemetry_events.last("prediction_sent")
        assert sent.properties["flowGraph"]["nodes"] == [n.id for n in flow.nodes]
        assert_valid_event(sent)
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from flowkit.telemetry import MemorySink, Telemetry, TelemetryEvent

__all__ = ["TelemetryCapture", "assert_valid_event", "real_telemetry_blocked"]

BLOCKED = (
    "flowkit's pytest plugin blocks real telemetry during tests; use the real_telemetry "
    "fixture or @pytest.mark.flowkit_real_telemetry to opt in"
)
_real_allowed = 0  # tests running now that opted in to real delivery


def real_telemetry_blocked() -> str | None:
    """Say why :func:`flowkit.telemetry.install` gives a disabled client now, or None when
    the running test opted in to real delivery."""
    return None if _real_allowed else BLOCKED


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``flowkit_real_telemetry`` marker."""
    config.addinivalue_line(
        "markers",
        "flowkit_real_telemetry: let flowkit.telemetry.install() deliver for real in this test",
    )


@contextlib.contextmanager
def _real_delivery() -> Iterator[None]:
    """Lift the block; afterwards, shut down and forget a client installed meanwhile, so
    that it records nothing of the tests that did not opt in."""
    global _real_allowed
    from flowkit.telemetry import client

    before = client._installed
    _real_allowed += 1
    try:
        yield
    finally:
        _real_allowed -= 1
        made = client._installed
        if made is not before and made is not None and not _real_allowed:
            made.shutdown(timeout=made.exit_timeout)
            client._installed = before


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Lift the block for a test marked ``flowkit_real_telemetry``."""
    if item.get_closest_marker("flowkit_real_telemetry") is None:
        return (yield)
    with _real_delivery():
        return (yield)


@pytest.fixture
def real_telemetry() -> Iterator[None]:
    """Let :func:`flowkit.telemetry.install` deliver for real during this test (the plugin
    blocks it otherwise). A client installed during the test is flushed, shut down and
    forgotten after it, so later tests stay blocked."""
    with _real_delivery():
        yield


_WIRE_ENVELOPE: tuple[str, ...] = ("event", "distinctId", "properties", "timestamp", "uuid")
"""The keys of an event as delivered (:meth:`TelemetryEvent.to_wire`), in order."""

_GRAPH_KEYS = ["nodes", "edges"]
_EDGE_KEYS = ["source", "target"]
# (event name, profile) -> its JSON Schema validator, made on first use
_validators: dict[tuple[str, str], Any] = {}


# ---- assert_valid_event ---------------------------------------------------------------------


def assert_valid_event(
    event: TelemetryEvent | Mapping[str, Any], profile: str | None = None
) -> None:
    """Assert that an event's ``properties`` are exactly what the contract allows.

    Checks the keys and their order against the contract (:func:`flowkit.telemetry.wire_keys`,
    and ``nodes``, ``edges``, ``source``, ``target`` inside ``flowGraph``), then the values
    against the event's JSON Schema (:func:`flowkit.telemetry.json_schema`). Every problem is
    reported at once, one line each, naming the key at fault and what was expected, e.g.
    ``prediction_sent: property 3 is 'type', expected 'chatId'``.

    :param event: a :class:`~flowkit.telemetry.TelemetryEvent`, a wire dict as
        :meth:`~flowkit.telemetry.TelemetryEvent.to_wire` gives it (whose envelope keys are
        checked too), or an ``{"event": ..., "properties": ...}`` dict.
    :param profile: the wire profile, ``"flowise-1"`` or ``"flowise-3"`` (default: the
        profile whose keys the event has, else ``"flowise-1"``).
    :raises AssertionError: when the event is unknown, or a key or value breaks the contract.
    :raises FlowkitError: when ``jsonschema`` is not installed
        (``pip install 'flowkit[testing]'``).
    """
    __tracebackhide__ = True
    name, properties, problems = _unpack(event)
    profile = _profile(name, properties, profile)
    problems += _key_problems(name, properties, profile)
    problems += _schema_problems(name, properties, profile)
    if problems:
        from flowkit.telemetry import wire_keys

        keys = ", ".join(wire_keys(name, profile))  # type: ignore[arg-type]
        lines = [f"{name}: {problem}" for problem in problems]
        contract = "contract's" if profile == "flowise-1" else f"{profile} contract's"
        lines.append(f"(the {contract} keys of {name}, in order: {keys})")
        raise AssertionError("\n".join(lines))


def _profile(name: str, properties: Mapping[str, Any], profile: str | None) -> str:
    """The profile asked for (checked), or the one whose keys ``properties`` has."""
    __tracebackhide__ = True
    from flowkit.telemetry import PROFILES, wire_keys

    if profile is not None:
        if profile not in PROFILES:
            raise AssertionError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
        return profile
    keys = list(properties)
    return next((p for p in PROFILES if wire_keys(name, p) == keys), PROFILES[0])


def _unpack(event: object) -> tuple[str, Mapping[str, Any], list[str]]:
    """The event's name and properties, and any problem with its envelope."""
    __tracebackhide__ = True
    from flowkit.telemetry import EVENTS

    problems: list[str] = []
    if isinstance(event, Mapping):
        if "event" not in event or "properties" not in event:
            raise AssertionError(
                "expected a TelemetryEvent or a wire dict with 'event' and 'properties', "
                f"got a dict with keys {list(event)}"
            )
        keys = list(event)
        if keys != ["event", "properties"]:
            problems += _order_problems(keys, _WIRE_ENVELOPE, "envelope key", "envelope key")
        name, properties = event["event"], event["properties"]
    elif hasattr(event, "event") and hasattr(event, "properties"):
        name, properties = event.event, event.properties
    else:
        raise AssertionError(
            f"expected a TelemetryEvent or a wire dict, got {type(event).__name__}: {event!r}"
        )
    if not isinstance(name, str) or name not in EVENTS:
        raise AssertionError(f"unknown event {name!r}; flowkit's events are: {', '.join(EVENTS)}")
    if not isinstance(properties, Mapping):
        raise AssertionError(f"{name}: properties must be a dict, got {type(properties).__name__}")
    return name, properties, problems


def _order_problems(
    actual: Sequence[object], expected: Sequence[str], key: str = "key", position: str = "key"
) -> list[str]:
    """Say which keys are extra, which are missing, or else the first one out of place.

    :param key: how to call a key in "unexpected/missing ..." (``"key"``, ``"envelope key"``).
    :param position: how to call a numbered place (``"property"`` gives ``property 3 is ...``).
    """
    unexpected = [f"unexpected {key} {name!r}" for name in actual if name not in expected]
    missing = [f"missing {key} {name!r}" for name in expected if name not in actual]
    if unexpected or missing:
        return unexpected + missing
    for place, (got, wanted) in enumerate(zip(actual, expected, strict=False), start=1):
        if got != wanted:
            return [f"{position} {place} is {got!r}, expected {wanted!r}"]
    return []


def _key_problems(name: str, properties: Mapping[str, Any], profile: str) -> list[str]:
    from flowkit.telemetry import wire_keys

    expected = wire_keys(name, profile)  # type: ignore[arg-type]
    problems = _order_problems(list(properties), expected, position="property")
    graph = properties.get("flowGraph")
    if isinstance(graph, Mapping):
        problems += [f"flowGraph: {p}" for p in _order_problems(list(graph), _GRAPH_KEYS)]
        edges = graph.get("edges")
        if isinstance(edges, list):
            for index, edge in enumerate(edges):
                if isinstance(edge, Mapping):
                    problems += [
                        f"flowGraph.edges[{index}]: {p}"
                        for p in _order_problems(list(edge), _EDGE_KEYS)
                    ]
    return problems


def _schema_problems(name: str, properties: Mapping[str, Any], profile: str) -> list[str]:
    try:  # imported by name: a dev dependency, untyped, and needed only here
        jsonschema = importlib.import_module("jsonschema")
    except ImportError as exc:
        from flowkit.errors import FlowkitError

        raise FlowkitError(
            "assert_valid_event needs jsonschema to check values: pip install 'flowkit[testing]'"
        ) from exc
    from flowkit.telemetry import json_schema

    validator = _validators.get((name, profile))
    if validator is None:
        schema = json_schema(name, profile)  # type: ignore[arg-type]
        validator = _validators[(name, profile)] = jsonschema.Draft202012Validator(schema)
    errors = validator.iter_errors(dict(properties))
    problems = []
    for error in sorted(errors, key=lambda e: [str(part) for part in e.path]):
        if error.validator in ("additionalProperties", "required"):
            continue  # said key by key already, by the key checks, at every level
        where = ".".join(str(part) for part in error.path)
        problems.append(f"{where or 'properties'}: {error.message}")
    return problems


# ---- the capture and the fixture ----------------------------------------------------------


class TelemetryCapture:
    """The telemetry events recorded during one test, in the order they happened.

    Iterating gives :class:`~flowkit.telemetry.TelemetryEvent` objects; ``len()`` counts
    them. Events are recorded synchronously: an operation's event is here as soon as the
    operation returns.

    :param sink: the memory sink the fixture's client delivers to.
    :param telemetry: the fixture's client (connected for the test's duration).
    """

    def __init__(self, sink: MemorySink, telemetry: Telemetry) -> None:
        self._sink = sink
        self.telemetry = telemetry
        """The connected :class:`~flowkit.telemetry.Telemetry` client (``stats`` etc.)."""
        self.profile: str = telemetry.profile
        """The wire profile the events are recorded in (the ``telemetry_profile`` fixture)."""

    @property
    def events(self) -> list[TelemetryEvent]:
        """A copy of the events recorded so far."""
        return list(self._sink.events)

    def __iter__(self) -> Iterator[TelemetryEvent]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self._sink.events)

    def __repr__(self) -> str:
        return f"<TelemetryCapture {self.names()}>"

    def names(self) -> list[str]:
        """Return the names of the events recorded so far, in order (repeats kept)."""
        return [event.event for event in self._sink.events]

    def of(self, name: str) -> list[TelemetryEvent]:
        """Return the recorded events named ``name``, in order.

        :raises AssertionError: when ``name`` is not one of flowkit's events (a typo).
        """
        __tracebackhide__ = True
        _check_name(name)
        return [event for event in self._sink.events if event.event == name]

    def last(self, name: str | None = None) -> TelemetryEvent:
        """Return the last recorded event, or the last one named ``name``.

        :raises AssertionError: when there is none (the message lists what was recorded),
            or when ``name`` is not one of flowkit's events.
        """
        __tracebackhide__ = True
        found = self.of(name) if name is not None else self.events
        if found:
            return found[-1]
        names = self.names()
        if name is None:
            wanted = "no telemetry event was captured"
        elif names:
            wanted = f"no {name!r} event was captured (captured: {', '.join(names)})"
        else:
            wanted = f"no {name!r} event was captured (no event at all)"
        hint = (
            "events are recorded when a Workspace saves a chatflow, tool or assistant, "
            "upserts or predicts during the test"
        )
        failed = self.telemetry.stats.failed
        if failed:
            hint += f"; {failed} events could not be built (see the flowkit.telemetry log)"
        raise AssertionError(f"{wanted}; {hint}")

    def clear(self) -> None:
        """Forget the events recorded so far (later ones are still recorded)."""
        self._sink.clear()

    def assert_all_valid(self) -> None:
        """Run :func:`assert_valid_event` on every recorded event.

        :raises AssertionError: for the first invalid event, naming its position.
        """
        __tracebackhide__ = True
        for position, event in enumerate(self.events, start=1):
            try:
                assert_valid_event(event, self.profile)
            except AssertionError as exc:
                raise AssertionError(f"event {position} of {len(self)}: {exc}") from None


def _check_name(name: object) -> None:
    __tracebackhide__ = True
    from flowkit.telemetry import EVENTS

    if name not in EVENTS:
        raise AssertionError(f"unknown event {name!r}; flowkit's events are: {', '.join(EVENTS)}")


@pytest.fixture
def telemetry_profile() -> str:
    """The wire profile ``telemetry_events`` records in: ``"flowise-1"``. Override it (a
    fixture of the same name, or ``@pytest.mark.parametrize("telemetry_profile",
    ["flowise-1", "flowise-3"])``) to test Flowise 3's shapes."""
    return "flowise-1"


@pytest.fixture
def telemetry_events(
    tmp_path_factory: pytest.TempPathFactory, telemetry_profile: str
) -> Iterator[TelemetryCapture]:
    """Record the telemetry events of one test, in memory, in the ``telemetry_profile``.

    Connects a :class:`~flowkit.telemetry.Telemetry` client to the signals for the test's
    duration, delivering synchronously to a :class:`~flowkit.telemetry.MemorySink`. It is
    isolated from the user's environment: its settings are explicit (a fresh temporary
    ``FLOWKIT_HOME``, enabled), so no ``.env`` is read, ``DISABLE_FLOWISE_TELEMETRY`` and
    ``DO_NOT_TRACK`` are ignored, and nothing leaves the process (no file but the instance
    id in that temporary home, no socket, no thread). After the test the client is
    disconnected and shut down: later signals are not recorded.

    :returns: the :class:`TelemetryCapture` of the test's events.
    """
    from flowkit.telemetry import MemorySink, Telemetry, TelemetrySettings
    from flowkit.telemetry.events import check_profile

    home = tmp_path_factory.mktemp("flowkit_home")
    sink = MemorySink()
    telemetry = Telemetry(
        sink=sink,
        settings=TelemetrySettings(home=home, enabled=True),
        profile=check_profile(telemetry_profile),
        synchronous=True,
    )
    telemetry.connect()
    try:
        yield TelemetryCapture(sink, telemetry)
    finally:
        telemetry.shutdown(timeout=1.0)
