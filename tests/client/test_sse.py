"""Flowise's server-sent events, parsed from any split of the bytes, and streamed over HTTP."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowkit.backends.events import StreamEvent
from flowkit.client import FlowiseClient
from flowkit.client.sse import SSEParser
from flowkit.errors import NotFoundError, UnavailableError

from .fake_flowise import Answer, FakeFlowise, split, sse

ID = "00000000-0000-0000-0000-000000000003"
FRAMES = [
    ("start", "Hel"),
    ("token", "Hel"),
    ("token", "lo, wörld"),
    ("sourceDocuments", [{"pageContent": "a\nb", "metadata": {"source": "x"}}]),
    ("metadata", {"chatId": "c1", "chatMessageId": "m1"}),
    ("end", "[DONE]"),
]
EXPECTED = [StreamEvent(event=e, data=d) for e, d in FRAMES]
STREAM = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}


def _parse(pieces: list[str]) -> list[StreamEvent]:
    parser = SSEParser()
    events = [event for piece in pieces for event in parser.feed(piece)]
    return events + parser.close()


def test_flowise_frames_become_typed_events() -> None:
    assert _parse([sse(*FRAMES).decode()]) == EXPECTED


@given(st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_any_split_of_the_text_gives_the_same_events(cuts: list[int]) -> None:
    text = sse(*FRAMES).decode().replace("\n\n", "\n\n:heartbeat\n\n", 2)
    points = sorted({min(c, len(text)) for c in cuts})
    pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]

    assert _parse(pieces) == EXPECTED


@given(st.text(), st.sampled_from(["\n", "\r\n", "\r"]))
def test_any_token_text_and_line_ending_round_trips(token: str, newline: str) -> None:
    frame = "message:" + newline + "data:" + json.dumps({"event": "token", "data": token})
    text = frame + newline + newline

    assert _parse([text]) == [StreamEvent(event="token", data=token)]


def test_heartbeats_and_unknown_fields_yield_nothing() -> None:
    assert _parse([":heartbeat\n\nid: 7\nretry: 10\n\n"]) == []


def test_a_last_frame_without_a_blank_line_still_counts() -> None:
    assert _parse(['message:\ndata:{"event":"end","data":"[DONE]"}']) == [EXPECTED[-1]]


def test_data_that_is_not_flowise_json_is_kept_as_a_message_event() -> None:
    assert _parse(["data: plain text\n\n"]) == [StreamEvent(event="message", data="plain text")]


def test_stream_over_http_with_frames_split_across_reads(
    fake: FakeFlowise, client: FlowiseClient
) -> None:
    body = sse(*FRAMES)
    fake.add("POST", f"/api/v1/prediction/{ID}", Answer(200, b"", STREAM, split(body, 7, 0.001)))

    events = list(client.stream(ID, "hi", chat_id="c1"))

    assert events == EXPECTED
    sent = json.loads(fake.seen("POST", f"/api/v1/prediction/{ID}")[0].body)
    assert sent == {"question": "hi", "streaming": True, "chatId": "c1"}


def test_the_read_timeout_is_between_frames_not_overall(fake: FakeFlowise) -> None:
    beats = [(0.15, b":heartbeat\n\n") for _ in range(6)]
    chunks = [*beats, (0.0, sse(("token", "x"), ("end", "[DONE]")))]
    fake.add("POST", f"/api/v1/prediction/{ID}", Answer(200, b"", STREAM, chunks))

    with FlowiseClient(fake.url, stream_timeout=0.5) as client:
        started = time.monotonic()
        events = list(client.stream(ID, "hi"))

    assert time.monotonic() - started > 0.5  # longer than the timeout, in all
    assert [e.event for e in events] == ["token", "end"]


def test_a_stream_that_goes_quiet_is_unavailable(fake: FakeFlowise) -> None:
    chunks = [(0.0, sse(("start", ""))), (1.5, sse(("end", "[DONE]")))]
    fake.add("POST", f"/api/v1/prediction/{ID}", Answer(200, b"", STREAM, chunks))

    with FlowiseClient(fake.url, stream_timeout=0.3) as client:
        stream = client.stream(ID, "hi")
        assert next(stream) == StreamEvent(event="start", data="")
        with pytest.raises(UnavailableError, match=r"0\.3 s"):
            next(stream)


def test_an_error_event_arrives_as_an_event(fake: FakeFlowise, client: FlowiseClient) -> None:
    body = sse(("error", "Error: predictionsServices.buildChatflow - boom"), ("end", "[DONE]"))
    fake.add("POST", f"/api/v1/prediction/{ID}", Answer(200, body, STREAM))

    events = list(client.stream(ID, "hi"))

    assert [e.event for e in events] == ["error", "end"]


def test_an_error_status_before_the_stream_raises(fake: FakeFlowise, client: FlowiseClient) -> None:
    fake.json("POST", f"/api/v1/prediction/{ID}", {"message": f"Chatflow {ID} not found"}, 404)

    with pytest.raises(NotFoundError):
        list(client.stream(ID, "hi"))


def test_a_flow_that_cannot_stream_answers_json_as_events(
    fake: FakeFlowise, client: FlowiseClient
) -> None:
    fake.json("POST", f"/api/v1/prediction/{ID}", {"text": "whole", "chatId": "c9"})

    events = list(client.stream(ID, "hi"))

    assert [e.event for e in events] == ["token", "metadata", "end"]
    assert events[0].data == "whole"
    assert events[1].data == {"chatId": "c9"}
