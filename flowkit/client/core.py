"""What :class:`~flowkit.client.FlowiseClient` and its async twin share: settings, the
description of one call (:class:`Call`), the retry policy, and the mapping of Flowise's
answers to results and errors. No I/O happens here; the twins only send and wait.
"""

from __future__ import annotations

import email.utils
import functools
import json
import os
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from flowkit.errors import (
    AuthenticationError,
    FlowiseAPIError,
    FlowkitError,
    NotFoundError,
    UnavailableError,
)

if TYPE_CHECKING:
    import httpx

__all__ = [
    "Call",
    "ClientSettings",
    "default_tls_context",
    "error_for",
    "error_from_message",
    "unavailable",
]

T = TypeVar("T")

API_PREFIX = "/api/v1"
_IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD"})
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_NOT_FOUND_TEXT = "not found"


@dataclass(frozen=True)
class Call(Generic[T]):
    """One REST call: what to send, and how to read the answer.

    :param method: the HTTP method.
    :param path: the path under ``/api/v1`` (``"/chatflows/<id>"``).
    :param parse: turns the answer's parsed JSON (or text, with ``text=True``) into the result.
    :param kind: the entity kind a miss is reported as (``"chatflow"``, ``"tool"``, ...).
    :param entity_id: the id a miss is reported for.
    :param missing_markers: words in a 500's message that mean "no such entity" on this
        route (Flowise answers some misses with a 500).
    :param retry: whether a failed attempt may be sent again (default: for GET, PUT, DELETE).
    """

    method: str
    path: str
    parse: Callable[[Any], T]
    params: dict[str, str] | None = None
    json: Any = None
    data: dict[str, str] | None = None
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None
    kind: str = ""
    entity_id: str = ""
    missing_markers: tuple[str, ...] = (_NOT_FOUND_TEXT,)
    text: bool = False
    retry: bool | None = None

    @property
    def retryable(self) -> bool:
        """Whether a connect error, 429 or 502-504 may be retried for this call."""
        return self.method in _IDEMPOTENT if self.retry is None else self.retry


@dataclass
class ClientSettings:
    """Where the server is and how patiently to talk to it.

    :param url: the server's base address (``FLOWISE_URL`` when ``None``).
    :param api_key: the API key (``FLOWISE_API_KEY`` when ``None``; no key is sent when
        neither is set).
    :param timeout: seconds to wait for a connection and for each read.
    :param stream_timeout: seconds a streamed prediction may go without a frame (Flowise
        sends a heartbeat while the flow works); the stream as a whole has no limit.
    :param retries: how many times an idempotent call is sent again.
    :param backoff: the first retry's wait in seconds (doubling, with jitter).
    :param max_wait: the longest wait between attempts, ``Retry-After`` included.
    :raises FlowkitError: when no URL is given and ``FLOWISE_URL`` is unset.
    """

    url: str | None = None
    api_key: str | None = None
    timeout: float = 30.0
    stream_timeout: float = 120.0
    retries: int = 3
    backoff: float = 0.25
    max_wait: float = 30.0
    extra_headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        url = self.url if self.url is not None else os.environ.get("FLOWISE_URL", "")
        if not url:
            raise FlowkitError(
                "no Flowise server given: pass url='http://host:3000' or set FLOWISE_URL"
            )
        url = url.rstrip("/")
        self.url = url.removesuffix(API_PREFIX)
        if self.api_key is None:
            self.api_key = os.environ.get("FLOWISE_API_KEY") or None

    @property
    def base_url(self) -> str:
        """The server's base address, without a trailing slash or ``/api/v1``."""
        assert self.url is not None  # set in __post_init__
        return self.url

    def headers(self) -> dict[str, str]:
        """Headers every request carries (the Bearer key when there is one)."""
        headers = {"Accept": "application/json", **self.extra_headers}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def url_for(self, call: Call[Any]) -> str:
        """The absolute address of ``call``."""
        return f"{self.base_url}{API_PREFIX}{call.path}"

    def retry_wait(
        self, call: Call[Any], attempt: int, response: httpx.Response | None
    ) -> float | None:
        """How long to wait before sending ``call`` again, or ``None`` not to retry.

        :param attempt: how many attempts failed so far (1 after the first).
        :param response: the failed attempt's answer, ``None`` after a connect error.
        """
        if not call.retryable or attempt > self.retries:
            return None
        if response is not None and response.status_code not in _RETRY_STATUSES:
            return None
        wait: float = self.backoff * (2 ** (attempt - 1)) * (0.5 + random.random() / 2)
        if response is not None:
            asked = _retry_after(response.headers.get("Retry-After"))
            if asked is not None:
                wait = asked
        return min(wait, self.max_wait)

    def result(self, call: Call[T], response: httpx.Response) -> T:
        """The result of ``call`` from its answer.

        :raises FlowiseAPIError: (or a subclass) when the answer is an error, or HTML where
            JSON was expected.
        :raises NotFoundError: when the server says the entity does not exist.
        """
        if response.status_code >= 400:
            raise error_for(call, response, self.base_url)
        if call.text:
            return call.parse(response.text)
        content_type = response.headers.get("Content-Type", "")
        if "html" in content_type or not response.content.strip():
            if not response.content.strip() and "json" in content_type:
                return call.parse(None)
            raise FlowiseAPIError(
                f"{call.method} {self.url_for(call)} answered {response.status_code} with "
                f"{content_type or 'no content type'}, not JSON: this route does not exist on "
                "this server (Flowise serves its web page for unknown routes); check the URL "
                "and the server's version",
                status=response.status_code,
                url=self.url_for(call),
            )
        try:
            payload = response.json()
        except ValueError:
            raise FlowiseAPIError(
                f"{call.method} {self.url_for(call)} answered {response.status_code} with text "
                f"that is not JSON: {response.text[:200]!r}",
                status=response.status_code,
                url=self.url_for(call),
            ) from None
        return call.parse(payload)


