"""Every generated events table in the docs, both profiles included, is current."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _generate() -> object:
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("page", ["telemetry.md", "telemetry.es.md"])
def test_both_profiles_tables_are_current(page: str) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")

    assert "profile=flowise-3" in text
    assert _generate().regenerate(text) == text, f"run: python docs/generate.py ({page})"  # type: ignore[attr-defined]
