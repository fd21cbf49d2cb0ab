"""srun outside any job on a live cluster: it gets an allocation of its own, runs step 0
in it and gives it back; sacct shows the job COMPLETED, or FAILED as ``srun false``."""

from __future__ import annotations

from pathlib import Path

from tests.livecluster import running_cluster


def test_srun_outside_a_job_allocates_runs_its_step_and_the_job_ends_as_the_step(
        tmp_path: Path) -> None:
    with running_cluster(nodes=1, root=tmp_path / "cluster") as cluster:
        cp = cluster.run(["srun", "-N1", "-n2", "-t", "1", "hostname"], cwd=tmp_path, timeout=90)
        assert cp.returncode == 0, cp.stderr
        assert len(cp.stdout.splitlines()) == 2, cp.stdout
        listed = cluster.run(["sacct", "-nPX", "-o", "JobID,JobName"])
        job_id = next(line.split("|")[0] for line in listed.stdout.splitlines()
                      if line.endswith("|hostname"))
        sacct = cluster.run(["sacct", "-j", job_id, "-nP", "-o", "JobID,JobName,State,ExitCode"])
        assert sacct.stdout.splitlines() == [f"{job_id}|hostname|COMPLETED|0:0",
                                             f"{job_id}.0|hostname|COMPLETED|0:0"], sacct.stderr

        failed = cluster.run(["srun", "false"], cwd=tmp_path, timeout=90)
        assert failed.returncode == 1, failed.stderr
        sacct = cluster.run(["sacct", "-nPX", "--name", "false", "-o", "JobName,State,ExitCode"])
        assert sacct.stdout.splitlines() == ["false|FAILED|1:0"], sacct.stderr
