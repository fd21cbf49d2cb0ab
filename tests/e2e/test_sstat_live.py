"""sstat and the new job variables on a live cluster: real agent samples, heartbeats,
controller rows and the installed ``sstat`` command."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.livecluster import LiveCluster, running_cluster

FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL"}
MB = 1024


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCluster]:
    with running_cluster(nodes=1, root=tmp_path_factory.mktemp("sstat-live")) as c:
        yield c


def test_sstat_shows_a_running_batch_steps_memory_and_the_job_its_environment(
        cluster: LiveCluster, tmp_path: Path) -> None:
    script = (
        "#!/bin/bash\n"
        "env > env.out\n"
        "echo $$ > pid.out\n"
        f"{sys.executable} -c 'import time; b = bytearray(64 << 20); time.sleep(60)'\n"
    )
    job_id = cluster.sbatch("-J", "hog", "-o", "/dev/null", input=script, cwd=tmp_path)
    cluster.wait_state(job_id, "RUNNING")
    # The usage comes with the agent's next heartbeat (every 10 s).
    deadline = time.monotonic() + 30
    while True:
        cp = cluster.run(["sstat", "-j", f"{job_id}.batch", "-nP",
                          "-o", "JobID,MaxRSS,MaxRSSNode,NTasks,AveCPU,Pids"])
        assert cp.returncode == 0, cp.stderr
        fields = cp.stdout.strip().split("|")
        if len(fields) == 6 and int(fields[1].rstrip("K")) >= 64 * MB:
            break
        assert time.monotonic() < deadline, (cp.stdout, cp.stderr)
        time.sleep(1)
    pid = (tmp_path / "pid.out").read_text().strip()
    assert fields[0] == f"{job_id}.batch" and fields[2:4] == ["n1", "1"]
    assert 64 * MB <= int(fields[1].rstrip("K")) < 1024 * MB
    assert pid in fields[5].split(",")

    # As Slurm: a job id alone skips the batch step; -a shows it; the header is sstat's.
    only = cluster.run(["sstat", "-j", str(job_id)])
    assert only.returncode == 0 and only.stderr == ""
    assert only.stdout.split("\n")[0].split()[:3] == ["JobID", "MaxVMSize", "MaxVMSizeNode"]
    assert len(only.stdout.splitlines()) == 2
    every = cluster.run(["sstat", "-a", "-j", str(job_id), "-n", "-o", "JobID,MaxRSS"])
    assert every.stdout.split()[0] == f"{job_id}.batch"

    env = dict(line.split("=", 1) for line in (tmp_path / "env.out").read_text().splitlines()
               if "=" in line)
    assert env["SLURM_TASK_PID"] == pid
    assert env["SLURM_NODE_ALIASES"] == "(null)"
    assert env["SLURM_WORKING_CLUSTER"] == "drover:localhost:6817:9728:109"
    assert Path(env["SLURM_CONF"]).resolve() == (cluster.root / "slurm.conf").resolve()

    assert cluster.run(["scancel", str(job_id)]).returncode == 0
    assert cluster.wait_state(job_id, FINISHED)["state"] == "CANCELLED"
    gone = cluster.run(["sstat", "-j", str(job_id)])
    assert gone.returncode == 0
    assert gone.stderr == f"sstat: error: No steps running for job {job_id}\n"
