"""Regenerate ``flowkit/telemetry/data/flowise_node_names.json``, the catalog of Flowise's
node names that telemetry lets through unchanged (``<name>_<n>`` ids).

The catalog is the union of:

* a list of node names, one per line, for one Flowise release (by default
  ``tests/data/spec/flowise-3.1.3-node-names.txt``; the version is read from the file name);
* the node names of ``flowise-components`` releases, downloaded from the npm registry with
  ``npm pack`` into a temporary folder: by default every release from 1.0.0 on (about 110,
  three minutes). Old exports need the old releases: 1.x had names since removed
  (``csvAgent``, ``pineconeUpsert``, ``chromaExistingIndex``, ...): every release gives 52
  names more than 3.1.3 and the last 1.x release (1.8.6) together, and 5 more than the last
  release of each minor line (names that lived a few patch releases: ``chatNvdiaNIM``).

A node name is what Flowise itself reads: every module under ``dist/nodes`` that exports
``{ nodeClass: X, ... }`` is a node, and its name is the string ``this.name`` is set to in the
class ``X``. Usage::

    python scripts/flowise_node_names.py                 # write the catalog
    python scripts/flowise_node_names.py --check         # exit 1 if it would change
    python scripts/flowise_node_names.py --quick         # the last release of each minor line
    python scripts/flowise_node_names.py --components 1.8.6 --components 3.1.3

Needs ``npm`` on the PATH and access to the npm registry.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "flowkit" / "telemetry" / "data" / "flowise_node_names.json"
DEFAULT_SPEC = ROOT / "tests" / "data" / "spec" / "flowise-3.1.3-node-names.txt"
PACKAGE = "flowise-components"
NPM_TIMEOUT = 600

_SPEC_VERSION = re.compile(r"flowise-(?P<version>\d+\.\d+\.\d+)-node-names\.txt")
_RELEASE = re.compile(r"(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)")
_EXPORT = re.compile(r"module\.exports\s*=\s*\{[^}]*?\bnodeClass\s*:\s*(?P<cls>[A-Za-z_$][\w$]*)")
_NAME = re.compile(r"""this\.name\s*=\s*(?P<q>['"`])(?P<name>[^'"`\\\n]+)(?P=q)""")
# Flowise's names are identifiers, save a few (1.4's "mistralAI Embeddings"): any printable text.
_NODE_NAME = re.compile(r"[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?")


def names_from_spec(path: Path) -> tuple[str, set[str]]:
    """Return the Flowise version named by ``path`` and the node names it lists."""
    match = _SPEC_VERSION.fullmatch(path.name)
    if match is None:
        raise SystemExit(f"{path}: name it flowise-<x.y.z>-node-names.txt")
    names = {line.strip() for line in path.read_text("utf-8").splitlines() if line.strip()}
    return match["version"], _checked(names, str(path))


def releases(every: bool = True) -> list[str]:
    """Return the releases of ``flowise-components`` to read, oldest first.

    :param every: every release (no pre-releases); else the last release of each minor line
        (``1.0.x`` ... ``3.1.x``), which covers the names every line had at its end.
    """
    versions = json.loads(_npm("view", PACKAGE, "versions", "--json"))
    numbered = sorted(
        tuple(int(part) for part in v.split(".")) for v in versions if _RELEASE.fullmatch(v)
    )
    if not numbered:
        raise SystemExit(f"no release of {PACKAGE} on the registry")
    if not every:
        last_of_line = {(major, minor): (major, minor, patch) for major, minor, patch in numbered}
        numbered = sorted(last_of_line.values())
    return [".".join(str(part) for part in version) for version in numbered]


def names_from_package(version: str, workdir: Path) -> tuple[dict[str, str], set[str]]:
    """Download ``flowise-components@version`` with ``npm pack`` and read its node names.

    :returns: the tarball's identity (version, integrity) and the node names.
    """
    folder = workdir / version
    folder.mkdir()
    packed = json.loads(
        _npm("pack", f"{PACKAGE}@{version}", "--json", "--pack-destination", str(folder))
    )[0]
    names: set[str] = set()
    with tarfile.open(folder / packed["filename"], "r:gz") as archive:
        for member in archive.getmembers():
            parts = member.name.split("/")
            if not (member.isfile() and parts[1:3] == ["dist", "nodes"]):
                continue
            if not member.name.endswith(".js"):
                continue
            stream = archive.extractfile(member)
            assert stream is not None
            name = node_name(stream.read().decode("utf-8", "replace"))
            if name is not None:
                names.add(name)
    source = {"package": PACKAGE, "version": packed["version"], "integrity": packed["integrity"]}
    return source, _checked(names, f"{PACKAGE}@{version}")


def node_name(module: str) -> str | None:
    """Return the node name a compiled node module declares, or None when it is no node.

    :raises SystemExit: when the module exports a node class whose name cannot be read.
    """
    export = _EXPORT.search(module)
    if export is None:
        return None
    declaration = re.search(rf"\bclass\s+{re.escape(export['cls'])}\b[^{{]*\{{", module)
    if declaration is None:
        raise SystemExit(f"node class {export['cls']} is exported but not declared")
    body_end = re.compile(r"^class\s", re.MULTILINE).search(module, declaration.end())
    match = _NAME.search(module, declaration.end(), body_end.start() if body_end else len(module))
    if match is None:
        raise SystemExit(f"node class {export['cls']} sets no literal this.name")
    return match["name"]


def _checked(names: set[str], where: str) -> set[str]:
    bad = sorted(name for name in names if not _NODE_NAME.fullmatch(name))
    if bad:
        raise SystemExit(f"{where}: not node names: {bad[:5]}")
    if not names:
        raise SystemExit(f"{where}: no node names found")
    return names


def _npm(*args: str) -> str:
    try:
        done = subprocess.run(
            ["npm", *args], capture_output=True, text=True, check=True, timeout=NPM_TIMEOUT
        )
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or exc
        raise SystemExit(f"npm {' '.join(args)} failed: {detail}") from None
    return done.stdout


def build(spec: Path, components: list[str]) -> dict[str, object]:
    """Return the catalog: its sources, with how many names each gave, and the sorted union."""
    spec_version, names = names_from_spec(spec)
    sources: list[dict[str, object]] = [
        {"package": "flowise", "version": spec_version, "list": spec.name, "names": len(names)}
    ]
    with tempfile.TemporaryDirectory(prefix="flowise-node-names-") as tmp:
        for version in components:
            source, found = names_from_package(version, Path(tmp))
            sources.append({**source, "names": len(found)})
            names |= found
    return {
        "about": (
            "Node names of Flowise components (node ids <name>_<n> pass telemetry unchanged). "
            "Generated by scripts/flowise_node_names.py; do not edit by hand."
        ),
        "sources": sources,
        "names": sorted(names),
    }


def main(argv: list[str] | None = None) -> int:
    """Write (or, with ``--check``, compare) the catalog; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help="a names list file")
    parser.add_argument(
        "--components",
        action="append",
        metavar="VERSION",
        help=f"a {PACKAGE} version to add (repeatable); default: every release",
    )
    parser.add_argument(
        "--quick", action="store_true", help="read only the last release of each minor line"
    )
    parser.add_argument("--output", type=Path, default=CATALOG)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file would change")
    args = parser.parse_args(argv)

    components = args.components or releases(every=not args.quick)
    text = json.dumps(build(args.spec, components), indent=1) + "\n"
    if args.check:
        current = args.output.read_text("utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, "utf-8")
    print(f"wrote {len(json.loads(text)['names'])} names to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
