"""Helpers of the CLI tests: subprocess results and minimal Flowise flow files."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Result:
    """What a ``flowkit`` subprocess did."""

    code: int
    out: str
    err: str


Run = Callable[..., Result]


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as JSON to ``path`` and return the path."""
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def node(node_id: str, name: str, category: str) -> dict[str, Any]:
    """A minimal Flowise node."""
    return {"id": node_id, "data": {"id": node_id, "name": name, "category": category}}


def edge(source: str, target: str, edge_id: str | None = None) -> dict[str, Any]:
    """A minimal Flowise edge."""
    return {"source": source, "target": target, "id": edge_id or f"{source}-{target}"}
