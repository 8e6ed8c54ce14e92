"""TelemetrySettings: the opt-out (safe union, fail closed), .env discovery, precedence."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dotenv import set_key
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowkit.telemetry import settings as settings_module
from flowkit.telemetry.settings import DEFAULT_POSTHOG_HOST, Destination, TelemetrySettings

LOGGER = "flowkit.telemetry"
OPT_OUTS = ("DISABLE_FLOWISE_TELEMETRY", "DO_NOT_TRACK")
FALSY = ["", "0", "false", "FALSE", "False", "no", "NO", "off", "Off", "  false ", "\tno\n"]
TRUTHY = ["true", "TRUE", "1", "yes", "on", "garbage", "2", "enabled", " y ", "\xa0false"]
# Independent oracle: ASCII whitespace, ASCII case-insensitive (no Unicode case folding).
FALSY_PATTERN = re.compile(r"[ \t\n\r\v\f]*(?:|0|false|no|off)[ \t\n\r\v\f]*", re.I | re.A)
FIXTURE_CHECKS = [HealthCheck.function_scoped_fixture]


@pytest.fixture
def no_dotenv(tmp_path: Path) -> Path:
    """An explicit .env path that does not exist: no .env is read."""
    return tmp_path / "absent" / ".env"


def write_dotenv(folder: Path, text: str | bytes) -> Path:
    path = folder / ".env"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def warnings_from(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


def listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# --- the opt-out values -------------------------------------------------------------------


@pytest.mark.parametrize("name", OPT_OUTS)
@pytest.mark.parametrize("value", FALSY)
def test_falsy_spellings_keep_telemetry_on(name: str, value: str, no_dotenv: Path) -> None:
    result = TelemetrySettings.from_env({name: value}, dotenv_path=no_dotenv)

    assert result.enabled
    assert result.disabled_by is None


@pytest.mark.parametrize("name", OPT_OUTS)
@pytest.mark.parametrize("value", TRUTHY)
def test_other_values_turn_telemetry_off(name: str, value: str, no_dotenv: Path) -> None:
    result = TelemetrySettings.from_env({name: value}, dotenv_path=no_dotenv)

    assert not result.enabled
    assert result.disabled_by is not None
    assert result.disabled_by.startswith(name)


@settings(suppress_health_check=FIXTURE_CHECKS)
@given(
    name=st.sampled_from(OPT_OUTS),
    value=st.one_of(
        st.text(),
        st.sampled_from(["", "0", "false", "no", "off"]).map(lambda v: f" {v.upper()}\t"),
    ),
)
def test_environment_value_turns_off_unless_falsy(name: str, value: str, no_dotenv: Path) -> None:
    result = TelemetrySettings.from_env({name: value}, dotenv_path=no_dotenv)

    assert result.enabled == bool(FALSY_PATTERN.fullmatch(value))


@settings(suppress_health_check=FIXTURE_CHECKS, max_examples=60)
@given(name=st.sampled_from(OPT_OUTS), value=st.text(st.characters(exclude_categories=["Cs"])))
def test_dotenv_value_turns_off_unless_falsy(name: str, value: str, tmp_path: Path) -> None:
    path = tmp_path / "h.env"
    path.unlink(missing_ok=True)
    set_key(path, name, value)  # python-dotenv's own quoting; reading turns \r into \n
    read_back = value.replace("\r\n", "\n").replace("\r", "\n")
    # A value on several lines is not read for certain (a reader without multi-line values
    # sees NAME=' alone, an opt-out): it turns telemetry off, falsy or not.
    one_line = len(f"'{value}'".splitlines()) == 1

    result = TelemetrySettings.from_env({}, dotenv_path=path)

    assert result.enabled == (one_line and bool(FALSY_PATTERN.fullmatch(read_back)))


@pytest.mark.parametrize(
    "name",
    ["do_not_track", "Do_Not_Track", "disable_flowise_telemetry", "Disable_FLOWISE_telemetry"],
)
def test_opt_out_name_in_another_case_in_environment_turns_off(name: str, no_dotenv: Path) -> None:
    result = TelemetrySettings.from_env({name: "1"}, dotenv_path=no_dotenv)

    assert not result.enabled
    assert result.disabled_by == f"{name}=1 in environment"


def test_opt_out_name_in_another_case_reads_like_dotenv(tmp_path: Path) -> None:
    path = write_dotenv(tmp_path, "do_not_track=1\n")

    from_dotenv = TelemetrySettings.from_env({}, dotenv_path=path)
    absent = tmp_path / "absent.env"
    from_environment = TelemetrySettings.from_env({"do_not_track": "1"}, dotenv_path=absent)

    assert from_dotenv.enabled is from_environment.enabled is False


@settings(suppress_health_check=FIXTURE_CHECKS)
@given(
    spelling=st.sampled_from(OPT_OUTS).flatmap(
        lambda name: st.lists(st.booleans(), min_size=len(name), max_size=len(name)).map(
            lambda lower: "".join(
                c.lower() if low else c for c, low in zip(name, lower, strict=True)
            )
        )
    ),
    value=st.one_of(st.text(), st.sampled_from(FALSY)),
)
def test_any_ascii_case_of_an_opt_out_name_in_environment_counts(
    spelling: str, value: str, no_dotenv: Path
) -> None:
    result = TelemetrySettings.from_env({spelling: value}, dotenv_path=no_dotenv)

    assert result.enabled == bool(FALSY_PATTERN.fullmatch(value))


def test_falsy_lowercase_name_cannot_undo_an_opt_out(no_dotenv: Path) -> None:
    environ = {"DO_NOT_TRACK": "1", "do_not_track": "0"}

    result = TelemetrySettings.from_env(environ, dotenv_path=no_dotenv)

    assert result.disabled_by == "DO_NOT_TRACK=1 in environment"


def test_exact_spelling_is_named_before_another_case(no_dotenv: Path) -> None:
    environ = {"do_not_track": "yes", "DISABLE_FLOWISE_TELEMETRY": "true"}

    result = TelemetrySettings.from_env(environ, dotenv_path=no_dotenv)

    assert result.disabled_by == "DISABLE_FLOWISE_TELEMETRY=true in environment"


def test_falsy_lowercase_name_keeps_telemetry_on(no_dotenv: Path) -> None:
    result = TelemetrySettings.from_env({"do_not_track": "false"}, dotenv_path=no_dotenv)

    assert result.enabled


@pytest.mark.parametrize(
    "name", ["DO_NOT_TRACK_ME", "x_do_not_track", "\uff44o_not_track", "DO NOT TRACK"]
)
def test_other_names_like_an_opt_out_do_not_count(name: str, no_dotenv: Path) -> None:
    result = TelemetrySettings.from_env({name: "1"}, dotenv_path=no_dotenv)

    assert result.enabled


def test_lowercase_opt_out_in_os_environ_turns_off(
    monkeypatch: pytest.MonkeyPatch, no_dotenv: Path
) -> None:
    monkeypatch.setenv("do_not_track", "1")

    result = TelemetrySettings.from_env(dotenv_path=no_dotenv)

    assert result.disabled_by == "do_not_track=1 in environment"


def test_bare_key_in_dotenv_turns_telemetry_off(tmp_path: Path) -> None:
    path = write_dotenv(tmp_path, "DO_NOT_TRACK\n")

    result = TelemetrySettings.from_env({}, dotenv_path=path)

    assert not result.enabled
    assert result.disabled_by == f"DO_NOT_TRACK (no value) in {path}"


def test_opt_out_in_environment_names_variable_and_source(no_dotenv: Path) -> None:
    environ = {"DISABLE_FLOWISE_TELEMETRY": "true"}

    result = TelemetrySettings.from_env(environ, dotenv_path=no_dotenv)

    assert result.disabled_by == "DISABLE_FLOWISE_TELEMETRY=true in environment"


def test_opt_out_in_dotenv_only_names_the_file(tmp_path: Path) -> None:
    path = write_dotenv(tmp_path, "DISABLE_FLOWISE_TELEMETRY=true\n")

    result = TelemetrySettings.from_env({}, dotenv_path=path)

    assert not result.enabled
    assert result.disabled_by == f"DISABLE_FLOWISE_TELEMETRY=true in {path}"


def test_do_not_track_in_dotenv_turns_telemetry_off(tmp_path: Path) -> None:
    path = write_dotenv(tmp_path, "DO_NOT_TRACK=1\n")

    result = TelemetrySettings.from_env({}, dotenv_path=path)

    assert result.disabled_by == f"DO_NOT_TRACK=1 in {path}"


def test_environment_false_cannot_undo_dotenv_opt_out(tmp_path: Path) -> None:
    path = write_dotenv(tmp_path, "DISABLE_FLOWISE_TELEMETRY=true\n")

    result = TelemetrySettings.from_env({"DISABLE_FLOWISE_TELEMETRY": "false"}, dotenv_path=path)

    assert not result.enabled


def test_dotenv_false_cannot_undo_environment_opt_out(tmp_path: Path) -> None:
    path = write_dotenv(tmp_path, "DISABLE_FLOWISE_TELEMETRY=false\n")

    result = TelemetrySettings.from_env({"DISABLE_FLOWISE_TELEMETRY": "true"}, dotenv_path=path)

    assert result.disabled_by == "DISABLE_FLOWISE_TELEMETRY=true in environment"


def test_falsy_values_in_both_sources_keep_telemetry_on(tmp_path: Path) -> None:
    path = write_dotenv(tmp_path, "DISABLE_FLOWISE_TELEMETRY=false\nDO_NOT_TRACK=0\n")

    result = TelemetrySettings.from_env({"DO_NOT_TRACK": "no"}, dotenv_path=path)

    assert result.enabled


def test_dotenv_values_are_taken_literally_not_interpolated(tmp_path: Path) -> None:
    path = write_dotenv(tmp_path, "DO_NOT_TRACK=${FLOWKIT_SURELY_UNSET_VARIABLE}\n")

    result = TelemetrySettings.from_env({}, dotenv_path=path)

    assert not result.enabled


def test_byte_order_mark_does_not_hide_the_first_key(tmp_path: Path) -> None:
    path = write_dotenv(tmp_path, b"\xef\xbb\xbfDO_NOT_TRACK=1\n")

    result = TelemetrySettings.from_env({}, dotenv_path=path)

    assert result.disabled_by == f"DO_NOT_TRACK=1 in {path}"


def test_huge_opt_out_value_is_shortened_in_disabled_by(no_dotenv: Path) -> None:
    result = TelemetrySettings.from_env({"DO_NOT_TRACK": "x" * 100_000}, dotenv_path=no_dotenv)

    assert result.disabled_by is not None
    assert len(result.disabled_by) < 100


def test_os_environ_is_read_when_no_environ_is_given(
    monkeypatch: pytest.MonkeyPatch, no_dotenv: Path
) -> None:
    monkeypatch.setenv("DO_NOT_TRACK", "1")

    result = TelemetrySettings.from_env(dotenv_path=no_dotenv)

    assert result.disabled_by == "DO_NOT_TRACK=1 in environment"


# --- finding and reading the .env file ---------------------------------------------------


def test_dotenv_is_found_by_searching_up_from_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_dotenv(tmp_path / "project", "DO_NOT_TRACK=yes\n")
    nested = tmp_path / "project" / "src" / "pkg"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)

    result = TelemetrySettings.from_env({})

    assert result.dotenv_file == path
    assert not result.enabled


def test_nearest_dotenv_wins_over_one_further_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dotenv(tmp_path, "DO_NOT_TRACK=1\n")
    nearer = write_dotenv(tmp_path / "inner", "FLOWKIT_HOME=/srv/flowkit\n")
    monkeypatch.chdir(tmp_path / "inner")

    result = TelemetrySettings.from_env({})

    assert (result.dotenv_file, result.enabled) == (nearer, True)


def test_dotenv_folder_is_skipped_by_the_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A virtualenv named .env is not a dotenv file: python-dotenv's search skips it too."""
    project = tmp_path / "project"
    (project / ".env" / "bin").mkdir(parents=True)
    outer = write_dotenv(tmp_path, "FLOWKIT_HOME=/srv/flowkit\n")
    monkeypatch.chdir(project)

    result = TelemetrySettings.from_env({})

    assert (result.dotenv_file, result.enabled) == (outer, True)
    assert warnings_from(caplog) == []


