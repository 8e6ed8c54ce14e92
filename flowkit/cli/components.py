"""``flowkit components``: the Flowise components ``add_flowise_node`` builds, and what one
takes (its inputs, their types and defaults, its credential and outputs)."""

from __future__ import annotations

import argparse
import html
import json
import re
from typing import Any

from flowkit.cli.common import CommandError, Subparsers, dump_json
from flowkit.model.nodedefs import PARAM_TYPES, node_catalog

__all__ = ["add_parser", "components"]

_HELP = """\
Without NAME: list the components of Flowise's catalog that Chatflow.add_flowise_node
builds, by category (name, then label). With NAME: what that component takes: each input
(parameters first, then the inputs another node feeds, with the type a source must give),
its default, whether it is optional, its options; the credential it needs; its outputs.
"""

_TAG = re.compile(r"<[^>]+>")


def add_parser(commands: Subparsers) -> None:
    """Add ``components`` to the ``flowkit`` command."""
    parser = commands.add_parser(
        "components",
        help="list Flowise's components, or show what one takes",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", metavar="NAME", nargs="?", help="a component name")
    parser.add_argument("--category", help="list only this category (e.g. 'Chat Models')")
    parser.add_argument("--json", action="store_true", help="print the definition as JSON")
    parser.set_defaults(handler=components)


def components(args: argparse.Namespace) -> int:
    """``flowkit components [NAME]``: print the catalog, or one component.

    :raises CommandError: for an unknown component or category (close names suggested).
    """
    catalog = node_catalog()
    if args.name is None:
        by_category: dict[str, list[tuple[str, str]]] = {}
        for name in catalog.names():
            definition = catalog.definition(name)
            by_category.setdefault(definition["category"], []).append((name, definition["label"]))
        if args.category is not None and args.category not in by_category:
            raise CommandError(
                f"no category {args.category!r}; categories: {', '.join(sorted(by_category))}"
            )
        print(f"Flowise {catalog.version} components")
        for category in sorted(by_category):
            if args.category is not None and category != args.category:
                continue
            print(f"{category}:")
            for name, label in sorted(by_category[category], key=lambda item: item[0].lower()):
                print(f"  {name:<40} {label}")
        return 0
    if args.name not in catalog:
        raise CommandError(str(catalog.unknown(args.name, "`flowkit components` lists them all")))
    definition = catalog.definition(args.name)
    if args.json:
        print(dump_json(definition))
        return 0
    _describe(definition)
    return 0


def _plain(text: object) -> str:
    """A description without HTML tags and entities, on one line."""
    return " ".join(html.unescape(_TAG.sub("", str(text))).split())


def _describe(definition: dict[str, Any]) -> None:
    print(f"{definition['name']} ({definition['label']}, version {definition['version']})")
    print(f"category: {definition['category']}")
    if definition.get("description"):
        print(f"description: {_plain(definition['description'])}")
    if definition.get("deprecateMessage"):
        print(f"deprecated: {_plain(definition['deprecateMessage'])}")
    credential = definition.get("credential")
    if isinstance(credential, dict):
        names = ", ".join(credential.get("credentialNames", [])) or "any"
        optional = " (optional)" if credential.get("optional") else ""
        print(f"credential: {names}{optional}")
    inputs = definition.get("inputs") or []
    params = [i for i in inputs if i.get("type") in PARAM_TYPES]
    anchors = [i for i in inputs if i.get("type") not in PARAM_TYPES]
    print("inputs:")
    for item in params:
        print(f"  {_input_line(item)}")
    if anchors:
        print("fed by other nodes (connect(source, node, NAME)):")
        for item in anchors:
            print(f"  {_input_line(item)}")
    outputs = definition.get("outputs")
    if isinstance(outputs, list) and outputs:
        names = ", ".join(str(o["name"]) for o in outputs)
        print(f"outputs: {names} (the first unless connect(..., source_output=...))")
    else:
        print(f"output: {' | '.join(definition.get('baseClasses') or [])}")


def _input_line(item: dict[str, Any]) -> str:
    parts = [f"{item['name']}: {item['type']}"]
    if item.get("list"):
        parts.append("list")
    parts.append("optional" if item.get("optional") else "required")
    if "default" in item and item["default"] not in ("", None):
        parts.append(f"default {json.dumps(item['default'])}")
    options = item.get("options")
    if isinstance(options, list) and options:
        names = [str(o.get("name")) if isinstance(o, dict) else str(o) for o in options]
        shown = ", ".join(names[:8]) + (f", ... ({len(names)})" if len(names) > 8 else "")
        parts.append(f"one of {shown}")
    if item.get("additionalParams"):
        parts.append("additional")
    label = f"  ({item['label']})" if item.get("label") else ""
    return ", ".join(parts) + label
