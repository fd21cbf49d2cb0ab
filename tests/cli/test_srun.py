"""srun inside an allocation: real child processes, one per task; its step recorded
with the controller (a fake one here) when there is one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from drover.api import ApiUnreachable
from drover.cli import allocation, srunstep
from drover.cli import srun as srun_cli
from tests.cli.fakectl import FakeCtl, api_error

SRUN = [sys.executable, "-c", "import sys; from drover.cli.srun import main; sys.exit(main())"]
ROOT = Path(__file__).resolve().parents[2]


def srun(args: list[str], env: dict[str, str], tmp_path: Path,
         stdin: str = "") -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("SLURM_", "SRUN_", "SBATCH_", "DROVER_"))}
    base["PYTHONPATH"] = str(ROOT)
    base["TMPDIR"] = str(tmp_path)
    base["XDG_CONFIG_HOME"] = str(tmp_path / "no-config")  # no controller: steps unrecorded
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


def test_pty_leaves_the_terminal_to_task_zero(tmp_path: Path) -> None:
    r = srun(["-n", "3", "--pty", "sh", "-c", "echo $SLURM_PROCID"], {"SLURM_JOB_ID": "4"},
             tmp_path)
    assert (r.returncode, r.stdout) == (0, "0\n")


def test_bad_options_are_sruns(tmp_path: Path) -> None:
    r = srun(["--frob", "true"], {"SLURM_JOB_ID": "4"}, tmp_path)
    assert (r.returncode, r.stderr.splitlines()[0]) == (255, "srun: unrecognized option '--frob'")


def test_without_a_controller_the_tasks_run_as_an_unrecorded_step(tmp_path: Path) -> None:
    for expected in ("0", "1"):
        r = srun(["sh", "-c", "echo $SLURM_STEP_ID"], {"SLURM_JOB_ID": "6"}, tmp_path)
        assert (r.returncode, r.stdout) == (0, f"{expected}\n")
        assert r.stderr.startswith("srun: warning: Unable to create step for job 6: "
                                   "drover: no controller configured")
        assert r.stderr.endswith("; running it unrecorded\n")


# ---- with a (fake) controller -----------------------------------------------------------------


@pytest.fixture()
def ctl(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeCtl:
    fake = FakeCtl({("POST", "/api/jobs/12/steps/"): {"job_id": 12, "step": "3"}})
    monkeypatch.setattr(srunstep, "_client", lambda: fake)
    for key in [k for k in os.environ if k.startswith("SLURM_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("SLURM_JOB_ID", "12")
    monkeypatch.chdir(tmp_path)
    return fake


def test_the_step_is_created_run_with_its_id_and_ended(
        ctl: FakeCtl, tmp_path: Path) -> None:
    rc = srun_cli.main(["-n", "2", "-o", "out-%t", "sh", "-c", "echo $SLURM_STEP_ID/$SLURM_STEPID;"
                        " [ $SLURM_PROCID = 1 ] && exit 4; exit 0"])
    assert rc == 4
    assert (tmp_path / "out-0").read_text() == (tmp_path / "out-1").read_text() == "3/3\n"
    (post, path, body), (patch, end_path, end) = ctl.calls
    assert (post, path, body) == ("POST", "/api/jobs/12/steps/",
                                  {"name": "sh", "ntasks": 2, "cpus_per_task": 1})
    assert (patch, end_path) == ("PATCH", "/api/jobs/12/steps/3/")
    assert (end["exit_code"], end["signal"]) == (4, 0)
    assert end["cpu_time_s"] >= 0 and end["max_rss_kb"] > 0 and end["end_time"] > 0


def test_a_task_killed_by_a_signal_is_reported_as_that_signal(ctl: FakeCtl) -> None:
    assert srun_cli.main(["-J", "named", "-c", "2", "sh", "-c", "kill -9 $$"]) == 137
    assert ctl.calls[0][2] == {"name": "named", "ntasks": 1, "cpus_per_task": 2}
    assert (ctl.calls[1][2]["exit_code"], ctl.calls[1][2]["signal"]) == (0, 9)


def test_a_step_the_controller_refuses_fails_srun(
        ctl: FakeCtl, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ctl.answers[("POST", "/api/jobs/12/steps/")] = api_error(
        "Job/step already completing or completed", 409)
    assert srun_cli.main(["touch", "ran"]) == 1
    assert capsys.readouterr().err == ("srun: error: Unable to create step for job 12: "
                                       "Job/step already completing or completed\n")
    assert not (tmp_path / "ran").exists() and len(ctl.calls) == 1


def test_an_unreachable_controller_leaves_the_step_unrecorded_but_run(
        ctl: FakeCtl, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the local counter is
    ctl.answers[("POST", "/api/jobs/12/steps/")] = ApiUnreachable("connection refused")
    assert srun_cli.main(["sh", "-c", "echo $SLURM_STEP_ID > ran"]) == 0
    assert (tmp_path / "ran").read_text() == "0\n"
    assert [c[0] for c in ctl.calls] == ["POST"]  # no end to report for an unrecorded step
    assert capsys.readouterr().err == ("srun: warning: Unable to create step for job 12: "
                                       "connection refused; running it unrecorded\n")


def test_an_end_the_controller_cannot_take_is_a_warning(
        ctl: FakeCtl, capsys: pytest.CaptureFixture[str]) -> None:
    ctl.answers[("PATCH", "/api/jobs/12/steps/3/")] = ApiUnreachable("timed out")
    assert srun_cli.main(["true"]) == 0
    assert capsys.readouterr().err == ("srun: warning: Unable to record the end of step "
                                       "12.3: timed out\n")


def test_a_job_id_that_is_no_number_is_refused(ctl: FakeCtl, capsys: Any) -> None:
    assert srun_cli.main(["--jobid", "x/y", "true"]) == 1
    assert "Invalid job id specified" in capsys.readouterr().err and ctl.calls == []


# ---- outside a job: an allocation of its own (a fake controller) ------------------------------

ALLOC = "/api/jobs/7/allocation/"


@pytest.fixture()
def alloc_ctl(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeCtl:
    fake = FakeCtl({("POST", "/api/jobs/"): {"job_id": 7},
                    ("POST", "/api/jobs/7/steps/"): {"job_id": 7, "step": 0}})
    monkeypatch.setattr(srunstep, "_client", lambda: fake)
    monkeypatch.setattr(allocation, "POLL_S", 0.01)
    for key in [k for k in os.environ if k.startswith("SLURM_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return fake


def states(*names: str, interrupt_at: int | None = None) -> Any:
    """Answers for the allocation's polls: each state in turn, the last one after; SIGINT
    to this process at poll number ``interrupt_at``."""
    polls: list[str] = []

    def answer(_params: Any) -> dict[str, Any]:
        polls.append("")
        if len(polls) == interrupt_at:
            os.kill(os.getpid(), signal.SIGINT)
        state = names[min(len(polls), len(names)) - 1]
        record: dict[str, Any] = {"job_id": 7, "state": state, "kill_wait_s": 1}
        if state == "RUNNING":
            record["environment"] = {"SLURM_JOB_ID": "7", "SLURM_JOB_NODELIST": "n1",
                                     "SLURM_NNODES": "1", "SLURM_JOB_NAME": "sh"}
        return record

    return answer


def test_outside_a_job_it_waits_for_an_allocation_runs_step_0_and_relinquishes(
        alloc_ctl: FakeCtl, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    alloc_ctl.answers[("GET", ALLOC)] = states("PENDING", "PENDING", "RUNNING")
    rc = srun_cli.main(["-N1", "-n2", "-t", "5", "-p", "debug", "-o", "out-%j.%s-%t", "sh", "-c",
                        "echo $SLURM_PROCID/$SLURM_NTASKS/$SLURM_JOB_NODELIST"], client=alloc_ctl)
    assert rc == 0
    assert capsys.readouterr().err.splitlines() == [
        "srun: job 7 queued and waiting for resources",
        "srun: job 7 has been allocated resources"]
    assert (tmp_path / "out-7.0-1").read_text() == "1/2/n1\n"
    desc = alloc_ctl.calls[0][2]
    assert (desc["allocation"], desc["nodes_min"], desc["ntasks"], desc["time_limit_min"],
            desc["partition"], desc["name"], desc["command"], "stdout" in desc) == (
        True, 1, 2, 5, "debug", "sh", "sh -c echo $SLURM_PROCID/$SLURM_NTASKS/$SLURM_JOB_NODELIST",
        False)
    assert [c[:2] for c in alloc_ctl.calls[-3:]] == [
        ("POST", "/api/jobs/7/steps/"), ("PATCH", "/api/jobs/7/steps/0/"), ("POST", ALLOC)]
    assert alloc_ctl.calls[-1][2] == {"exit_code": 0, "signal": 0}


def test_granted_at_once_it_says_nothing_and_a_failing_step_fails_the_job(
        alloc_ctl: FakeCtl, capsys: pytest.CaptureFixture[str]) -> None:
    alloc_ctl.answers[("GET", ALLOC)] = states("RUNNING")
    assert srun_cli.main(["false"], client=alloc_ctl) == 1
    assert capsys.readouterr().err == (
        f"srun: error: {socket.gethostname()}: task 0: Exited with exit code 1\n")
    assert alloc_ctl.calls[0][2]["name"] == "false"
    assert alloc_ctl.calls[-1] == ("POST", ALLOC, {"exit_code": 1, "signal": 0})


def test_a_refused_request_fails_as_slurm_says(
        alloc_ctl: FakeCtl, capsys: pytest.CaptureFixture[str]) -> None:
    alloc_ctl.answers[("POST", "/api/jobs/")] = api_error("Invalid partition name specified", 400)
    with pytest.raises(SystemExit) as exc:
        srun_cli.main(["-p", "nope", "true"], client=alloc_ctl)
    assert exc.value.code == 1
    assert capsys.readouterr().err == (
        "srun: error: Unable to allocate resources: Invalid partition name specified\n")


def test_ctrl_c_while_pending_withdraws_the_request(
        alloc_ctl: FakeCtl, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    alloc_ctl.answers[("GET", ALLOC)] = states("PENDING", interrupt_at=2)
    assert srun_cli.main(["touch", "ran"], client=alloc_ctl) == 1
    assert capsys.readouterr().err.splitlines() == [
        "srun: job 7 queued and waiting for resources", "srun: Job allocation 7 has been revoked"]
    assert alloc_ctl.calls[-1] == ("POST", ALLOC, {"exit_code": 0, "signal": 0})
    assert not (tmp_path / "ran").exists()


def test_an_allocation_cancelled_while_pending_is_revoked(
        alloc_ctl: FakeCtl, capsys: pytest.CaptureFixture[str]) -> None:
    alloc_ctl.answers[("GET", ALLOC)] = states("PENDING", "CANCELLED")
    assert srun_cli.main(["true"], client=alloc_ctl) == 1
    assert capsys.readouterr().err.splitlines()[-2:] == [
        "srun: Job allocation 7 has been revoked",
        "srun: error: Unable to allocate resources: Job/step already completing or completed"]


def test_revoked_while_the_tasks_run_they_are_stopped_and_nothing_relinquished(
        alloc_ctl: FakeCtl, capsys: pytest.CaptureFixture[str]) -> None:
    alloc_ctl.answers[("GET", ALLOC)] = states("RUNNING", "RUNNING", "TIMEOUT")
    assert srun_cli.main(["sleep", "30"], client=alloc_ctl) == 143
    assert capsys.readouterr().err.splitlines()[0] == (
        "srun: Job step aborted: Waiting up to 3 seconds for job step to finish.")
    assert ("POST", ALLOC) not in [c[:2] for c in alloc_ctl.calls]