def test_explicit_dotenv_path_replaces_the_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dotenv(tmp_path, "DO_NOT_TRACK=1\n")
    explicit = tmp_path / "conf" / "telemetry.env"
    explicit.parent.mkdir()
    explicit.write_text("POSTHOG_HOST=https://eu.i.posthog.com\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    result = TelemetrySettings.from_env({}, dotenv_path=explicit)

    assert (result.dotenv_file, result.enabled) == (explicit, True)
    assert result.posthog_host == "https://eu.i.posthog.com"


def test_missing_explicit_dotenv_counts_as_none(
    no_dotenv: Path, caplog: pytest.LogCaptureFixture
) -> None:
    result = TelemetrySettings.from_env({}, dotenv_path=no_dotenv)

    assert (result.dotenv_file, result.enabled) == (None, True)
    assert warnings_from(caplog) == []


def test_dotenv_never_reaches_os_environ(tmp_path: Path) -> None:
    path = write_dotenv(tmp_path, "FLOWKIT_TEST_ONLY_MARKER=1\nDO_NOT_TRACK=1\n")

    TelemetrySettings.from_env({}, dotenv_path=path)

    assert "FLOWKIT_TEST_ONLY_MARKER" not in os.environ


# --- an unreadable .env fails closed -----------------------------------------------------


def test_dotenv_that_is_a_folder_turns_off_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / ".env"
    folder.mkdir()

    result = TelemetrySettings.from_env({}, dotenv_path=folder)

    assert not result.enabled
    assert result.disabled_by is not None
    assert result.disabled_by.startswith(f"unreadable .env file {folder}")
    assert len(warnings_from(caplog)) == 1


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe\x00", b"DO_NOT_TRACK=0\n\x00\x01\x02", b"DO_NOT_TRACK=0\n\xc3\x28\n"],
    ids=["utf16-bom", "nul-bytes", "invalid-utf8"],
)
def test_binary_dotenv_turns_off_with_one_warning(
    content: bytes, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_dotenv(tmp_path, content)

    result = TelemetrySettings.from_env({}, dotenv_path=path)

    assert not result.enabled
    assert len(warnings_from(caplog)) == 1


def test_unparseable_dotenv_line_turns_off_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_dotenv(tmp_path, "FLOWKIT_HOME=/srv/a\nDO_NOT_TRACK='never closed\n")

    result = TelemetrySettings.from_env({}, dotenv_path=path)

    assert not result.enabled
    assert result.disabled_by == f"unparseable .env file {path} (line 2)"
    assert len(warnings_from(caplog)) == 1


def test_dotenv_read_error_turns_off_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_dotenv(tmp_path, "DO_NOT_TRACK=0\n")

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(path))

    # Tests run as root, which ignores chmod 000: simulate the refusal at the open() call.
    monkeypatch.setattr(settings_module, "open", refuse, raising=False)
    result = TelemetrySettings.from_env({}, dotenv_path=path)

    assert not result.enabled
    assert result.disabled_by is not None
    assert "PermissionError" in result.disabled_by
    assert len(warnings_from(caplog)) == 1


