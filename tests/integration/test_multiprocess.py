"""prometheus-client's multiprocess mode: 4 forked workers count, one scrape sums them."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from .conftest import PYTHON, app_env

pytestmark = pytest.mark.integration

PROGRAM = textwrap.dedent(
    """
    import os, urllib.request
    import flowkit.metrics
    from flowkit import Chatflow, Workspace
    from flowkit.metrics.prometheus import MetricsServer

    metrics = flowkit.metrics.install(enabled=True)
    workers = []
    for index in range(4):
        pid = os.fork()
        if pid == 0:
            workspace = Workspace()
            for n in range(index + 1):
                flow = Chatflow(name=f"w{index}-{n}")
                flow.add_node("retrievalQAChain", category="Chains")
                workspace.create_chatflow(flow)
            try:
                workspace.predict("missing", "q")
            except Exception:
                pass
            os._exit(0)
        workers.append(pid)
    for pid in workers:
        _, status = os.waitpid(pid, 0)
        assert status == 0, status
    server = MetricsServer(metrics.recorder, port=0)
    print(urllib.request.urlopen(server.url, timeout=5).read().decode())
    server.close()
    """
)


def test_four_forked_workers_are_summed_by_one_scrape(tmp_path: Path) -> None:
    folder = tmp_path / "multiproc"
    folder.mkdir()
    env = app_env(tmp_path / "home", PROMETHEUS_MULTIPROC_DIR=str(folder))

    done = subprocess.run(
        [PYTHON, "-c", PROGRAM], env=env, capture_output=True, text=True, timeout=120, check=False
    )

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert 'chatflow_created{status="success",app="FlowiseAI"} 10' in lines
    assert 'chatflow_prediction_external{status="failure",app="FlowiseAI"} 4' in lines
    assert (
        'flowkit_operation_duration_ms_count{operation="create_chatflow",status="success"} 10'
        in lines
    )
    assert len(list(folder.glob("counter_*.db"))) == 4
