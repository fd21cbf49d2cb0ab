"""srun's job steps on a live cluster: the installed srun asks the controller for each
step, sstat shows the running one, sacct lists them after the batch step, and
``scancel N.S`` ends one step while its job goes on."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.livecluster import LiveCluster, running_cluster

FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCluster]:
    with running_cluster(nodes=1, root=tmp_path_factory.mktemp("srun-live")) as c:
        yield c


def wait_for_sstat(cluster: LiveCluster, job_id: int, step: str) -> list[str]:
    """sstat -j JOB's fields (JobID, NTasks) once it shows ``JOB.step`` running."""
    deadline = time.monotonic() + 30
    while True:
        cp = cluster.run(["sstat", "-j", str(job_id), "-nP", "-o", "JobID,NTasks"])
        assert cp.returncode == 0, cp.stderr
        fields = cp.stdout.strip().split("|")
        if fields[0] == f"{job_id}.{step}":
            return fields
        assert time.monotonic() < deadline, (cp.stdout, cp.stderr)
        time.sleep(0.1)


def sacct_rows(cluster: LiveCluster, job_id: int) -> list[list[str]]:
    cp = cluster.run(["sacct", "-j", str(job_id), "-nP", "-o",
                      "JobID,JobName,State,ExitCode,NTasks,AllocCPUS"])
    assert cp.returncode == 0 and cp.stderr == "", cp.stderr
    return [line.split("|") for line in cp.stdout.splitlines()]


def test_sruns_steps_are_recorded_shown_while_running_and_listed_by_sacct(
        cluster: LiveCluster, tmp_path: Path) -> None:
    script = "#!/bin/bash\n#SBATCH -n 2\nsrun -n 2 sleep 3\nsrun false\necho done\n"
    job_id = cluster.sbatch("-J", "steps", "-o", "out.txt", input=script, cwd=tmp_path)
    assert wait_for_sstat(cluster, job_id, "0") == [f"{job_id}.0", "2"]
    assert cluster.wait_state(job_id, FINISHED)["state"] == "COMPLETED"
    assert (tmp_path / "out.txt").read_text().endswith("done\n")
    assert sacct_rows(cluster, job_id) == [
        [str(job_id), "steps", "COMPLETED", "0:0", "", "2"],
        [f"{job_id}.batch", "batch", "COMPLETED", "0:0", "1", "2"],
        [f"{job_id}.0", "sleep", "COMPLETED", "0:0", "2", "2"],
        [f"{job_id}.1", "false", "FAILED", "1:0", "2", "2"],  # srun's -n: the job's
    ]


def test_scancel_of_a_step_ends_that_step_and_the_job_goes_on(
        cluster: LiveCluster, tmp_path: Path) -> None:
    script = "#!/bin/bash\nsrun sleep 100\necho after $?\n"
    job_id = cluster.sbatch("-J", "cancelstep", "-o", "out.txt", input=script, cwd=tmp_path)
    wait_for_sstat(cluster, job_id, "0")
    cp = cluster.run(["scancel", f"{job_id}.0"])
    assert (cp.returncode, cp.stderr) == (0, "")
    assert cluster.wait_state(job_id, FINISHED, timeout=30)["state"] == "COMPLETED"
    assert (tmp_path / "out.txt").read_text().endswith("after 137\n")  # srun: 128 + SIGKILL
    rows = sacct_rows(cluster, job_id)
    assert rows[2][:4] == [f"{job_id}.0", "sleep", f"CANCELLED by {os.getuid()}", "0:9"]
    assert [r[0] for r in rows] == [str(job_id), f"{job_id}.batch", f"{job_id}.0"]