def error_for(call: Call[Any], response: httpx.Response, base_url: str) -> FlowkitError:
    """The flowkit error for a Flowise error answer (the body must have been read); see
    :func:`error_from_message`."""
    message = server_message(response)
    return error_from_message(
        call, response.status_code, message, base_url, reason=response.reason_phrase
    )


def error_from_message(
    call: Call[Any], status: int, message: str | None, base_url: str, *, reason: str = ""
) -> FlowkitError:
    """The flowkit error for Flowise's ``status`` and ``message``.

    401/403 and a 500 saying "Unauthorized" -> :class:`AuthenticationError`; 404, a 500
    saying one of ``call.missing_markers``, and a 400 refusing the id of an entity call
    ("Invalid Chatflow ID") -> :class:`NotFoundError`; anything else ->
    :class:`FlowiseAPIError` with the status and Flowise's message.
    """
    url = f"{base_url}{API_PREFIX}{call.path}"
    said = message or reason or "no message"
    lowered = said.lower()
    malformed_id = status == 400 and bool(call.entity_id) and "invalid" in lowered
    if (
        status == 404
        or malformed_id  # "Invalid Chatflow ID": no entity can have it
        or (status == 500 and any(marker.lower() in lowered for marker in call.missing_markers))
    ):
        what = call.kind or "entity"
        which = f" {call.entity_id!r}" if call.entity_id else ""
        return NotFoundError(
            f"no {what}{which} on the Flowise server at {base_url} ({status}: {said})",
            kind=call.kind,
            entity_id=call.entity_id,
        )
    if status in (401, 403) or (status == 500 and "unauthorized" in lowered):
        refused = "refused the API key" if status != 403 else "did not allow this call for the key"
        return AuthenticationError(
            f"the Flowise server at {base_url} {refused} ({status}: {said}) for {call.method} "
            f"{url}: pass api_key='<key>' (or set FLOWISE_API_KEY) with a key of that server "
            "that has the needed permissions",
            status=status,
            url=url,
            server_message=message,
        )
    return FlowiseAPIError(
        f"the Flowise server at {base_url} answered {status} to {call.method} {url}: {said}",
        status=status,
        url=url,
        server_message=message,
    )


@functools.cache
def default_tls_context() -> ssl.SSLContext:
    """One certificate-checking TLS context for every client of the process (building one
    reads the CA bundle: about 0.1 s, too much per client)."""
    import httpx

    return httpx.create_ssl_context()


def unavailable(url: str, exc: Exception, *, waited: float | None = None) -> UnavailableError:
    """The error for a server that did not answer (refused, unknown host, TLS, timeout)."""
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        reason = f"no answer within {waited:g} s" if waited is not None else "timed out"
    elif isinstance(exc, httpx.ConnectError):
        reason = f"cannot connect ({exc})"
    else:
        reason = f"{type(exc).__name__}: {exc}"
    return UnavailableError(
        f"the Flowise server at {url} is unavailable: {reason}; check that it runs and that "
        "the URL (url=... or FLOWISE_URL) is right",
        url=url,
    )


def server_message(response: httpx.Response) -> str | None:
    """Flowise's own ``message`` (or ``error``) from an error body, if it gave one."""
    try:
        body = json.loads(response.content) if response.content else None
    except ValueError:
        text = response.text.strip()
        return text[:300] if text and "<html" not in text.lower() else None
    if isinstance(body, dict):
        for key in ("message", "error"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return None


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
