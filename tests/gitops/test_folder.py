"""The folder format: file names, stable JSON, reading a folder and its errors."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowkit.gitops import FolderError, entity_name, file_name
from flowkit.gitops.folder import (
    TOOLS,
    Document,
    dumps,
    read_folder,
    write_document,
)


def test_a_plain_name_is_the_file_name() -> None:
    assert file_name("Docs QA") == "Docs QA.json"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a/b", "a%2Fb.json"),
        ("50% off", "50%25 off.json"),
        ("..", "%2E%2E.json"),
        (".hidden", "%2Ehidden.json"),
        ("trailing ", "trailing%20.json"),
        ("CON", "%43ON.json"),
        ('what? "x" <y> | z: w*\\', "what%3F %22x%22 %3Cy%3E %7C z%3A w%2A%5C.json"),
        ("tab\there", "tab%09here.json"),
        ("Café ☕", "Café ☕.json"),
    ],
)
def test_unsafe_characters_are_escaped(name: str, expected: str) -> None:
    assert file_name(name) == expected
    assert entity_name(Path(expected)) == name


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=60).filter(lambda s: s == unicodedata.normalize("NFC", s)))
def test_every_name_round_trips_through_its_file_name(name: str) -> None:
    escaped = file_name(name)

    assert "/" not in escaped
    assert "\\" not in escaped
    assert "\x00" not in escaped
    assert not escaped.startswith((".", " "))
    assert entity_name(Path(escaped)) == name


def test_an_empty_or_huge_name_is_refused() -> None:
    with pytest.raises(FolderError, match="empty name"):
        file_name("")
    with pytest.raises(FolderError, match="too long"):
        file_name("x" * 300)


def test_stable_json_keeps_key_order_and_ends_with_a_newline() -> None:
    text = dumps({"nodes": [], "b": 1, "a": {"z": "é", "y": 2}})

    assert text == '{\n  "nodes": [],\n  "b": 1,\n  "a": {\n    "z": "é",\n    "y": 2\n  }\n}\n'


def test_a_file_is_rewritten_only_when_its_content_differs(tmp_path: Path) -> None:
    document = Document(TOOLS, "t", {"name": "t", "description": "d"})

    assert write_document(tmp_path, document) is True
    path = tmp_path / "tools" / "t.json"
    before = path.stat().st_mtime_ns
    assert write_document(tmp_path, document) is False
    assert path.stat().st_mtime_ns == before
    assert json.loads(path.read_text(encoding="utf-8")) == document.data
    assert [p.name for p in (tmp_path / "tools").iterdir()] == ["t.json"]  # no temp left


def test_a_missing_folder_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(FolderError, match="flowkit pull"):
        read_folder(tmp_path / "nope")


def test_other_files_and_folders_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "chatflows").mkdir()
    (tmp_path / "chatflows" / "README.md").write_text("notes", encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "x.json").write_text("not json", encoding="utf-8")

    assert read_folder(tmp_path) == {}


def test_every_bad_file_is_named_at_once(tmp_path: Path) -> None:
    (tmp_path / "chatflows").mkdir()
    (tmp_path / "tools").mkdir()
    (tmp_path / "chatflows" / "broken.json").write_text("{nope", encoding="utf-8")
    (tmp_path / "chatflows" / "list.json").write_text("[]", encoding="utf-8")
    (tmp_path / "tools" / "t.json").write_text('{"name": "t", "schema": 3}', encoding="utf-8")

    with pytest.raises(FolderError) as caught:
        read_folder(tmp_path)

    problems = caught.value.problems
    assert len(problems) == 3
    assert any(p.startswith("chatflows/broken.json: ") and "not valid JSON" in p for p in problems)
    assert any(p.startswith("chatflows/list.json: ") for p in problems)
    assert any(p.startswith("tools/t.json: ") for p in problems)


def test_two_files_of_one_name_are_an_error_naming_both(tmp_path: Path) -> None:
    (tmp_path / "tools").mkdir()
    for file in ("Get Date.json", "todays_date.json"):
        (tmp_path / "tools" / file).write_text(
            '{"name": "todays_date", "description": "d"}', encoding="utf-8"
        )

    with pytest.raises(FolderError) as caught:
        read_folder(tmp_path)

    assert caught.value.problems == (
        "tools/todays_date is in two files: tools/Get Date.json and tools/todays_date.json; "
        "keep one",
    )


def test_a_tool_is_named_by_its_name_field_and_a_chatflow_by_its_file(tmp_path: Path) -> None:
    (tmp_path / "tools").mkdir()
    (tmp_path / "chatflows").mkdir()
    (tmp_path / "tools" / "Get Date.json").write_text(
        '{"name": "todays_date", "description": "d"}', encoding="utf-8"
    )
    (tmp_path / "chatflows" / "a%2Fb.json").write_text(
        '{"nodes": [], "edges": []}', encoding="utf-8"
    )

    assert sorted(read_folder(tmp_path)) == [("chatflows", "a/b"), ("tools", "todays_date")]
