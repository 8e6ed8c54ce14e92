"""``flowkit telemetry status``: whether telemetry is on, why, where events go and where
the instance id lives; reads the settings and creates nothing."""

from __future__ import annotations

import argparse
import importlib

from flowkit.cli.common import CommandError, Subparsers
from flowkit.metrics import status as metrics_status
from flowkit.telemetry.events import DEFAULT_PROFILE
from flowkit.telemetry.identity import peek_instance_id
from flowkit.telemetry.options import TelemetryOptions
from flowkit.telemetry.settings import OPT_OUT_VARIABLES, TelemetrySettings

__all__ = [
    "add_parser",
    "describe",
    "describe_profile",
    "effective_destination",
    "posthog_extra_installed",
    "telemetry_status",
]

_STATUS_HELP = """\
Say whether telemetry is on, which variable and source decided, where events go and where
the anonymous instance id lives (and its value when it exists), which wire profile events
take, and whether metrics and traces are on, as any program using flowkit
in this directory would see it. Reads the environment and the .env file found from the
working directory upward; creates no file and sends nothing.
"""


def add_parser(commands: Subparsers) -> None:
    """Add ``telemetry status`` to the ``flowkit`` command."""
    parser = commands.add_parser(
        "telemetry",
        help="telemetry settings (see 'flowkit telemetry status')",
        description="Inspect flowkit's telemetry settings.",
    )
    parser.set_defaults(handler=_no_subcommand)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    status = actions.add_parser(
        "status",
        help="whether telemetry is on, why, and where events go",
        description=_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status.set_defaults(handler=telemetry_status)


def _no_subcommand(args: argparse.Namespace) -> int:
    raise CommandError("choose a telemetry action: status (see 'flowkit telemetry --help')")


def posthog_extra_installed() -> bool:
    """Whether the ``posthog`` extra (``urllib3``) can be imported, as the PostHog sink
    needs it."""
    try:
        importlib.import_module("urllib3")
    except ImportError:
        return False
    return True


def effective_destination(
    settings: TelemetrySettings,
    options: TelemetryOptions | None = None,
    *,
    posthog_ready: bool | None = None,
) -> str:
    """Say in one line where events really go: the sink the telemetry client will make,
    with its fallbacks (a file when the PostHog extra is missing or the key is).

    :param settings: the telemetry settings.
    :param options: the pipeline's options (``FLOWKIT_TELEMETRY_SINK``; default: read from
        the environment).
    :param posthog_ready: whether the PostHog sink can be made (default: whether the
        ``posthog`` extra imports).
    """
    if not settings.enabled:
        return settings.describe_destination()
    kind = (options or TelemetryOptions.from_env()).sink
    default_file = settings.home / "telemetry.jsonl"
    if kind == "otel":
        return "OpenTelemetry logs at the OTEL_EXPORTER_OTLP_* endpoint (FLOWKIT_TELEMETRY_SINK)"
    if kind == "log":
        return "the Python logger 'flowkit.telemetry' (FLOWKIT_TELEMETRY_SINK=log)"
    if kind == "file":
        return f"local file {settings.telemetry_file or default_file} (FLOWKIT_TELEMETRY_SINK)"
    if settings.posthog_api_key and kind in (None, "posthog"):
        ready = posthog_extra_installed() if posthog_ready is None else posthog_ready
        if ready:
            return f"PostHog at {settings.posthog_host}"
        return (
            f"local file {default_file}: POSTHOG_PUBLIC_API_KEY is set but the PostHog extra "
            "is missing (pip install 'flowkit[posthog]' to send to PostHog)"
        )
    if kind == "posthog":
        return (
            f"local file {settings.destination.target}: FLOWKIT_TELEMETRY_SINK=posthog needs "
            "POSTHOG_PUBLIC_API_KEY"
        )
    return f"local file {settings.destination.target}"


def describe(
    settings: TelemetrySettings,
    options: TelemetryOptions | None = None,
    *,
    posthog_ready: bool | None = None,
) -> list[str]:
    """Return the status lines for ``settings``; reads the instance id without creating it.

    :param options: see :func:`effective_destination`.
    :param posthog_ready: see :func:`effective_destination`.
    """
    variables = " nor ".join(OPT_OUT_VARIABLES)
    dotenv = f".env file {settings.dotenv_file}" if settings.dotenv_file else "no .env file"
    if settings.enabled:
        lines = [
            "Telemetry: on",
            f"Decided by: neither {variables} is set to turn it off (environment, {dotenv})",
        ]
    else:
        lines = ["Telemetry: off", f"Decided by: {settings.disabled_by or 'disabled in code'}"]
    options = options or TelemetryOptions.from_env()
    lines.append(
        f"Events go to: {effective_destination(settings, options, posthog_ready=posthog_ready)}"
    )
    lines.append(f"Profile: {describe_profile(options)}")
    instance_id = peek_instance_id(settings.home)
    if instance_id is not None:
        lines.append(f"Instance id: {instance_id} (in {settings.instance_file})")
    elif settings.enabled:
        lines.append(
            f"Instance id: none yet; it is created in {settings.instance_file} "
            "when the first event is recorded"
        )
    else:
        lines.append(
            f"Instance id: none in {settings.instance_file}; none is created while telemetry is off"
        )
    if settings.enabled:
        lines.append("Turn it off with: DISABLE_FLOWISE_TELEMETRY=true (environment or .env)")
    return lines


def describe_profile(options: TelemetryOptions) -> str:
    """Say in one line which wire profile events take, and what their distinctId is."""
    if options.profile == DEFAULT_PROFILE:
        return (
            f"{options.profile} (Flowise 1.x shapes, the default; "
            "FLOWKIT_TELEMETRY_PROFILE=flowise-3 for Flowise 3's)"
        )
    who = (
        "the organization id from FLOWKIT_TELEMETRY_ORG_ID"
        if options.organization_id
        else "the instance id (FLOWKIT_TELEMETRY_ORG_ID is not set)"
    )
    return f"{options.profile} (FLOWKIT_TELEMETRY_PROFILE; distinctId is {who})"


def telemetry_status(args: argparse.Namespace) -> int:
    """``flowkit telemetry status``: print the status lines."""
    for line in describe(TelemetrySettings.from_env()):
        print(line)
    for name, state in metrics_status().items():  # "Metrics: ...", "Traces: ..."
        print(f"{name.capitalize()}: {state}")
    return 0
