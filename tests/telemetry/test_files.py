"""Files under the telemetry home: 0600 in 0700 folders whatever the umask, never through a
symlink, and never a torn line."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from flowkit.errors import DeliveryError
from flowkit.runtime import retrieval_demo_flow
from flowkit.telemetry import JsonlSink, Telemetry, TelemetryEvent, TelemetrySettings
from telemetry.helpers import recorded_events, send_prediction


class Down:
    def send(self, batch: Sequence[TelemetryEvent]) -> None:
        raise ConnectionError("down")

    def close(self) -> None:
        pass


def events(count: int, home: Path) -> list[TelemetryEvent]:
    return recorded_events(count, home)


@pytest.fixture
def lax_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("lax_umask")
def test_home_outbox_jsonl_and_settings_are_private_under_umask_000(tmp_path: Path) -> None:
    home = tmp_path / "new" / "home"
    sent = events(2, home)
    JsonlSink(home / "logs" / "telemetry.jsonl").send(sent)
    telemetry = Telemetry(sink=Down(), settings=TelemetrySettings(home=home), max_backoff=0.01)
    telemetry.connect()
    send_prediction(retrieval_demo_flow("x"), "c")
    telemetry.shutdown(timeout=0.1)

    assert mode(tmp_path / "new") == 0o700
    assert mode(home) == 0o700
    assert mode(home / "logs") == 0o700
    assert mode(home / "settings.json") == 0o600
    assert mode(home / "outbox.jsonl") == 0o600
    assert mode(home / "logs" / "telemetry.jsonl") == 0o600


def test_a_symlinked_outbox_is_refused_with_a_warning(
    flowkit_home: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("untouched\n")
    (flowkit_home / "outbox.jsonl").symlink_to(target)
    telemetry = Telemetry(
        sink=Down(), settings=TelemetrySettings(home=flowkit_home), max_backoff=0.01
    )
    telemetry.connect()

    with caplog.at_level(logging.WARNING, "flowkit.telemetry"):
        send_prediction(retrieval_demo_flow("x"), "c")
        telemetry.shutdown(timeout=0.1)

    assert target.read_text() == "untouched\n"
    assert any("symlink" in r.getMessage() for r in caplog.records)


def test_a_symlinked_telemetry_file_is_refused_for_good(flowkit_home: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("untouched\n")
    link = flowkit_home / "telemetry.jsonl"
    link.symlink_to(target)

    with pytest.raises(DeliveryError) as caught:
        JsonlSink(link).send(events(1, flowkit_home))

    assert not caught.value.retryable
    assert target.read_text() == "untouched\n"


FULL_DISK = """
import os, resource, signal, sys
from pathlib import Path
from flowkit.errors import DeliveryError
from flowkit.telemetry import JsonlSink, TelemetryEvent
from flowkit.telemetry.outbox import Outbox

path, kind = Path(sys.argv[1]), sys.argv[2]
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
size = path.stat().st_size
resource.setrlimit(resource.RLIMIT_FSIZE, (size + 1000, size + 1000))
line = sys.stdin.read()
try:
    if kind == "jsonl":
        import json
        from datetime import datetime
        obj = json.loads(line)
        event = TelemetryEvent(obj["event"], obj["distinctId"], obj["properties"],
                               datetime.fromisoformat(obj["timestamp"]), obj["uuid"])
        JsonlSink(path).send([event] * 20)
    else:
        Outbox(path).append([line] * 20)
except (DeliveryError, OSError) as exc:
    print("refused", type(exc).__name__)
"""


@pytest.mark.parametrize("kind", ["jsonl", "outbox"])
def test_a_full_disk_leaves_no_torn_line(tmp_path: Path, flowkit_home: Path, kind: str) -> None:
    from flowkit.telemetry.envelope import encode_events

    line = encode_events(events(1, flowkit_home))[0]
    path = tmp_path / "file.jsonl"
    path.write_text(line + "\n")

    result = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(path), kind],
        input=line,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("refused"), result.stdout
    assert path.read_text() == line + "\n"  # the partial write was cut back
