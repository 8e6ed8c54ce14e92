"""The docs say only what runs: every code block runs in a test or is marked as not runnable,
and the generated events tables match what ``flowkit events`` prints.

Fenced code blocks in ``docs/*.md`` and ``README.md`` follow one convention, named by the
fence's info string (its first word is the language, the rest are flags):

================================  ===========================================================
fence                             what the test does with the block
================================  ===========================================================
```` ```python ````                runs it. A page's blocks run in order, in one namespace, in
                                  a subprocess of their own (one per page), from an empty
                                  temporary working directory, with ``FLOWKIT_HOME`` pointed
                                  at an empty temporary folder and every telemetry variable
                                  (opt-outs, ``POSTHOG_*``, ``FLOWKIT_TELEMETRY_FILE``)
                                  cleared. A block that raises fails the test, with the page
                                  and line in the traceback.
```` ```python pytest ````         writes it to a file of its own and runs pytest on it (with
                                  flowkit's plugin, as a user's test run has it), in the same
                                  kind of isolated subprocess; it must collect and pass.
```` ```python no-run ````         does not run it: for code that cannot run here (a real
                                  PostHog key, a long-running service). Use sparingly.
```` ```sh no-run ````             does not run it. Shell blocks (``sh``, ``bash``, ``shell``)
                                  are never run and must say so with ``no-run``.
```` ```text output ````           compares it with what the python block just before it
                                  printed (trailing white space ignored).
```` ```text ````, ``console``,    nothing: output, data or file contents, not code.
``json``, ``jsonl``, ``dotenv``
================================  ===========================================================

Any other fence (no language, another language, a ``python`` block with an unknown flag, a
bare ``sh``) fails :func:`test_every_code_block_is_runnable_or_marked`.

The telemetry pages embed the table that ``flowkit events --format markdown --lang LANG``
prints between ``<!-- events-table:start lang=LANG -->`` and ``<!-- events-table:end -->``;
``python docs/generate.py`` rewrites them.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from conftest import clean_environ

from flowkit.telemetry.catalog import render_events

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
PAGES = sorted(DOCS.glob("*.md"))
ALL_PAGES = [*PAGES, README]
TIMEOUT = 180
REGENERATE = "python docs/generate.py"

SHELLS = frozenset({"sh", "bash", "shell"})
NOT_CODE = frozenset({"text", "console", "json", "jsonl", "dotenv"})
CLEARED_PREFIXES = ("PYTEST_",)  # besides every variable flowkit reads (clean_environ)

EXPECTED_PAGES = {
    "index.md",
    "quickstart.md",
    "flows.md",
    "signals.md",
    "telemetry.md",
    "telemetry.es.md",
    "testing.md",
    "metrics.md",
    "cli.md",
    "performance.md",
    "client.md",
    "components.md",
    "workspace-files.md",
    "flows-as-code.md",
    "architecture.md",
}
TABLE_LANGUAGES = {"telemetry.md": "en", "telemetry.es.md": "es"}

START = re.compile(r"^<!-- events-table:start lang=(?P<lang>[a-z]+) -->$")
END = "<!-- events-table:end -->"
FENCE = re.compile(r"^(?P<fence>`{3,})(?P<info>[^`]*)$")
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


# ---- reading pages ------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One fenced code block: where it starts, its info string and its text."""

    page: Path
    line: int  # the line of the opening fence, 1-based
    info: str
    code: str

    @property
    def language(self) -> str:
        return self.info.split()[0] if self.info.split() else ""

    @property
    def flags(self) -> list[str]:
        return self.info.split()[1:]

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def kind(self) -> str:
        """``run``, ``pytest``, ``skip``, ``output``, ``data``, or ``bad: <why>``."""
        language, flags = self.language, self.flags
        if language == "python":
            if not flags:
                return "run"
            if flags == ["pytest"]:
                return "pytest"
            if flags == ["no-run"]:
                return "skip"
            return f"bad: unknown flags {flags} (use ```python, ```python pytest or "
            "```python no-run)"
        if language in SHELLS:
            if flags == ["no-run"]:
                return "skip"
            return f"bad: shell blocks are never run: mark it ```{language} no-run"
        if language == "text" and flags == ["output"]:
            return "output"
        if language in NOT_CODE and not flags:
            return "data"
        shown = f"```{self.info}" if self.info else "``` (no language)"
        return (
            f"bad: unknown fence {shown}; use python, python pytest, python no-run, "
            f"sh no-run, text output, or one of {sorted(NOT_CODE)}"
        )


