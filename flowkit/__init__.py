"""flowkit: Flowise-style flow graphs, signals and Flowise-exact anonymized telemetry.

Build a :class:`Chatflow` in code or load a Flowise export, save it in a :class:`Workspace`,
upsert documents and ask questions; every operation sends a blinker signal
(:mod:`flowkit.signals`) and :mod:`flowkit.telemetry` turns those into Flowise's
anonymized telemetry events. Importing flowkit reads no ``.env``, writes no file and
starts no thread.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from flowkit import signals
from flowkit.errors import (
    AlreadyExistsError,
    ArgumentTypeError,
    ComponentError,
    DeliveryError,
    FlowkitError,
    FlowValidationError,
    NotFoundError,
)
from flowkit.model import (
    Assistant,
    AssistantType,
    Chatflow,
    ChatType,
    Edge,
    FlowType,
    Node,
    Tool,
)
from flowkit.model.messages import ChatMessage, Upload
from flowkit.runtime import Document, Prediction, RunContext, UpsertResult, component
from flowkit.workspace import AsyncWorkspace, Workspace

try:
    __version__ = version("flowkit")
except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
    __version__ = "0+unknown"

__all__ = [
    "AlreadyExistsError",
    "ArgumentTypeError",
    "Assistant",
    "AssistantType",
    "AsyncWorkspace",
    "ChatMessage",
    "ChatType",
    "Chatflow",
    "ComponentError",
    "DeliveryError",
    "Document",
    "Edge",
    "FlowType",
    "FlowValidationError",
    "FlowkitError",
    "Node",
    "NotFoundError",
    "Prediction",
    "RunContext",
    "Tool",
    "Upload",
    "UpsertResult",
    "Workspace",
    "__version__",
    "component",
    "signals",
]
