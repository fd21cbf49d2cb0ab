"""salloc on a live cluster: the installed salloc gets an allocation, srun inside makes
its step 0, and the relinquished job is COMPLETED in sacct."""

from __future__ import annotations

from pathlib import Path

from tests.livecluster import running_cluster


def test_salloc_runs_srun_in_its_allocation_and_sacct_shows_it_completed(
        tmp_path: Path) -> None:
    with running_cluster(nodes=1, root=tmp_path / "cluster") as cluster:
        cp = cluster.run(["salloc", "-N1", "-t", "1", "sh", "-c",
                          "srun hostname; echo $SLURM_JOB_ID"], cwd=tmp_path, timeout=90)
        assert cp.returncode == 0, cp.stderr
        job_id = cp.stdout.split()[-1]
        assert cp.stderr.splitlines()[0] == f"salloc: Pending job allocation {job_id}"
        assert f"salloc: Granted job allocation {job_id}" in cp.stderr
        assert cp.stderr.splitlines()[-1] == f"salloc: Relinquishing job allocation {job_id}"
        sacct = cluster.run(["sacct", "-j", job_id, "-nP", "-o", "JobID,JobName,State,ExitCode"])
        assert sacct.stdout.splitlines() == [f"{job_id}|sh|COMPLETED|0:0",
                                             f"{job_id}.0|hostname|COMPLETED|0:0"], sacct.stderr
        show = cluster.run(["scontrol", "show", "job", job_id])
        assert "BatchFlag=0" in show.stdout
