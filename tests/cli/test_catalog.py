"""The events table: generated from the payload models, complete in both languages."""

from __future__ import annotations

import json

import pytest

from flowkit.errors import FlowkitError
from flowkit.telemetry import EVENTS, PROFILES, wire_keys
from flowkit.telemetry.catalog import SPANISH, WHEN, catalog, render_events


def test_every_event_and_property_has_both_languages() -> None:
    assert list(SPANISH) == list(EVENTS)
    for name in EVENTS:
        keys = {key for profile in PROFILES for key in wire_keys(name, profile)}
        assert set(SPANISH[name]) == {WHEN, *keys}, name
        assert all(text.strip() for text in SPANISH[name].values()), name
    for profile in PROFILES:
        for row in catalog("en", profile):
            assert row.when, row.event
            assert all(p.description for p in row.properties), row.event


@pytest.mark.parametrize("lang", ["en", "es"])
def test_rows_follow_the_contract_order(lang: str) -> None:
    rows = catalog(lang)  # type: ignore[arg-type]

    assert [row.event for row in rows] == list(EVENTS)
    for row in rows:
        assert [p.key for p in row.properties] == wire_keys(row.event)


def test_english_comes_from_the_models() -> None:
    rows = {row.event: row for row in catalog("en")}

    assert rows["chatflow_created"].when == "a chatflow was saved for the first time"
    described = {p.key: p.description for p in rows["vector_upserted"].properties}
    field = EVENTS["vector_upserted"].model_fields["stop_node_id"]
    assert described["stopNodeId"] == field.description


def test_spanish_uses_the_spanish_pages_words() -> None:
    markdown = render_events("markdown", "es")

    assert markdown.startswith("| Evento |")
    for words in (
        "id del chatflow",
        "id de la herramienta",
        "nombre de la herramienta",
        "id del asistente",
        "id del chat",
        "versión de la app",
    ):
        assert words in markdown


@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_format_renders_in_both_languages(fmt: str, lang: str) -> None:
    text = render_events(fmt, lang)  # type: ignore[arg-type]

    assert text.endswith("\n")
    assert text == render_events(fmt, lang)  # type: ignore[arg-type]
    for name in EVENTS:
        assert name in text
    if fmt == "json":
        assert [row["event"] for row in json.loads(text)] == list(EVENTS)


def test_markdown_has_a_header_and_one_row_per_event() -> None:
    lines = render_events("markdown", "en").splitlines()

    assert lines[:2] == [
        "| event | when | properties (wire keys, in this order) |",
        "|---|---|---|",
    ]
    assert len(lines) == 2 + len(EVENTS)


@pytest.mark.parametrize(("fmt", "lang"), [("xml", "en"), ("table", "fr")])
def test_unknown_format_or_language_is_refused(fmt: str, lang: str) -> None:
    with pytest.raises(FlowkitError, match="unknown"):
        render_events(fmt, lang)  # type: ignore[arg-type]
