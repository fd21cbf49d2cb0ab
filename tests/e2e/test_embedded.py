"""`drover up`, the embedded cluster: a job runs, Ctrl-C/SIGTERM stops it all, state survives.

Runs whatever the machine has (CI uses the production-mode ``live_cluster``
elsewhere; this is the one place the embedded mode is exercised end to end).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.livecluster import LiveCluster, start_cluster

FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL"}


@pytest.fixture(scope="module")
def embedded_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embedded")


def _stop_with(cluster: LiveCluster, signum: int = signal.SIGTERM,
               wait_s: float = 30) -> tuple[int, list[int]]:
    """Signal `drover up` (SIGTERM as systemd does, SIGINT as Ctrl-C does); its exit status
    and its agents' pids."""
    proc = cluster.procs["drover-up"]
    agents = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)
              if "nodeagent" in " ".join(c.cmdline())]
    proc.send_signal(signum)
    try:
        rc = proc.wait(wait_s)
    finally:
        cluster.stop()
    return rc, agents


def test_drover_up_runs_a_job_and_stops_cleanly_on_sigterm(embedded_root: Path) -> None:
    cluster = start_cluster(mode="embedded", nodes=1, root=embedded_root)
    try:
        banner = (cluster.log_dir / "drover-up.log").read_text()
        assert f"Drover is up: {cluster.url}/" in banner
        assert f"portal login  {cluster.username} / {cluster.password}" in banner
        job_id = cluster.sbatch("--wrap", "echo hi", cwd=embedded_root)
        record = cluster.wait_state(job_id, FINISHED)
        assert record["state"] == "COMPLETED"
        assert (embedded_root / f"slurm-{job_id}.out").read_text() == "hi\n"
    except BaseException:
        cluster.stop()
        raise

    rc, agents = _stop_with(cluster)

    assert rc == 0, cluster.log_tails()
    time.sleep(0.5)
    assert not [pid for pid in agents if psutil.pid_exists(pid)
                and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert "Drover stopped" in (cluster.log_dir / "drover-up.log").read_text()


def test_a_restart_keeps_jobs_and_the_login(embedded_root: Path) -> None:
    first_password = (embedded_root / "state" / "portal-password").read_text().strip()
    cluster = start_cluster(mode="embedded", nodes=1, root=embedded_root)
    try:
        assert cluster.password == first_password
        sacct = cluster.run(["sacct", "-X", "-n", "-P", "-o", "JobID,State"])
        assert sacct.returncode == 0, sacct.stderr
        assert "|COMPLETED" in sacct.stdout  # the first run's job
        job_id = cluster.sbatch("--wrap", "true", cwd=embedded_root)
        assert cluster.wait_state(job_id, FINISHED)["state"] == "COMPLETED"
    finally:
        # Ctrl-C, while the agents' long polls are parked in the server: they used to hold
        # its shutdown for up to 20 s (wait_s), now the agents stop first.
        rc, _ = _stop_with(cluster, signal.SIGINT, wait_s=10)
    assert rc == 0
    log = (cluster.log_dir / "drover-up.log").read_text()
    assert "Drover stopped" in log and "Traceback" not in log


def test_drover_up_refuses_a_port_in_use(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        cp = subprocess.run([sys.executable, "-m", "drover.cli.drover", "up", "--port",
                             str(port), "--state-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert cp.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use" in cp.stderr
