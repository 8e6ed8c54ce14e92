"""A typed client of a Flowise server's REST API (extra ``flowise``, on httpx).

:class:`FlowiseClient` blocks; :class:`AsyncFlowiseClient` is its async twin. Both take the
server's address and API key as arguments or from ``FLOWISE_URL`` / ``FLOWISE_API_KEY``.
Importing this package does not import httpx; creating a client does.
"""

from __future__ import annotations

from flowkit.client.asyncio import AsyncFlowiseClient
from flowkit.client.records import NO_CREDENTIAL, Credential, FileUpload, Variable
from flowkit.client.sync import FlowiseClient

__all__ = [
    "NO_CREDENTIAL",
    "AsyncFlowiseClient",
    "Credential",
    "FileUpload",
    "FlowiseClient",
    "Variable",
]