def blocks(page: Path) -> list[Block]:
    """Return the fenced code blocks of ``page``, in order."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence, start = opening["fence"], index
        index += 1
        body: list[str] = []
        while index < len(lines) and not (
            lines[index].startswith(fence) and not lines[index].strip("`").strip()
        ):
            body.append(lines[index])
            index += 1
        if index == len(lines):
            raise ValueError(f"{page.relative_to(ROOT)}:{start + 1}: code block is never closed")
        found.append(Block(page, start + 1, opening["info"].strip(), "\n".join(body) + "\n"))
        index += 1
    return found


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def isolated_env(home: Path) -> dict[str, str]:
    """The environment of a docs subprocess: the test's, minus every telemetry variable,
    with ``FLOWKIT_HOME`` pointed at ``home``."""
    env = {k: v for k, v in clean_environ().items() if not k.startswith(CLEARED_PREFIXES)}
    env["FLOWKIT_HOME"] = str(home)
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


# ---- running a page's python blocks --------------------------------------------------------

RUNNER = r"""
import contextlib, io, json, sys, traceback

blocks = json.load(sys.stdin)
namespace = {"__name__": "__main__"}
results = []
for block in blocks:
    # Pad with blank lines, so that tracebacks give the line in the Markdown page.
    source = "\n" * block["line"] + block["code"]
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured):
            exec(compile(source, block["page"], "exec"), namespace)
    except BaseException:
        results.append({"stdout": captured.getvalue(), "error": traceback.format_exc()})
        break
    results.append({"stdout": captured.getvalue(), "error": None})
with open(sys.argv[1], "w", encoding="utf-8") as fh:
    json.dump(results, fh)
"""


def run_python_blocks(page: Path, runnable: list[Block], tmp_path: Path) -> list[dict[str, str]]:
    """Run ``runnable`` in one subprocess, in order; return each block's stdout and error."""
    cwd, home = tmp_path / "cwd", tmp_path / "flowkit_home"
    cwd.mkdir()
    home.mkdir()
    result_file = tmp_path / "results.json"
    payload = [{"page": b.where.split(":")[0], "line": b.line, "code": b.code} for b in runnable]
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, str(result_file)],
        input=json.dumps(payload),
        cwd=cwd,
        env=isolated_env(home),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    if not result_file.exists():
        pytest.fail(
            f"{page_id(page)}: the docs runner died (exit status {proc.returncode}):\n"
            f"{proc.stdout}{proc.stderr}"
        )
    results: list[dict[str, str]] = json.loads(result_file.read_text(encoding="utf-8"))
    return results


# ---- the tests ----------------------------------------------------------------------------


def test_every_page_exists_and_nothing_else() -> None:
    assert {p.name for p in PAGES} == EXPECTED_PAGES, (
        "docs/ changed: update EXPECTED_PAGES here, and link every page from README.md and "
        "docs/index.md"
    )


@pytest.mark.parametrize("page", ALL_PAGES, ids=page_id)
def test_every_code_block_is_runnable_or_marked(page: Path) -> None:
    found = blocks(page)
    bad = [f"{b.where}: {b.kind.removeprefix('bad: ')}" for b in found if b.kind.startswith("bad")]
    assert not bad, "code blocks neither runnable nor marked:\n" + "\n".join(bad)
    orphans = [
        block.where
        for position, block in enumerate(found)
        if block.kind == "output" and (position == 0 or found[position - 1].kind != "run")
    ]
    assert not orphans, f"a ```text output block must follow a ```python block: {orphans}"


def pages_with_python() -> list[Path]:
    return [page for page in ALL_PAGES if any(b.kind == "run" for b in blocks(page))]


@pytest.mark.parametrize("page", pages_with_python(), ids=page_id)
def test_python_blocks_run(page: Path, tmp_path: Path) -> None:
    found = blocks(page)
    runnable = [b for b in found if b.kind == "run"]
    results = run_python_blocks(page, runnable, tmp_path)
    for block, result in zip(runnable, results, strict=False):  # stops at the first error
        if result["error"]:
            pytest.fail(
                f"{block.where}: the python block raised:\n{result['error']}", pytrace=False
            )
    printed = {
        block.line: result["stdout"] for block, result in zip(runnable, results, strict=True)
    }
    for position, block in enumerate(found):
        if block.kind != "output":
            continue
        source = found[position - 1]
        expected = trimmed(block.code)
        actual = trimmed(printed[source.line])
        assert actual == expected, (
            f"{block.where}: the output shown differs from what {source.where} prints:\n"
            f"--- shown\n{expected}\n--- printed\n{actual}"
        )


