"""sacct and sstat with srun's steps: rows N.0, N.1 after N.batch, named for their
command, their own task and CPU counts and states (no golden of real Slurm has srun
steps; widths and columns are those of golden 115)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from drover.cli import sacct, sstat
from tests.cli import scenario

T0 = scenario.T0


def step(step_id: str, state: str, exit_code: tuple[int, int] = (0, 0),
         **kw: Any) -> dict[str, Any]:
    return {"step": step_id, "name": "" if step_id == "batch" else "sleep", "state": state,
            "exit_code": list(exit_code), "start_time": T0 + 10, "end_time": T0 + 13,
            "nodes": "n1", "ntasks": 1, "cancelled_by": None, "cpu_time_s": 0.5,
            "max_rss_kb": 1024, **kw}


def job_with_steps() -> dict[str, Any]:
    return scenario.running(30, "steps", "n1", run=40, num_cpus=2, steps=[
        step("batch", "RUNNING", end_time=None),
        step("0", "COMPLETED", ntasks=2, num_cpus=2),
        step("1", "FAILED", (1, 0), name="false", num_cpus=1),
        step("2", "CANCELLED", (0, 9), cancelled_by=1000, num_cpus=1),
    ])


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    def fetch(_params: Mapping[str, str]) -> list[dict[str, Any]]:
        return [job_with_steps()]

    assert sacct.main(argv, fetch=fetch) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


def test_srun_steps_follow_the_batch_step_in_sacct(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, ["-j", "30"]) == (
        "JobID           JobName  Partition    Account  AllocCPUS      State ExitCode \n"
        "------------ ---------- ---------- ---------- ---------- ---------- -------- \n"
        "30                steps      debug       root          2    RUNNING      0:0 \n"
        "30.batch          batch                  root          2    RUNNING      0:0 \n"
        "30.0              sleep                  root          2  COMPLETED      0:0 \n"
        "30.1              false                  root          1     FAILED      1:0 \n"
        "30.2              sleep                  root          1 CANCELLED+      0:9 \n")


def test_a_step_row_has_its_tasks_times_and_who_cancelled_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, ["-j", "30.2,30.0", "-P", "-o",
                       "JobID,JobName,State,ExitCode,NTasks,AllocCPUS,Elapsed,NodeList"])
    assert out == ("JobID|JobName|State|ExitCode|NTasks|AllocCPUS|Elapsed|NodeList\n"
                   "30.0|sleep|COMPLETED|0:0|2|2|00:00:03|n1\n"
                   "30.2|sleep|CANCELLED by 1000|0:9|1|1|00:00:03|n1\n")


def test_sstat_shows_the_lowest_running_srun_step() -> None:
    answer = {"job_id": 30, "state": "RUNNING", "steps": [
        step("batch", "RUNNING"), step("1", "RUNNING"), step("2", "RUNNING")]}
    rows, error = sstat.stat_job("30", lambda _job: answer, all_steps=False)
    assert error == "" and [r["step"]["step"] for r in rows] == ["1"]
