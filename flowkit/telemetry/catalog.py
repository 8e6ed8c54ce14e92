"""The events table, generated from the one table of events, in English or Spanish, for
each wire profile.

Each row is an event, when it is sent, and its properties in wire order with what each one
holds. The English texts come from the payload models themselves (the event's docstring and
each field's description); the Spanish ones, which follow Flowise's Spanish telemetry page,
are kept in :data:`SPANISH`, keyed by event and property.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from flowkit.errors import FlowkitError
from flowkit.telemetry.events import DEFAULT_PROFILE, TABLE, Profile, check_profile, wire_keys

__all__ = ["SPANISH", "EventRow", "Format", "Language", "PropertyRow", "catalog", "render_events"]

Format = Literal["table", "markdown", "json"]
Language = Literal["en", "es"]

WHEN = "when"
"""The key of an event's "when it is sent" text in :data:`SPANISH`."""

SPANISH: dict[str, dict[str, str]] = {
    "chatflow_created": {
        WHEN: "un chatflow se guardó por primera vez",
        "version": "La versión de la app que envía el evento.",
        "chatlowId": "El id del chatflow.",
        "chatflowId": "El id del chatflow.",
        "flowGraph": "El flujo anonimizado: ids de los nodos y aristas {source, target}.",
        "productId": "Siempre vacío (el producto de Flowise Cloud).",
        "subscriptionId": "Siempre vacío (la suscripción de Flowise Cloud).",
    },
    "tool_created": {
        WHEN: "una herramienta se guardó por primera vez",
        "version": "La versión de la app que envía el evento.",
        "toolId": "El id de la herramienta.",
        "toolName": "El nombre de la herramienta.",
    },
    "assistant_created": {
        WHEN: "un asistente se guardó por primera vez",
        "version": "La versión de la app que envía el evento.",
        "assistantId": "El id del asistente.",
    },
    "vector_upserted": {
        WHEN: "se insertaron documentos (upsert) en el almacén vectorial de un chatflow",
        "version": "La versión de la app que envía el evento.",
        "chatlowId": "El id del chatflow.",
        "type": "INTERNAL (la interfaz del propio producto) o EXTERNAL (la API).",
        "flowGraph": "El flujo anonimizado: ids de los nodos y aristas {source, target}.",
        "stopNodeId": "El nodo de almacén vectorial donde se detuvo el upsert.",
    },
    "prediction_sent": {
        WHEN: "un chatflow respondió a una pregunta",
        "version": "La versión de la app que envía el evento.",
        "chatlowId": "El id del chatflow.",
        "chatflowId": "El id del chatflow.",
        "chatId": "El id del chat (la conversación).",
        "type": "INTERNAL (la interfaz del propio producto) o EXTERNAL (la API).",
        "flowGraph": "El flujo anonimizado: ids de los nodos y aristas {source, target}.",
        "productId": "Siempre vacío (el producto de Flowise Cloud).",
        "subscriptionId": "Siempre null (la suscripción de Flowise Cloud).",
    },
}
"""Spanish texts: event name -> {``"when"``: ..., wire key: description}."""

_HEADERS: dict[str, tuple[str, str, str]] = {
    "en": ("event", "when", "properties (wire keys, in this order)"),
    "es": ("Evento", "Cuándo", "Metadatos (claves en este orden)"),
}


@dataclass(frozen=True, slots=True)
class PropertyRow:
    """One property of an event: its wire key and what it holds."""

    key: str
    description: str


@dataclass(frozen=True, slots=True)
class EventRow:
    """One event: its name, when it is sent, and its properties in wire order."""

    event: str
    when: str
    properties: tuple[PropertyRow, ...]


def _english_when(name: str, profile: Profile) -> str:
    model = next(event.model(profile) for event in TABLE if event.name == name)
    doc = (model.__doc__ or "").strip().splitlines()[0]
    return doc.removeprefix(f"``{name}``:").strip().rstrip(".")


def _english_descriptions(name: str, profile: Profile) -> dict[str, str]:
    model = next(event.model(profile) for event in TABLE if event.name == name)
    return {
        field.alias or attribute: field.description or ""
        for attribute, field in model.model_fields.items()
    }


def _spanish(name: str, key: str) -> str:
    try:
        return SPANISH[name][key]
    except KeyError:
        raise FlowkitError(f"no Spanish text for {name}.{key}") from None


def catalog(lang: Language = "en", profile: Profile = DEFAULT_PROFILE) -> list[EventRow]:
    """Return one row per event, in the contract's order.

    :param lang: ``"en"`` (texts from the models) or ``"es"`` (from :data:`SPANISH`).
    :param profile: the wire profile whose keys are listed.
    :raises FlowkitError: when ``lang`` or ``profile`` is unknown, or a Spanish text is
        missing.
    """
    if lang not in _HEADERS:
        raise FlowkitError(f"unknown language {lang!r}; known: {', '.join(_HEADERS)}")
    check_profile(profile)
    rows: list[EventRow] = []
    for event in TABLE:
        name, keys = event.name, wire_keys(event.name, profile)
        if lang == "en":
            when, texts = _english_when(name, profile), _english_descriptions(name, profile)
        else:
            when = _spanish(name, WHEN)
            texts = {key: _spanish(name, key) for key in keys}
        properties = tuple(PropertyRow(key, texts[key]) for key in keys)
        rows.append(EventRow(name, when, properties))
    return rows


def _markdown(rows: list[EventRow], lang: Language) -> str:
    event, when, properties = _HEADERS[lang]
    lines = [f"| {event} | {when} | {properties} |", "|---|---|---|"]
    for row in rows:
        cell = "<br>".join(f"`{p.key}`: {p.description}" for p in row.properties)
        lines.append(f"| `{row.event}` | {row.when} | {cell} |")
    return "\n".join(lines) + "\n"


def _table(rows: list[EventRow]) -> str:
    width = max(len(p.key) for row in rows for p in row.properties)
    blocks = []
    for row in rows:
        lines = [f"{row.event}: {row.when}"]
        lines += [f"  {p.key:<{width}}  {p.description}" for p in row.properties]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _json(rows: list[EventRow]) -> str:
    data = [
        {
            "event": row.event,
            "when": row.when,
            "properties": [{"key": p.key, "description": p.description} for p in row.properties],
        }
        for row in rows
    ]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render_events(
    format: Format = "table", lang: Language = "en", profile: Profile = DEFAULT_PROFILE
) -> str:
    """Render the events table.

    :param format: ``"table"`` (plain text for a terminal), ``"markdown"`` (one table row
        per event, properties separated by ``<br>``) or ``"json"`` (a list of
        ``{event, when, properties: [{key, description}]}``).
    :param lang: ``"en"`` or ``"es"``.
    :param profile: the wire profile, ``"flowise-1"`` (default) or ``"flowise-3"``.
    :returns: the text, ending with a newline; the same for the same arguments.
    :raises FlowkitError: when ``format``, ``lang`` or ``profile`` is unknown.
    """
    rows = catalog(lang, profile)
    if format == "markdown":
        return _markdown(rows, lang)
    if format == "table":
        return _table(rows)
    if format == "json":
        return _json(rows)
    raise FlowkitError(f"unknown format {format!r}; known: table, markdown, json")
