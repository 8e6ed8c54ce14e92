"""The blocking client: :class:`FlowiseClient`.

Its twin :class:`~flowkit.client.AsyncFlowiseClient` sends the same calls
(:mod:`flowkit.client.api`) and maps the answers the same way
(:mod:`flowkit.client.core`); only the waiting differs.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from flowkit.client import api
from flowkit.client.core import (
    Call,
    ClientSettings,
    default_tls_context,
    error_for,
    unavailable,
)
from flowkit.client.events import StreamEvent
from flowkit.client.records import Credential, FileUpload, Variable
from flowkit.client.sse import SSEParser, events_from_answer
from flowkit.model import Assistant, Chatflow, FlowType, Tool
from flowkit.model.messages import ChatMessage
from flowkit.runtime.results import Prediction, UpsertResult
from flowkit.storage.upserts import UpsertRecord

if TYPE_CHECKING:
    import httpx

__all__ = ["FlowiseClient"]

T = TypeVar("T")


class FlowiseClient:
    """A typed client of a Flowise 3.x server's REST API, on one pooled ``httpx.Client``.

    Thread-safe (as ``httpx.Client`` is). Use it as a context manager, or call
    :meth:`close`.

    Errors: :class:`~flowkit.AuthenticationError` for a refused key (401/403, and the 500
    "Unauthorized" of a key-protected flow's prediction), :class:`~flowkit.NotFoundError`
    for an unknown id (Flowise's 404s and its "not found" 500s),
    :class:`~flowkit.FlowiseAPIError` for any other error answer (status and Flowise's
    message), :class:`~flowkit.UnavailableError` when the server cannot be reached or does
    not answer in time. GET, PUT and DELETE are retried after a connect error, 429 and
    502-504 (honouring ``Retry-After``); predictions, upserts and creates never are.

    :param url: the server's base address (default ``FLOWISE_URL``).
    :param api_key: the API key (default ``FLOWISE_API_KEY``).
    :param timeout: seconds to wait for a connection and for each read.
    :param stream_timeout: seconds a streamed prediction may wait for its next frame.
    :param retries: how many times an idempotent call is sent again.
    :param backoff: the first retry's wait, doubling each time.
    :param max_wait: the longest wait between two attempts, ``Retry-After`` included.
    :param transport: an ``httpx`` transport (tests plug one in).
    :param verify: check the server's TLS certificate (``True``: against the default CA
        bundle, one context shared by every client), not (``False``), or with this context.
    :raises FlowkitError: when no URL is given and ``FLOWISE_URL`` is unset.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        stream_timeout: float = 120.0,
        retries: int = 3,
        backoff: float = 0.25,
        max_wait: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        import httpx

        self.settings = ClientSettings(
            url,
            api_key,
            timeout=timeout,
            stream_timeout=stream_timeout,
            retries=retries,
            backoff=backoff,
            max_wait=max_wait,
        )
        self._http = httpx.Client(
            headers=self.settings.headers(),
            timeout=timeout,
            transport=transport,
            verify=default_tls_context() if verify is True else verify,
        )

    @property
    def base_url(self) -> str:
        """The server's base address."""
        return self.settings.base_url

    def __repr__(self) -> str:
        return f"<FlowiseClient {self.base_url}>"

    def __enter__(self) -> FlowiseClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections; calling it twice is harmless."""
        self._http.close()

    def send(self, call: Call[T]) -> T:
        """Send one call (retrying it when allowed) and return its result.

        :raises FlowkitError: see the class.
        """
        import httpx

        url = self.settings.url_for(call)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(
                    call.method,
                    url,
                    params=call.params,
                    json=call.json,
                    data=call.data,
                    files=call.files,
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                wait = self.settings.retry_wait(call, attempt, None)
                if wait is None:
                    raise unavailable(self.base_url, exc) from None
                time.sleep(wait)
                continue
            except httpx.TransportError as exc:
                raise unavailable(self.base_url, exc, waited=self.settings.timeout) from None
            wait = self.settings.retry_wait(call, attempt, response)
            if wait is None:
                return self.settings.result(call, response)
            time.sleep(wait)

    # ---- server -----------------------------------------------------------------------

    def ping(self) -> str:
        """``"pong"`` when the server runs. :raises UnavailableError: when it does not."""
        return self.send(api.ping())

    def version(self) -> str:
        """The server's Flowise version, e.g. ``"3.1.4"``."""
        return self.send(api.version())

    # ---- chatflows ---------------------------------------------------------------------

    def list_chatflows(self, type: FlowType | str | None = None) -> list[Chatflow]:
        """Every chatflow (of one type when given), newest first."""
        return self.send(api.list_chatflows(type))

    def get_chatflow(self, chatflow_id: str) -> Chatflow:
        """The chatflow with this id. :raises NotFoundError: when there is none."""
        return self.send(api.get_chatflow(chatflow_id))

    def create_chatflow(
        self, flow: Chatflow, settings: Mapping[str, Any] | None = None
    ) -> Chatflow:
        """Create a chatflow; see :func:`flowkit.client.api.create_chatflow`.

        :returns: a new object carrying the server's id (Flowise ignores ``flow.id``).
        """
        return self.send(api.create_chatflow(flow, settings))

    def update_chatflow(
        self, flow: Chatflow, settings: Mapping[str, Any] | None = None
    ) -> Chatflow:
        """Replace the chatflow with ``flow``'s id. :raises NotFoundError:"""
        return self.send(api.update_chatflow(flow, settings))

    def delete_chatflow(self, chatflow_id: str) -> None:
        """Delete a chatflow. :raises NotFoundError: when there is none."""
        self.send(api.delete_chatflow(chatflow_id))

    # ---- tools, assistants ---------------------------------------------------------------

    def list_tools(self) -> list[Tool]:
        """Every custom tool."""
        return self.send(api.list_tools())

    def get_tool(self, tool_id: str) -> Tool:
        """The tool with this id. :raises NotFoundError: when there is none."""
        return self.send(api.get_tool(tool_id))

    def create_tool(self, tool: Tool) -> Tool:
        """Create a tool. :returns: a new object carrying the server's id."""
        return self.send(api.create_tool(tool))

    def update_tool(self, tool: Tool) -> Tool:
        """Replace the tool with ``tool``'s id. :raises NotFoundError:"""
        return self.send(api.update_tool(tool))

    def delete_tool(self, tool_id: str) -> None:
        """Delete a tool. :raises NotFoundError: when there is none."""
        self.send(api.delete_tool(tool_id))

    def list_assistants(self, type: str | None = None) -> list[Assistant]:
        """Every assistant (of one type when given)."""
        return self.send(api.list_assistants(type))

    def get_assistant(self, assistant_id: str) -> Assistant:
        """The assistant with this id. :raises NotFoundError: when there is none."""
        return self.send(api.get_assistant(assistant_id))

    def create_assistant(self, assistant: Assistant) -> Assistant:
        """Create an assistant; see :func:`flowkit.client.api.create_assistant`."""
        return self.send(api.create_assistant(assistant))

    def update_assistant(self, assistant: Assistant) -> Assistant:
        """Replace the assistant with ``assistant``'s id. :raises NotFoundError:"""
        return self.send(api.update_assistant(assistant))

    def delete_assistant(self, assistant_id: str) -> None:
        """Delete an assistant. :raises NotFoundError: when there is none."""
        self.send(api.delete_assistant(assistant_id))

    # ---- variables, credentials ----------------------------------------------------------

    def list_variables(self) -> list[Variable]:
        """Every variable."""
        return self.send(api.list_variables())

    def create_variable(self, name: str, value: str, type: str = "static") -> Variable:
        """Create a variable (``"static"`` or ``"runtime"``)."""
        return self.send(api.create_variable(name, value, type))

    def update_variable(self, variable: Variable) -> Variable:
        """Replace the variable with ``variable``'s id."""
        return self.send(api.update_variable(variable))

    def delete_variable(self, variable_id: str) -> None:
        """Delete a variable. :raises NotFoundError: when there is none."""
        self.send(api.delete_variable(variable_id))

    def list_credentials(self, credential_name: str | None = None) -> list[Credential]:
        """Every credential's id and names (never its values)."""
        return self.send(api.list_credentials(credential_name))

    def create_credential(
        self, name: str, credential_name: str, data: Mapping[str, Any]
    ) -> Credential:
        """Create a credential; its values are sent once and never read back."""
        return self.send(api.create_credential(name, credential_name, data))

    def delete_credential(self, credential_id: str) -> None:
        """Delete a credential. :raises NotFoundError: when there is none."""
        self.send(api.delete_credential(credential_id))

    # ---- chat messages -------------------------------------------------------------------

    def chat_messages(self, chatflow_id: str, **filters: Any) -> list[ChatMessage]:
        """A chatflow's stored messages; see :func:`flowkit.client.api.chat_messages`."""
        return self.send(api.chat_messages(chatflow_id, **filters))

    def delete_chat_messages(self, chatflow_id: str, **filters: Any) -> int:
        """Delete stored messages; returns how many. :raises NotFoundError:"""
        return self.send(api.delete_chat_messages(chatflow_id, **filters))

    # ---- upsert history ------------------------------------------------------------------

    def upsert_history(self, chatflow_id: str) -> list[UpsertRecord]:
        """A record of every upsert of the chatflow, oldest first, newest last; see
        :func:`flowkit.client.api.upsert_history` for what maps to what.

        :raises NotFoundError: when there is no such chatflow (Flowise itself answers an
            unknown one with an empty list: an empty answer is checked with a second call,
            ``GET /api/v1/chatflows/<id>``).
        """
        found = self.send(api.upsert_history(chatflow_id))
        if not found:
            self.send(api.check_chatflow(chatflow_id))  # NotFoundError when none
        return found

    # ---- runs ----------------------------------------------------------------------------

    def upsert_vector(
        self,
        chatflow_id: str,
        *,
        stop_node_id: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        files: Sequence[FileUpload] = (),
    ) -> UpsertResult:
        """Upsert documents; see :func:`flowkit.client.api.upsert_vector`."""
        return self.send(
            api.upsert_vector(
                chatflow_id, stop_node_id=stop_node_id, overrides=overrides, files=files
            )
        )

    def predict(
        self,
        chatflow_id: str,
        question: str,
        *,
        chat_id: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        history: api.History | None = None,
        uploads: Sequence[FileUpload] = (),
    ) -> Prediction:
        """Ask a question and wait for the answer; see :func:`flowkit.client.api.predict`."""
        return self.send(
            api.predict(
                chatflow_id,
                question,
                chat_id=chat_id,
                overrides=overrides,
                history=history,
                uploads=uploads,
            )
        )

    def stream(
        self,
        chatflow_id: str,
        question: str,
        *,
        chat_id: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        history: api.History | None = None,
        uploads: Sequence[FileUpload] = (),
    ) -> Generator[StreamEvent, None, None]:
        """Ask a question and yield the answer's events as they arrive (never retried).

        A failure after the stream began arrives as an ``error`` event, as Flowise sends it.
        Stopping the iteration early closes the connection.

        :raises NotFoundError: when there is no such chatflow (before the first event).
        :raises AuthenticationError: when a key-protected flow refuses the key.
        :raises UnavailableError: when the server cannot be reached, or sends nothing for
            ``stream_timeout`` seconds.
        """
        import httpx

        body = api.prediction_body(
            question,
            chat_id=chat_id,
            overrides=overrides,
            history=history,
            uploads=uploads,
            streaming=True,
        )
        call = api.stream_call(chatflow_id, body)
        timeout = httpx.Timeout(self.settings.timeout, read=self.settings.stream_timeout)
        url = self.settings.url_for(call)
        try:
            with self._http.stream("POST", url, json=body, timeout=timeout) as response:
                if response.status_code >= 400:
                    response.read()
                    raise error_for(call, response, self.base_url)
                if "text/event-stream" not in response.headers.get("Content-Type", ""):
                    response.read()
                    yield from events_from_answer(self.settings.result(call, response))
                    return
                parser = SSEParser()
                for text in response.iter_text():
                    yield from parser.feed(text)
                yield from parser.close()
        except httpx.TransportError as exc:
            raise unavailable(self.base_url, exc, waited=self.settings.stream_timeout) from None
