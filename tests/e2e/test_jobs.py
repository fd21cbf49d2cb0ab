"""A job's way through a real cluster, driven by the real commands (sbatch, squeue, ...).

The slow one (a job that runs into its 1-minute time limit) is submitted
first, by a module fixture, and checked last, so its minute overlaps the rest.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from tests.livecluster import LiveCluster

FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"}


@pytest.fixture(scope="module")
def timeout_job(live_cluster: LiveCluster, tmp_path_factory: pytest.TempPathFactory,
                ) -> tuple[int, float]:
    """A job with a 1-minute limit that would sleep for 5, submitted before the other tests."""
    work = tmp_path_factory.mktemp("timeout")
    job_id = live_cluster.sbatch("--time=1", "-J", "timeouter", "--wrap", "sleep 300", cwd=work)
    return job_id, time.monotonic()


@pytest.fixture(autouse=True)
def _start_timeout_job_first(timeout_job: tuple[int, float]) -> None:
    """Every test here depends on the timeout job, so it is submitted before the first."""


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def _wait_file(path: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size:
            return path.read_text()
        time.sleep(0.1)
    raise AssertionError(f"{path} was not written in {timeout:.0f} s")


def test_a_wrapped_command_completes_and_writes_its_output(
        live_cluster: LiveCluster, tmp_path: Path) -> None:
    job_id = live_cluster.sbatch("--wrap", "echo hello from $SLURM_JOB_ID", cwd=tmp_path)

    record = live_cluster.wait_state(job_id, FINISHED)

    assert record["state"] == "COMPLETED"
    assert record["exit_code"] == [0, 0]
    assert (tmp_path / f"slurm-{job_id}.out").read_text() == f"hello from {job_id}\n"
    show = live_cluster.run(["scontrol", "show", "job", str(job_id)])
    assert show.returncode == 0, show.stderr
    assert f"JobId={job_id} " in show.stdout
    assert "JobState=COMPLETED" in show.stdout
    assert "ExitCode=0:0" in show.stdout


def test_a_script_that_exits_3_is_failed_with_exit_code_3(
        live_cluster: LiveCluster, tmp_path: Path) -> None:
    script = tmp_path / "fail.sh"
    script.write_text("#!/bin/bash\necho about to fail\nexit 3\n")

    job_id = live_cluster.sbatch("-J", "failer", str(script), cwd=tmp_path)
    record = live_cluster.wait_state(job_id, FINISHED)

    assert record["state"] == "FAILED"
    assert record["exit_code"] == [3, 0]
    show = live_cluster.run(["scontrol", "show", "job", str(job_id)]).stdout
    assert "JobState=FAILED" in show
    assert "ExitCode=3:0" in show
    sacct = live_cluster.run(["sacct", "-j", str(job_id), "-X", "-P", "-n",
                              "-o", "JobID,JobName,State,ExitCode"])
    assert sacct.returncode == 0, sacct.stderr
    assert sacct.stdout.splitlines()[0] == f"{job_id}|failer|FAILED|3:0"
    assert (tmp_path / f"slurm-{job_id}.out").read_text() == "about to fail\n"


def test_scancel_kills_every_process_of_a_running_job(
        live_cluster: LiveCluster, tmp_path: Path) -> None:
    # The child ignores SIGTERM, as submitit's handler does: only SIGKILL after KillWait ends it.
    script = (f"trap '' TERM; sleep 300 & echo $! > {tmp_path}/child.pid; "
              f"echo $$ > {tmp_path}/script.pid; wait")
    job_id = live_cluster.sbatch("--wrap", script, cwd=tmp_path)
    live_cluster.wait_state(job_id, "RUNNING")
    child = int(_wait_file(tmp_path / "child.pid"))
    shell = int(_wait_file(tmp_path / "script.pid"))
    squeue = live_cluster.run(["squeue", "-h", "-j", str(job_id), "-o", "%i %T"])
    assert squeue.stdout.split() == [str(job_id), "RUNNING"]

    cancel = live_cluster.run(["scancel", str(job_id)])
    assert cancel.returncode == 0, cancel.stderr
    record = live_cluster.wait_state(job_id, FINISHED)

    assert record["state"] == "CANCELLED"
    deadline = time.monotonic() + 15  # KillWait=1 in the test cluster
    while (_alive(child) or _alive(shell)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(child), "the job's child process survived scancel"
    assert not _alive(shell), "the job's script survived scancel"
    sacct = live_cluster.run(["sacct", "-j", str(job_id), "-X", "-P", "-n", "-o", "State"])
    assert sacct.stdout.splitlines()[0] == f"CANCELLED by {os.getuid()}"
    # The default listing is pending/running jobs only (with -j, Slurm shows every state).
    listed = live_cluster.run(["squeue", "-h", "-o", "%i"]).stdout.split()
    assert str(job_id) not in listed


def test_sbatch_reads_the_script_from_stdin(live_cluster: LiveCluster, tmp_path: Path) -> None:
    script = "#!/bin/bash\n#SBATCH -J fromstdin\necho stdin $SLURM_JOB_NAME\n"

    cp = live_cluster.run(["sbatch"], input=script, cwd=tmp_path)

    assert cp.returncode == 0, cp.stderr
    match = re.fullmatch(r"Submitted batch job (\d+)\n", cp.stdout)
    assert match, cp.stdout
    job_id = int(match.group(1))
    assert live_cluster.wait_state(job_id, FINISHED)["state"] == "COMPLETED"
    assert (tmp_path / f"slurm-{job_id}.out").read_text() == "stdin fromstdin\n"


def test_parsable_prints_only_the_id(live_cluster: LiveCluster, tmp_path: Path) -> None:
    cp = live_cluster.run(["sbatch", "--parsable", "--wrap", "true"], cwd=tmp_path)

    assert cp.returncode == 0, cp.stderr
    assert re.fullmatch(r"\d+(;\w+)?\n", cp.stdout), cp.stdout
    assert cp.stderr == ""


def test_output_patterns_expand_and_missing_directories_are_created(
        live_cluster: LiveCluster, tmp_path: Path) -> None:
    job_id = live_cluster.sbatch("-J", "pat", "-o", "logs/%x-%j.out", "-e", "logs/%x-%j.err",
                                 "--wrap", "echo out; echo err >&2", cwd=tmp_path)

    assert live_cluster.wait_state(job_id, FINISHED)["state"] == "COMPLETED"
    assert (tmp_path / "logs" / f"pat-{job_id}.out").read_text() == "out\n"
    assert (tmp_path / "logs" / f"pat-{job_id}.err").read_text() == "err\n"


def test_the_job_sees_its_slurm_environment_and_submit_dir(
        live_cluster: LiveCluster, tmp_path: Path) -> None:
    job_id = live_cluster.sbatch(
        "-J", "envdump", "-o", "env_%j.out",
        "--wrap", "echo $SLURM_JOB_ID $SLURM_JOBID $SLURM_JOB_NAME $SLURM_SUBMIT_DIR; pwd",
        cwd=tmp_path)

    assert live_cluster.wait_state(job_id, FINISHED)["state"] == "COMPLETED"
    lines = (tmp_path / f"env_{job_id}.out").read_text().splitlines()
    assert lines == [f"{job_id} {job_id} envdump {tmp_path}", str(tmp_path)]


def test_the_script_is_copied_at_submit_time(live_cluster: LiveCluster, tmp_path: Path) -> None:
    script = tmp_path / "gone.sh"
    script.write_text("#!/bin/sh\necho still here\n")

    job_id = live_cluster.sbatch(str(script), cwd=tmp_path)
    script.unlink()  # dask-jobqueue deletes it as soon as sbatch returns

    assert live_cluster.wait_state(job_id, FINISHED)["state"] == "COMPLETED"
    assert (tmp_path / f"slurm-{job_id}.out").read_text() == "still here\n"


def test_an_invalid_partition_is_rejected_with_slurms_words(
        live_cluster: LiveCluster, tmp_path: Path) -> None:
    cp = live_cluster.run(["sbatch", "-p", "nosuch", "--wrap", "true"], cwd=tmp_path)

    assert cp.returncode != 0
    assert cp.stdout == ""
    assert ("sbatch: error: Batch job submission failed: Invalid partition name specified"
            in cp.stderr)


def test_a_job_past_its_time_limit_is_timed_out(
        live_cluster: LiveCluster, timeout_job: tuple[int, float]) -> None:
    job_id, submitted = timeout_job
    remaining = 60 + 45 - (time.monotonic() - submitted)

    record = live_cluster.wait_state(job_id, FINISHED, timeout=max(remaining, 5))

    assert record["state"] == "TIMEOUT"
    show = live_cluster.run(["scontrol", "show", "job", str(job_id)]).stdout
    assert "JobState=TIMEOUT" in show
    assert "TimeLimit=00:01:00" in show
