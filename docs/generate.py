"""Regenerate the generated parts of the docs: the telemetry events tables.

Run from anywhere, with flowkit installed (``make test`` or ``pip install -e .`` first)::

    python docs/generate.py            # rewrite the stale tables in place
    python docs/generate.py --check    # only say which pages are stale (exit status 1)

A table sits between two marker comments; its language, and optionally its wire profile
(``flowise-1`` when not named), are named in the start marker::

    <!-- events-table:start lang=en profile=flowise-3 -->
    ...what `flowkit events --format markdown --lang en --profile flowise-3` prints...
    <!-- events-table:end -->

Everything between the markers is replaced; nothing else in the page is touched.
``tests/test_docs.py`` fails when a table differs from what this script would write.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from flowkit.telemetry.catalog import render_events

DOCS = Path(__file__).resolve().parent

TABLE = re.compile(
    r"^(?P<start><!-- events-table:start lang=(?P<lang>[a-z]+)"
    r"(?: profile=(?P<profile>[a-z0-9-]+))? -->\n)"
    r"(?P<body>.*?)"
    r"^(?P<end><!-- events-table:end -->)$",
    re.DOTALL | re.MULTILINE,
)
"""One generated table: its start marker (naming the language and maybe the profile), its
body, its end marker."""


def regenerate(text: str) -> str:
    """Return ``text`` with the body of every events table rendered afresh.

    :param text: a Markdown page.
    :returns: the page, each table's body equal to
        ``render_events("markdown", lang, profile)``.
    :raises flowkit.FlowkitError: when a start marker names an unknown language or profile.
    """

    def fresh(match: re.Match[str]) -> str:
        profile = match["profile"] or "flowise-1"
        table = render_events("markdown", match["lang"], profile)  # type: ignore[arg-type]
        return match["start"] + table + match["end"]

    return TABLE.sub(fresh, text)


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or with ``--check``, only list) the pages whose tables are stale.

    :returns: 0 when every page is current (or was rewritten), 1 with ``--check`` when some
        page is stale.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    stale = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        new = regenerate(text)
        if new == text:
            continue
        stale.append(page)
        if not args.check:
            page.write_text(new, encoding="utf-8")
    verb = "stale" if args.check else "rewritten"
    for page in stale:
        print(f"{page.relative_to(DOCS.parent)}: events table {verb}")
    if not stale:
        print("docs: every events table is current")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
