"""The anonymous instance id: created once, reused, repaired, and never a crash."""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowkit.telemetry.identity import load_or_create_instance_id, peek_instance_id

LOGGER = "flowkit.telemetry"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


def stored(home: Path) -> dict[str, object]:
    data = json.loads((home / "settings.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def is_uuid4(value: str) -> bool:
    return uuid.UUID(value).version == 4 and str(uuid.UUID(value)) == value


def warnings_from(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


def test_first_call_stores_a_uuid4_in_settings_json(tmp_path: Path) -> None:
    instance_id = load_or_create_instance_id(tmp_path)

    assert is_uuid4(instance_id)
    assert stored(tmp_path) == {"instanceId": instance_id}


def test_later_calls_reuse_the_stored_id(tmp_path: Path) -> None:
    first = load_or_create_instance_id(tmp_path)

    second = load_or_create_instance_id(tmp_path)

    assert second == first


def test_missing_home_folder_is_created(tmp_path: Path) -> None:
    home = tmp_path / "a" / "b" / ".flowkit"

    instance_id = load_or_create_instance_id(home)

    assert stored(home)["instanceId"] == instance_id


def test_existing_flowise_style_file_is_used_unchanged(tmp_path: Path) -> None:
    known = str(uuid.uuid4())
    text = json.dumps({"instanceId": known, "theme": "dark"})
    (tmp_path / "settings.json").write_text(text, encoding="utf-8")

    instance_id = load_or_create_instance_id(tmp_path)

    assert instance_id == known
    assert (tmp_path / "settings.json").read_text(encoding="utf-8") == text


def test_other_keys_are_kept_when_the_id_is_added(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text('{"theme": "dark", "n": [1]}', encoding="utf-8")

    instance_id = load_or_create_instance_id(tmp_path)

    assert stored(tmp_path) == {"theme": "dark", "n": [1], "instanceId": instance_id}


def test_invalid_id_is_replaced_keeping_other_keys(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(
        '{"instanceId": "not-a-uuid", "theme": "dark"}', encoding="utf-8"
    )

    instance_id = load_or_create_instance_id(tmp_path)

    assert is_uuid4(instance_id)
    assert stored(tmp_path) == {"instanceId": instance_id, "theme": "dark"}


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe\x00", b"", b"[" * 100_000])
def test_corrupt_file_is_replaced_with_a_fresh_id(content: bytes, tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_bytes(content)

    instance_id = load_or_create_instance_id(tmp_path)

    assert is_uuid4(instance_id)
    assert stored(tmp_path) == {"instanceId": instance_id}


def test_first_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    load_or_create_instance_id(tmp_path)

    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_repair_leaves_no_temporary_files(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text("{broken", encoding="utf-8")

    load_or_create_instance_id(tmp_path)

    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_home_that_is_a_file_gives_a_process_id_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "not-a-folder"
    home.write_text("I am a file", encoding="utf-8")

    first = load_or_create_instance_id(home)
    second = load_or_create_instance_id(home)

    assert is_uuid4(first)
    assert second == first
    assert len(warnings_from(caplog)) == 1
    assert home.read_text(encoding="utf-8") == "I am a file"


def test_settings_json_that_is_a_folder_gives_a_process_id(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "settings.json").mkdir()

    instance_id = load_or_create_instance_id(tmp_path)

    assert is_uuid4(instance_id)
    assert len(warnings_from(caplog)) == 1


def test_unwritable_homes_share_one_process_id(tmp_path: Path) -> None:
    (tmp_path / "one").write_text("", encoding="utf-8")
    (tmp_path / "two").write_text("", encoding="utf-8")

    first = load_or_create_instance_id(tmp_path / "one")
    second = load_or_create_instance_id(tmp_path / "two")

    assert first == second


def test_concurrent_first_calls_agree_on_one_id(tmp_path: Path) -> None:
    barrier = threading.Barrier(16)
    results: list[str] = []

    def call() -> None:
        barrier.wait()
        results.append(load_or_create_instance_id(tmp_path))

    threads = [threading.Thread(target=call) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 16
    assert set(results) == {stored(tmp_path)["instanceId"]}


def test_file_created_by_another_writer_is_respected(tmp_path: Path) -> None:
    """What a second process sees: the id on disk, not a new one of its own."""
    other = str(uuid.uuid4())
    (tmp_path / "settings.json").write_text(json.dumps({"instanceId": other}), encoding="utf-8")

    assert load_or_create_instance_id(tmp_path) == other


@given(content=json_values)
def test_any_json_content_yields_a_valid_id_and_keeps_other_keys(content: object) -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        (home / "settings.json").write_text(json.dumps(content), encoding="utf-8")

        instance_id = load_or_create_instance_id(home)

        assert str(uuid.UUID(instance_id)) == instance_id
        if isinstance(content, dict):
            kept = {k: v for k, v in content.items() if k != "instanceId"}
            assert {k: v for k, v in stored(home).items() if k != "instanceId"} == kept


def test_peek_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "fk"

    assert peek_instance_id(home) is None
    assert not home.exists()


def test_peek_returns_the_stored_id(tmp_path: Path) -> None:
    instance_id = load_or_create_instance_id(tmp_path)

    assert peek_instance_id(tmp_path) == instance_id


def test_peek_ignores_an_invalid_file_without_repairing_it(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text('{"instanceId": 42}', encoding="utf-8")

    assert peek_instance_id(tmp_path) is None
    assert stored(tmp_path) == {"instanceId": 42}