def trimmed(text: str) -> str:
    """``text`` without trailing white space on any line or at the end."""
    return "\n".join(line.rstrip() for line in text.rstrip().splitlines())


def pytest_blocks() -> list[Block]:
    return [b for page in ALL_PAGES for b in blocks(page) if b.kind == "pytest"]


@pytest.mark.parametrize("block", pytest_blocks(), ids=lambda b: b.where)
def test_pytest_blocks_pass(block: Block, tmp_path: Path) -> None:
    home = tmp_path / "flowkit_home"
    home.mkdir()
    test_file = tmp_path / f"test_{block.page.stem.replace('.', '_')}_{block.line}.py"
    test_file.write_text(block.code, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test_file.name],
        cwd=tmp_path,
        env=isolated_env(home),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, f"{block.where}: pytest failed:\n{proc.stdout}{proc.stderr}"
    assert re.search(r"\b[1-9]\d* passed\b", proc.stdout), f"{block.where}: no test ran"


def embedded_tables(page: Path) -> list[tuple[int, str, str]]:
    """Return ``(line, lang, body)`` of every events table embedded in ``page``."""
    lines = page.read_text(encoding="utf-8").splitlines(keepends=True)
    tables = []
    for index, line in enumerate(lines):
        start = START.match(line.rstrip("\n"))
        if start is None:
            continue
        for end in range(index + 1, len(lines)):
            if lines[end].rstrip("\n") == END:
                tables.append((index + 1, start["lang"], "".join(lines[index + 1 : end])))
                break
        else:
            pytest.fail(f"{page_id(page)}:{index + 1}: events table without {END}")
    return tables


@pytest.mark.parametrize("name", sorted(TABLE_LANGUAGES))
def test_events_tables_are_current(name: str) -> None:
    page = DOCS / name
    tables = embedded_tables(page)
    assert [lang for _, lang, _ in tables] == [TABLE_LANGUAGES[name]], (
        f"docs/{name} must embed exactly one events table, lang={TABLE_LANGUAGES[name]}, "
        f"between <!-- events-table:start lang={TABLE_LANGUAGES[name]} --> and {END}"
    )
    line, lang, body = tables[0]
    fresh = render_events("markdown", lang)  # type: ignore[arg-type]
    assert body == fresh, (
        f"docs/{name}:{line}: the events table is stale (it differs from what the payload "
        "models give). "
        f"Regenerate it with `{REGENERATE}` (it embeds what "
        f"`flowkit events --format markdown --lang {lang}` prints)."
    )


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_rewrites_a_stale_table_and_nothing_else() -> None:
    generate = load_generator()
    stale = (
        "# Page\n\nBefore.\n\n<!-- events-table:start lang=es -->\n| old | table |\n"
        "<!-- events-table:end -->\n\nAfter.\n"
    )

    fresh = generate.regenerate(stale)

    assert fresh == (
        "# Page\n\nBefore.\n\n<!-- events-table:start lang=es -->\n"
        + render_events("markdown", "es")
        + "<!-- events-table:end -->\n\nAfter.\n"
    )
    assert generate.regenerate(fresh) == fresh


def test_generator_check_passes_on_the_committed_docs() -> None:
    proc = subprocess.run(
        [sys.executable, str(DOCS / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, f"{proc.stdout}{proc.stderr}\nRegenerate with `{REGENERATE}`."


def anchors(page: Path) -> set[str]:
    """The anchors GitHub makes for the headings of ``page`` (outside code blocks)."""
    text = page.read_text(encoding="utf-8")
    for block in blocks(page):
        text = text.replace(block.code, "")
    found = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", text, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        found.add(slug)
    return found


@pytest.mark.parametrize("page", ALL_PAGES, ids=page_id)
def test_relative_links_point_to_files_and_headings_that_exist(page: Path) -> None:
    broken = []
    for match in LINK.finditer(page.read_text(encoding="utf-8")):
        target = match["target"]
        if re.match(r"^[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        if not path.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{page_id(page)}: broken links: {broken}"


@pytest.mark.parametrize("index", [README, DOCS / "index.md"], ids=page_id)
def test_every_docs_page_is_linked(index: Path) -> None:
    text = index.read_text(encoding="utf-8")
    prefix = "docs/" if index == README else ""
    missing = [
        name
        for name in sorted(EXPECTED_PAGES)
        if f"]({prefix}{name})" not in text and index.name != name
    ]
    assert not missing, f"{page_id(index)} does not link {missing}"
