"""A real Prometheus (the Debian package) scrapes a flowkit process and answers queries."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from .conftest import APP, PYTHON, app_env

pytestmark = pytest.mark.integration

DEADLINE = 90.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _query(port: int, promql: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as response:
        answer = json.load(response)
    assert answer["status"] == "success", answer
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def _wait_for(port: int, promql: str, process: subprocess.Popen[str]) -> list[dict[str, Any]]:
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        assert process.poll() is None, "prometheus exited"
        try:
            found = _query(port, promql)
        except OSError:
            found = []
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"prometheus had no {promql!r} after {DEADLINE} s")


def _value(result: list[dict[str, Any]]) -> float:
    assert len(result) == 1, result
    return float(result[0]["value"][1])


def test_prometheus_scrapes_flowises_series_from_a_flowkit_process(
    tmp_path: Path, start_process: Any
) -> None:
    binary = shutil.which("prometheus")
    assert binary is not None, "install the Debian prometheus package (make test-integration)"
    app = start_process(
        [PYTHON, str(APP), "serve"],
        env=app_env(tmp_path / "home", ENABLE_METRICS="true", FLOWKIT_METRICS_PORT="0"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    ready = app.stdout.readline().split()
    assert ready[:1] == ["READY"], ready
    target = f"127.0.0.1:{ready[1]}"
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: flowkit\n"
        f"    static_configs: [{{targets: ['{target}']}}]\n"
    )
    port = _free_port()
    prometheus = start_process(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    created = _wait_for(port, 'chatflow_created{status="success"}', prometheus)
    failures = _query(port, 'vector_upserted{status="failure"}')
    successes = _query(port, 'vector_upserted{status="success"}')
    agentflows = _query(port, "agentflow_created")
    predictions = _query(port, "chatflow_prediction_external")
    median = _query(
        port,
        "histogram_quantile(0.5, sum by (le) ("
        'flowkit_operation_duration_ms_bucket{operation="predict",status="success"}))',
    )
    total_total = _query(port, '{__name__=~".+_total"}')

    assert _value(created) == 7
    assert created[0]["metric"] == {
        "__name__": "chatflow_created",
        "status": "success",
        "app": "FlowiseAI",
        "instance": target,
        "job": "flowkit",
    }
    assert _value(failures) == 2
    assert _value(successes) == 3
    assert _value(agentflows) == 1
    assert {r["metric"]["status"]: float(r["value"][1]) for r in predictions} == {
        "success": 5,
        "failure": 2,
    }
    # 5 of the 6 successful predictions took ~30 ms (the 15..50 ms bucket), one far less.
    assert 15 < _value(median) <= 50
    assert total_total == []