def test_environment_opt_out_is_named_before_an_unreadable_dotenv(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_dotenv(tmp_path, b"\xff")

    result = TelemetrySettings.from_env({"DO_NOT_TRACK": "1"}, dotenv_path=path)

    assert result.disabled_by == "DO_NOT_TRACK=1 in environment"
    assert len(warnings_from(caplog)) == 1


@settings(suppress_health_check=FIXTURE_CHECKS, max_examples=60)
@given(content=st.binary(max_size=300))
def test_any_dotenv_bytes_never_raise_and_undecodable_turns_off(
    content: bytes, tmp_path: Path
) -> None:
    path = write_dotenv(tmp_path, content)

    result = TelemetrySettings.from_env({}, dotenv_path=path)

    if b"\x00" in content:
        assert not result.enabled
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        assert not result.enabled


# --- every other setting: environment first, then .env -----------------------------------


@pytest.mark.parametrize(
    ("name", "attribute"),
    [
        ("FLOWKIT_HOME", "home"),
        ("POSTHOG_PUBLIC_API_KEY", "posthog_api_key"),
        ("POSTHOG_HOST", "posthog_host"),
        ("FLOWKIT_TELEMETRY_FILE", "telemetry_file"),
    ],
)
def test_environment_wins_over_dotenv(name: str, attribute: str, tmp_path: Path) -> None:
    path = write_dotenv(tmp_path, f"{name}=/from/file\n")

    result = TelemetrySettings.from_env({name: "/from/env"}, dotenv_path=path)

    assert str(getattr(result, attribute)) == "/from/env"


def test_dotenv_fills_settings_the_environment_lacks(tmp_path: Path) -> None:
    path = write_dotenv(
        tmp_path,
        "FLOWKIT_HOME=/srv/fk\nPOSTHOG_PUBLIC_API_KEY=phc_x\nFLOWKIT_TELEMETRY_FILE=/srv/t.jsonl\n",
    )

    result = TelemetrySettings.from_env({}, dotenv_path=path)

    assert (result.home, result.posthog_api_key) == (Path("/srv/fk"), "phc_x")
    assert result.telemetry_file == Path("/srv/t.jsonl")


def test_empty_environment_value_counts_as_unset(tmp_path: Path) -> None:
    path = write_dotenv(tmp_path, "FLOWKIT_HOME=/srv/fk\n")

    result = TelemetrySettings.from_env({"FLOWKIT_HOME": "", "POSTHOG_HOST": " "}, path)

    assert (result.home, result.posthog_host) == (Path("/srv/fk"), DEFAULT_POSTHOG_HOST)


def test_defaults_when_nothing_is_set(no_dotenv: Path) -> None:
    result = TelemetrySettings.from_env({}, dotenv_path=no_dotenv)

    assert result.home == Path("~/.flowkit").expanduser()
    assert (result.posthog_api_key, result.posthog_host) == (None, DEFAULT_POSTHOG_HOST)
    assert (result.telemetry_file, result.dotenv_file) == (None, None)


def test_tilde_in_home_is_expanded(no_dotenv: Path) -> None:
    result = TelemetrySettings.from_env({"FLOWKIT_HOME": "~/fk"}, dotenv_path=no_dotenv)

    assert result.home == Path.home() / "fk"


@settings(suppress_health_check=FIXTURE_CHECKS, max_examples=60)
@given(environ=st.dictionaries(st.text(), st.text(), max_size=8))
def test_any_environment_never_raises_or_writes(environ: dict[str, str], tmp_path: Path) -> None:
    before = listing(tmp_path)

    result = TelemetrySettings.from_env(environ, dotenv_path=tmp_path / "none.env")

    assert isinstance(result.describe_destination(), str)
    assert listing(tmp_path) == before


def test_from_env_creates_no_files_or_folders(tmp_path: Path) -> None:
    path = write_dotenv(tmp_path, "FLOWKIT_TELEMETRY_FILE=out/t.jsonl\n")
    home = tmp_path / "home"
    before = listing(tmp_path)

    result = TelemetrySettings.from_env({"FLOWKIT_HOME": str(home)}, dotenv_path=path)
    result.describe_destination()

    assert listing(tmp_path) == before


# --- destination and paths -----------------------------------------------------------------


def test_posthog_key_wins_over_telemetry_file(tmp_path: Path) -> None:
    result = TelemetrySettings(
        home=tmp_path, posthog_api_key="phc_k", telemetry_file=tmp_path / "t.jsonl"
    )

    assert result.destination == Destination("posthog", DEFAULT_POSTHOG_HOST)


def test_telemetry_file_wins_over_home(tmp_path: Path) -> None:
    result = TelemetrySettings(home=tmp_path, telemetry_file=tmp_path / "t.jsonl")

    assert result.destination == Destination("jsonl", str(tmp_path / "t.jsonl"))


def test_destination_defaults_to_jsonl_in_home(tmp_path: Path) -> None:
    result = TelemetrySettings(home=tmp_path)

    assert result.destination == Destination("jsonl", str(tmp_path / "telemetry.jsonl"))


def test_description_names_host_but_never_the_key(tmp_path: Path) -> None:
    result = TelemetrySettings(home=tmp_path, posthog_api_key="phc_secretish")

    assert result.describe_destination() == f"PostHog at {DEFAULT_POSTHOG_HOST}"


def test_description_of_disabled_settings_says_why(tmp_path: Path) -> None:
    result = TelemetrySettings(home=tmp_path, enabled=False, disabled_by="DO_NOT_TRACK=1 in env")

    assert result.describe_destination() == "nowhere: telemetry is off (DO_NOT_TRACK=1 in env)"


def test_outbox_and_instance_file_live_in_home(tmp_path: Path) -> None:
    result = TelemetrySettings(home=tmp_path)

    assert result.outbox_path == tmp_path / "outbox.jsonl"
    assert result.instance_file == tmp_path / "settings.json"


def test_direct_construction_with_only_home_is_enabled(tmp_path: Path) -> None:
    result = TelemetrySettings(home=tmp_path)

    assert (result.enabled, result.disabled_by, result.dotenv_file) == (True, None, None)


def test_settings_are_frozen(tmp_path: Path) -> None:
    result = TelemetrySettings(home=tmp_path)

    with pytest.raises(dataclasses.FrozenInstanceError):
        result.enabled = False  # type: ignore[misc]


def test_import_reads_and_writes_nothing(tmp_path: Path) -> None:
    write_dotenv(tmp_path, "DO_NOT_TRACK=1\n")
    env = {**os.environ, "HOME": str(tmp_path), "FLOWKIT_HOME": str(tmp_path / "fk")}
    code = (
        "import os, threading\n"
        "import flowkit.telemetry.settings, flowkit.telemetry.identity\n"
        "print(threading.active_count(), 'DO_NOT_TRACK' in os.environ)\n"
    )
    env.pop("DO_NOT_TRACK", None)

    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )

    assert done.stdout.split() == ["1", "False"], done.stderr
    assert listing(tmp_path) == [".env"]
