"""squeue -s/--steps: running job steps in Slurm 22.05's step layout (squeue/print.c)."""

from __future__ import annotations

from typing import Any

import pytest

from drover.cli.formats.steps import step_rows
from drover.timefmt import format_timestamp
from tests.cli import scenario
from tests.cli.test_squeue import run

T0 = scenario.T0


def step(sid: str, start: int, state: str = "RUNNING", **kw: Any) -> dict[str, Any]:
    return {"step": sid, "name": "", "state": state, "start_time": start, "nodes": "n1",
            "ntasks": 1, **kw}


def queue() -> list[dict[str, Any]]:
    """Job 12 (debug, alice) runs its batch step and srun's 12.0 (12.1 has ended);
    array task 10_3 (job 13, gpu, bob) runs 10_3.0."""
    j12 = scenario.running(12, "job", "n1", run=60, user="alice", uid=1000,
                           start_time=T0 - 60, batch_host="n1", mem_per_cpu_mb=None,
                           mem_per_node_mb=1024, num_cpus=4,
                           steps=[step("batch", T0 - 60),
                                  step("1", T0 - 50, state="COMPLETED", name="true"),
                                  step("0", T0 - 30, name="hostname", ntasks=2, num_cpus=2)])
    j13 = scenario.running(13, "arr", "n2", run=10, partition="gpu", user="bob", uid=1001,
                           array_job_id=10, array_task_id=3, start_time=T0 - 10,
                           steps=[step("0", T0 - 5, name="python", nodes="n2")])
    return [j13, j12]




def line(sid: str, name: str, part: str, user: str, used: str, nodes: str) -> str:
    return f"{sid:>15} {name:>8} {part:>9} {user:>8} {used:>9} {nodes}\n"


HEADER = line("STEPID", "NAME", "PARTITION", "USER", "TIME", "NODELIST")


def test_it_lists_running_steps_by_partition_then_step_id(
        capsys: pytest.CaptureFixture[str]) -> None:
    out, err, rc, seen = run(capsys, ["-s"], queue())
    assert (out, err, rc) == (HEADER
                              + line("12.0", "hostname", "debug", "alice", "0:30", "n1")
                              + line("12.batch", "batch", "debug", "alice", "1:00", "n1")
                              + line("10_3.0", "python", "gpu", "bob", "0:05", "n2"), "", 0)
    assert seen == [{"state": "CG,R,S"}]


def test_a_step_list_selects_steps_and_asks_for_their_jobs(
        capsys: pytest.CaptureFixture[str]) -> None:
    out, _, rc, seen = run(capsys, ["--steps=12.batch,10_3.0", "-h"], queue())
    assert (out, rc) == (line("12.batch", "batch", "debug", "alice", "1:00", "n1")
                         + line("10_3.0", "python", "gpu", "bob", "0:05", "n2"), 0)
    assert seen[0]["job"] == "12,10"


def test_job_partition_and_user_filters_apply_to_steps(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, ["-s", "-j", "13", "-h"], queue())[0] == \
        line("10_3.0", "python", "gpu", "bob", "0:05", "n2")
    assert run(capsys, ["-s", "-p", "gpu", "-h"], queue())[0] == \
        line("10_3.0", "python", "gpu", "bob", "0:05", "n2")
    out = run(capsys, ["-s", "-u", "1000", "-h", "-n", "nomatch", "-t", "PD"], queue())[0]
    assert out.count("\n") == 2  # -n and -t have no effect on steps


def test_the_header_is_printed_when_no_step_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, ["-s"], [])[:3] == (HEADER, "", 0)


def test_step_format_letters(capsys: pytest.CaptureFixture[str]) -> None:
    out, err, rc, _ = run(capsys, ["-s", "12.0", "-o", "%i|%A|%U|%l|%S|%u"], queue())
    assert out.splitlines() == ["STEPID|TASKS|UID|TIME_LIMIT|START_TIME|USER",
                                f"12.0|2|1000|UNLIMITED|{format_timestamp(T0 - 30)}|alice"]
    assert (err, rc) == ("", 0)


def test_step_format_names_and_bad_fields(capsys: pytest.CaptureFixture[str]) -> None:
    out, err, _, _ = run(capsys, ["-s", "-h", "-O", "StepId:8,NumCPUs:4,bogus", "-j", "12"],
                         queue())
    assert out == "12.0    2   \n12.batch4   \n"
    assert err == "squeue: error: Invalid job step format specification: bogus\n"
    _, err, _, _ = run(capsys, ["-s", "-o", "%i %t"], queue())
    assert err == "squeue: error: Invalid job step format specification: t\n"


def test_a_job_id_without_a_step_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    out, err, rc, seen = run(capsys, ["--steps=12"], queue())
    assert (out, err, rc, seen) == ("", "squeue: error: Invalid job_step id: 12.??\n", 1, [])


def test_step_rows_take_the_jobs_partition_user_and_cpus() -> None:
    rows = step_rows(queue())
    assert [r["step_id"] for r in rows] == ["12.0", "12.batch", "10_3.0"]
    batch = rows[1]
    assert (batch["num_cpus"], batch["mem_mb"], batch["user"]) == (4, 1024, "alice")
