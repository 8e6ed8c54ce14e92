"""The :class:`Telemetry` client: it assembles the one-way pipeline and subscribes it.

recorder (caller's thread) -> queue -> builder -> batcher -> sink -> outbox (background).
Nothing here raises into the caller or prints: problems go to the ``flowkit.telemetry``
logger.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from flowkit.errors import FlowkitError
from flowkit.telemetry.builder import Builder
from flowkit.telemetry.events import Profile, check_profile
from flowkit.telemetry.identity import Identity
from flowkit.telemetry.options import TelemetryOptions
from flowkit.telemetry.outbox import Outbox
from flowkit.telemetry.pipeline import Pipeline, TelemetryStats
from flowkit.telemetry.recorder import Recorder
from flowkit.telemetry.settings import TelemetrySettings
from flowkit.telemetry.sinks import JsonlSink, LoggingSink, PostHogSink, Sink

__all__ = ["Telemetry", "install", "installed"]

logger = logging.getLogger("flowkit.telemetry")


class Telemetry:
    """Turns flowkit's signals into Flowise-exact, anonymized telemetry events.

    An opted-out client (``settings.enabled`` False) sends nothing whatever its sink: it
    subscribes to nothing, starts no thread, writes no file, opens no socket and makes no
    instance id. Other listeners of the signals still work.

    :param sink: where events go (default: ``FLOWKIT_TELEMETRY_SINK`` when set, else
        PostHog when ``POSTHOG_PUBLIC_API_KEY`` is set, else a JSON-lines file).
    :param settings: the settings (default: :meth:`TelemetrySettings.from_env`).
    :param version: the ``version`` sent with every event (default: flowkit's own).
    :param profile: the wire profile, ``"flowise-1"`` or ``"flowise-3"`` (default:
        ``FLOWKIT_TELEMETRY_PROFILE``, else ``"flowise-1"``).
    :param max_queue_size: events the queue holds before new ones are dropped (counted).
    :param batch_size: events per delivered batch at most.
    :param flush_interval: seconds a partial batch waits for more events.
    :param max_backoff: the longest backoff between two tries of a batch, in seconds; a
        longer ``Retry-After`` asked by the receiver is still honoured.
    :param exit_timeout: seconds the exit flush may take before the rest goes to the outbox
        (default: ``FLOWKIT_TELEMETRY_EXIT_SECONDS``, else 5).
    :param synchronous: deliver on the caller's thread, with no background thread, no
        retry and no outbox (for tests; the pytest fixture uses it).
    :raises FlowkitError: when ``profile`` is unknown, or the sink chosen by
        ``FLOWKIT_TELEMETRY_SINK`` cannot be made (``otel`` without ``flowkit[otel]``).
    """

    def __init__(
        self,
        sink: Sink | None = None,
        settings: TelemetrySettings | None = None,
        version: str | None = None,
        *,
        profile: Profile | None = None,
        max_queue_size: int = 250_000,
        batch_size: int = 500,
        flush_interval: float = 0.5,
        max_backoff: float = 30.0,
        exit_timeout: float | None = None,
        synchronous: bool = False,
    ) -> None:
        self.settings = settings if settings is not None else TelemetrySettings.from_env()
        options = TelemetryOptions.from_env()
        self.profile: Profile = check_profile(profile if profile is not None else options.profile)
        if version is None:
            from flowkit import __version__

            version = __version__
        self.version: str = version
        self._sink = sink
        self._options = options
        self._pipeline: Pipeline | None = None
        self._recorder: Recorder | None = None
        if self.settings.enabled:
            if sink is None and options.sink == "otel":
                _check_otel()
            identity = Identity(self.settings.home, options.organization_id)
            self._pipeline = Pipeline(
                sink_factory=self._make_sink,
                builder=Builder(version, self.profile, identity),
                outbox=None
                if synchronous
                else Outbox(self.settings.outbox_path, options.outbox_max_bytes),
                max_queue_size=max_queue_size,
                batch_size=batch_size,
                flush_interval=flush_interval,
                max_backoff=max_backoff,
                exit_timeout=options.exit_seconds if exit_timeout is None else exit_timeout,
                synchronous=synchronous,
            )
            self._recorder = Recorder(self._pipeline.put)

    def __repr__(self) -> str:
        state = "enabled" if self.enabled else f"disabled ({self.settings.disabled_by})"
        return (
            f"<Telemetry {self.profile} {state}, "
            f"{'connected' if self.connected else 'not connected'}>"
        )

    @property
    def enabled(self) -> bool:
        """Whether this client sends anything at all."""
        return self._pipeline is not None

    @property
    def connected(self) -> bool:
        """Whether this client is subscribed to the signals."""
        return self._recorder is not None and self._recorder.connected

    @property
    def stats(self) -> TelemetryStats:
        """The counters now (all zero when disabled)."""
        return self._pipeline.stats if self._pipeline is not None else TelemetryStats()

    @property
    def exit_timeout(self) -> float:
        """Seconds the exit flush may take (``FLOWKIT_TELEMETRY_EXIT_SECONDS``, default 5)."""
        if self._pipeline is not None:
            return self._pipeline.exit_timeout
        return self._options.exit_seconds

    def connect(self) -> Telemetry:
        """Subscribe to the telemetry events' signals (held strongly). A no-op when disabled
        or connected. When an earlier process left undelivered events in the outbox,
        delivery starts now and sends them first.

        :returns: this client.
        """
        if self._recorder is not None and self._pipeline is not None and not self.connected:
            self._recorder.connect()
            try:
                outbox = self._pipeline.outbox
                if outbox is not None and outbox.pending():
                    self._pipeline.start()
            except Exception:
                logger.exception("telemetry could not check its outbox")
        return self

    def disconnect(self) -> None:
        """Unsubscribe from the signals; queued events are still delivered."""
        if self._recorder is not None:
            self._recorder.disconnect()

    def __enter__(self) -> Telemetry:
        return self.connect()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.disconnect()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event recorded so far, and what an earlier process left in the
        outbox, was delivered.

        :param timeout: seconds to wait at most (None: as long as it takes).
        :returns: True when all of it was delivered (always True when disabled).
        """
        return self._pipeline.flush(timeout) if self._pipeline is not None else True

    def shutdown(self, timeout: float | None = 5.0) -> None:
        """Disconnect, flush for up to ``timeout`` seconds, stop the thread, and keep what is
        still undelivered in the outbox for the next process."""
        self.disconnect()
        if self._pipeline is not None:
            self._pipeline.shutdown(timeout)

    def _make_sink(self) -> Sink:
        """Make the sink (on the background thread, when delivery starts)."""
        if self._sink is not None:
            return self._sink
        settings, kind = self.settings, self._options.sink
        if kind == "otel":
            module = importlib.import_module("flowkit.telemetry.otel_sink")
            sink: Sink = module.OTelLogSink()
            return sink
        if kind == "log":
            return LoggingSink()
        if kind == "file":
            target = settings.telemetry_file or settings.home / "telemetry.jsonl"
            return JsonlSink(target)
        if settings.posthog_api_key and kind in (None, "posthog"):
            try:
                return PostHogSink(settings.posthog_api_key, settings.posthog_host)
            except Exception as exc:
                fallback = settings.home / "telemetry.jsonl"
                logger.warning("PostHog sink unavailable (%s); recording to %s", exc, fallback)
                return JsonlSink(fallback)
        if kind == "posthog":
            logger.warning(
                "FLOWKIT_TELEMETRY_SINK=posthog needs POSTHOG_PUBLIC_API_KEY; recording to a file"
            )
        return JsonlSink(settings.destination.target)


def _check_otel() -> None:
    try:
        found = importlib.util.find_spec("flowkit.telemetry.otel_sink") is not None
        found = found and importlib.util.find_spec("opentelemetry.sdk") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise FlowkitError(
            "FLOWKIT_TELEMETRY_SINK=otel needs the OpenTelemetry extra: pip install 'flowkit[otel]'"
        )


_install_lock = threading.Lock()
_installed: Telemetry | None = None


def _blocked_by_tests() -> str | None:
    """Why real delivery is blocked in this process (flowkit's pytest plugin), or None."""
    plugin = sys.modules.get("flowkit.testing")
    blocked = getattr(plugin, "real_telemetry_blocked", None)
    reason = blocked() if callable(blocked) else None
    return reason if isinstance(reason, str) else None


def install(**options: Any) -> Telemetry:
    """Build a :class:`Telemetry` from the environment, connect it, and return it; once per
    process (later calls return the same client, ignoring ``options``).

    The exit flush is registered with its background thread, on the first event. When
    telemetry is opted out, the client is a disabled no-op. While flowkit's pytest plugin is
    loaded, the client returned is a disabled no-op too (the ``telemetry_events`` fixture
    still records every event), unless the test opted in to real delivery. Never raises:
    should building the client fail, the failure is logged and a disabled client returned.

    :param options: keyword arguments for :class:`Telemetry` (first call only).
    """
    global _installed
    blocked = _blocked_by_tests()
    if blocked is not None:
        return _disabled(blocked)
    with _install_lock:
        if _installed is None:
            try:
                _installed = Telemetry(**options).connect()
            except Exception:
                logger.exception("telemetry could not be installed; it stays off")
                _installed = _disabled("telemetry could not be installed (see the log)")
        return _installed


def _disabled(reason: str) -> Telemetry:
    off = TelemetrySettings(home=Path("~/.flowkit").expanduser(), enabled=False, disabled_by=reason)
    return Telemetry(settings=off)


def installed() -> Telemetry | None:
    """Return the client :func:`install` made in this process, if any."""
    return _installed
