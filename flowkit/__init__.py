"""flowkit: Flowise-style flow graphs, signals and Flowise-exact anonymized telemetry."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from flowkit.errors import ComponentError, DeliveryError, FlowkitError, FlowValidationError

try:
    __version__ = version("flowkit")
except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
    __version__ = "0+unknown"

__all__ = [
    "ComponentError",
    "DeliveryError",
    "FlowValidationError",
    "FlowkitError",
    "__version__",
]
