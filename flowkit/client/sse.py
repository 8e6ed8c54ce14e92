"""Flowise's server-sent events, read incrementally: :class:`SSEParser`.

Flowise writes every frame as ``message:\\ndata:{"event": ..., "data": ...}\\n\\n`` (the first
line is literally ``message:``, not ``event:``) and keeps an idle stream alive with comment
frames (``:heartbeat``). Frames may arrive split across any number of reads, or several in
one read; the parser yields each complete frame once, in order.
"""

from __future__ import annotations

import json

from flowkit.client.events import StreamEvent

__all__ = ["SSEParser", "events_from_answer"]


class SSEParser:
    """Turns text read from an event stream into :class:`~flowkit.backends.events.StreamEvent`
    objects (a frame whose data is not Flowise's ``{event, data}`` becomes a ``"message"``
    event carrying the data).

    Not thread-safe: one parser reads one stream.
    """

    def __init__(self) -> None:
        self._buffer = ""
        self._data: list[str] = []
        self._field_event: str | None = None

    def feed(self, text: str) -> list[StreamEvent]:
        """Add text read from the stream.

        :returns: the events completed by this text (often none), in order.
        """
        self._buffer += text
        events: list[StreamEvent] = []
        while True:
            cut = _line_end(self._buffer)
            if cut is None:
                return events
            end, width = cut
            line, self._buffer = self._buffer[:end], self._buffer[end + width :]
            event = self._line(line)
            if event is not None:
                events.append(event)

    def close(self) -> list[StreamEvent]:
        """End the stream: a last frame not followed by a blank line still counts.

        :returns: that frame's event, if there was one.
        """
        events = self.feed("\n") if self._buffer else []
        event = self._dispatch()
        return [*events, event] if event is not None else events

    def _line(self, line: str) -> StreamEvent | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment: Flowise's heartbeat
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._field_event = value
        return None  # "message:", "id:", "retry:" and unknown fields carry nothing here

    def _dispatch(self) -> StreamEvent | None:
        if not self._data:
            self._field_event = None
            return None
        text = "\n".join(self._data)
        field_event, self._data, self._field_event = self._field_event, [], None
        try:
            payload = json.loads(text)
        except ValueError:
            return StreamEvent(event=field_event or "message", data=text)
        if isinstance(payload, dict) and isinstance(payload.get("event"), str):
            return StreamEvent(event=payload["event"], data=payload.get("data", ""))
        return StreamEvent(event=field_event or "message", data=payload)


def _line_end(buffer: str) -> tuple[int, int] | None:
    """Where the first line of ``buffer`` ends (``\\n``, ``\\r\\n`` or ``\\r``), and the
    terminator's width; ``None`` while no line is complete (a trailing ``\\r`` may still
    become ``\\r\\n``)."""
    newline, carriage = buffer.find("\n"), buffer.find("\r")
    if carriage == -1 or (newline != -1 and newline < carriage):
        return (newline, 1) if newline != -1 else None
    if carriage + 1 == len(buffer):
        return None
    return carriage, 2 if buffer[carriage + 1] == "\n" else 1


def events_from_answer(payload: object) -> list[StreamEvent]:
    """The events of a whole JSON answer, for a flow that cannot stream (Flowise then
    answers ``streaming: true`` with plain JSON): ``token`` (the text), ``sourceDocuments``
    when there are some, ``metadata``, ``end``."""
    record = payload if isinstance(payload, dict) else {}
    text = record.get("text")
    events = [StreamEvent(event="token", data=text if isinstance(text, str) else "")]
    if record.get("sourceDocuments"):
        events.append(StreamEvent(event="sourceDocuments", data=record["sourceDocuments"]))
    keys = ("chatId", "chatMessageId", "question", "sessionId", "memoryType")
    events.append(StreamEvent(event="metadata", data={k: record[k] for k in keys if k in record}))
    events.append(StreamEvent(event="end", data="[DONE]"))
    return events
