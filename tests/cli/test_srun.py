"""srun inside an allocation: real child processes, one per task."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRUN = [sys.executable, "-c", "import sys; from drover.cli.srun import main; sys.exit(main())"]
ROOT = Path(__file__).resolve().parents[2]


def srun(args: list[str], env: dict[str, str], tmp_path: Path,
         stdin: str = "") -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("SLURM_", "SRUN_", "SBATCH_"))}
    base["PYTHONPATH"] = str(ROOT)
    base["TMPDIR"] = str(tmp_path)
    return subprocess.run(SRUN + args, env={**base, **env}, input=stdin, text=True,
                          capture_output=True, cwd=tmp_path, timeout=60)


def test_three_tasks_get_their_procids(tmp_path: Path) -> None:
    r = srun(["-n", "3", "sh", "-c", "echo $SLURM_PROCID/$SLURM_NTASKS/$SLURM_JOB_ID/"
              "$SLURM_LOCALID/$SLURM_NODEID/$SLURM_STEP_ID"], {"SLURM_JOB_ID": "42"}, tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.split()) == ["0/3/42/0/0/0", "1/3/42/1/0/0", "2/3/42/2/0/0"]


def test_the_allocation_is_found_through_slurm_jobid_alone(tmp_path: Path) -> None:
    r = srun(["sh", "-c", "echo $SLURM_JOB_ID $SLURM_NTASKS"], {"SLURM_JOBID": "7"}, tmp_path)
    assert (r.returncode, r.stdout) == (0, "7 1\n")
    r = srun(["sh", "-c", "echo $SLURM_PROCID"], {"SLURM_JOB_ID": "7", "SLURM_NTASKS": "2"},
             tmp_path)
    assert sorted(r.stdout.split()) == ["0", "1"]


def test_output_patterns_are_expanded_per_task(tmp_path: Path) -> None:
    r = srun(["-n", "2", "-o", "out/%j-%t.txt", "sh", "-c", "echo task $SLURM_PROCID"],
             {"SLURM_JOB_ID": "9"}, tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out/9-0.txt").read_text() == "task 0\n"
    assert (tmp_path / "out/9-1.txt").read_text() == "task 1\n"


def test_stdin_goes_to_task_zero(tmp_path: Path) -> None:
    r = srun(["-n", "2", "sh", "-c", "echo $SLURM_PROCID:$(cat)"], {"SLURM_JOB_ID": "3"},
             tmp_path, stdin="hello")
    assert sorted(r.stdout.split()) == ["0:hello", "1:"]


def test_exit_status_is_the_failing_tasks(tmp_path: Path) -> None:
    r = srun(["-n", "3", "sh", "-c", 'if [ "$SLURM_PROCID" = 1 ]; then exit 3; fi'],
             {"SLURM_JOB_ID": "5"}, tmp_path)
    assert r.returncode == 3
    assert "task 1: Exited with exit code 3" in r.stderr


@pytest.mark.parametrize("args", [["-n", "1", "--cpu-bind=q", "-u", "-c", "2", "--gpus", "1",
                                   "-N", "1", "-J", "x", "true"], ["--jobid", "8", "true"]])
def test_common_options_are_accepted(tmp_path: Path, args: list[str]) -> None:
    r = srun(args, {"SLURM_JOB_ID": "8"}, tmp_path)
    assert r.returncode == 0, r.stderr


def test_outside_an_allocation_it_refuses(tmp_path: Path) -> None:
    r = srun(["true"], {}, tmp_path)
    assert r.returncode == 1
    assert r.stderr == ("srun: error: interactive srun outside an allocation is not "
                        "supported yet; use sbatch\n")
