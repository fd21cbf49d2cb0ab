"""salloc with a fake controller: the request it sends, Slurm's messages, the command run
with the allocation's environment, the relinquish with its status, and revocation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drover.cli import allocation, salloc
from tests.cli.fakectl import FakeCtl, api_error

ENV = {"SLURM_JOB_ID": "7", "SLURM_JOB_NODELIST": "n1", "SLURM_NTASKS": "2"}
ALLOC = "/api/jobs/7/allocation/"


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocation, "POLL_S", 0.01)


def states(*names: str) -> Any:
    """Answers for the allocation's polls: each state in turn, the last one after."""
    it: Iterator[str] = iter(names)
    last = [names[-1]]

    def answer(_params: Any) -> dict[str, Any]:
        state = next(it, last[0])
        record: dict[str, Any] = {"job_id": 7, "state": state, "kill_wait_s": 1}
        if state == "RUNNING":
            record["environment"] = ENV
        return record

    return answer


def run(capsys: pytest.CaptureFixture[str], argv: list[str],
        ctl: FakeCtl) -> tuple[str, str, int]:
    rc = salloc.main(argv, client=ctl)
    out, err = capsys.readouterr()
    return out, err, rc


def test_it_waits_runs_the_command_in_the_allocation_and_relinquishes(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ctl = FakeCtl({("POST", "/api/jobs/"): {"job_id": 7},
                   ("GET", ALLOC): states("PENDING", "PENDING", "RUNNING")})
    out_file = tmp_path / "env.txt"
    _, err, rc = run(capsys, ["-N1", "-n2", "-t", "5", "-J", "x", "sh", "-c",
                              f"echo $SLURM_JOB_ID $SLURM_NTASKS > {out_file}; exit 3"], ctl)
    assert rc == 3
    assert out_file.read_text() == "7 2\n"
    assert err.splitlines() == [
        "salloc: Pending job allocation 7",
        "salloc: job 7 queued and waiting for resources",
        "salloc: job 7 has been allocated resources",
        "salloc: Granted job allocation 7",
        "salloc: Relinquishing job allocation 7",
    ]
    desc = ctl.calls[0][2]
    assert (desc["allocation"], desc["nodes_min"], desc["ntasks"], desc["time_limit_min"],
            desc["name"], "script" in desc) == (True, 1, 2, 5, "x", False)
    assert ctl.calls[-1] == ("POST", ALLOC, {"exit_code": 3, "signal": 0})


def test_granted_at_once_it_says_only_granted_and_names_the_job_after_the_command(
        capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl({("POST", "/api/jobs/"): {"job_id": 7}, ("GET", ALLOC): states("RUNNING")})
    _, err, rc = run(capsys, ["true"], ctl)
    assert rc == 0
    assert err.splitlines() == ["salloc: Pending job allocation 7",
                                "salloc: Granted job allocation 7",
                                "salloc: Relinquishing job allocation 7"]
    assert (ctl.calls[0][2]["name"], ctl.calls[0][2]["command"]) == ("true", "true")


def test_the_default_command_is_the_users_shell(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(salloc, "default_command", lambda: ["/bin/true"])
    ctl = FakeCtl({("POST", "/api/jobs/"): {"job_id": 7}, ("GET", ALLOC): states("RUNNING")})
    assert run(capsys, [], ctl)[2] == 0
    assert ctl.calls[0][2]["name"] == "true"


def test_a_refused_request_fails_as_slurm_says(capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl({("POST", "/api/jobs/"): api_error("Invalid partition name specified", 400)})
    with pytest.raises(SystemExit) as exc:
        salloc.main(["-p", "nope", "true"], client=ctl)
    assert exc.value.code == 1
    assert capsys.readouterr().err == (
        "salloc: error: Job submit/allocate failed: Invalid partition name specified\n")


def test_bad_options_are_salloc_s(capsys: pytest.CaptureFixture[str]) -> None:
    _, err, rc = run(capsys, ["--wrap", "x"], FakeCtl())
    assert rc == 255 and err.startswith("salloc: unrecognized option '--wrap'")


def test_an_allocation_cancelled_while_pending_is_revoked(
        capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl({("POST", "/api/jobs/"): {"job_id": 7},
                   ("GET", ALLOC): states("PENDING", "CANCELLED")})
    _, err, rc = run(capsys, ["true"], ctl)
    assert rc == 1
    assert err.splitlines()[-2:] == [
        "salloc: Job allocation 7 has been revoked.",
        "salloc: error: Job submit/allocate failed: Job/step already completing or completed"]


def test_at_its_time_limit_the_command_is_stopped_and_nothing_relinquished(
        capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl({("POST", "/api/jobs/"): {"job_id": 7},
                   ("GET", ALLOC): states("RUNNING", "RUNNING", "TIMEOUT")})
    _, err, rc = run(capsys, ["sleep", "30"], ctl)
    assert rc == 1  # SIGTERM: not a signal the user sent
    assert err.splitlines()[-1] == (
        "salloc: Job 7 has exceeded its time limit and its allocation has been revoked.")
    assert ("POST", ALLOC) not in [c[:2] for c in ctl.calls]


def test_a_command_that_cannot_start_fails_the_job(capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl({("POST", "/api/jobs/"): {"job_id": 7}, ("GET", ALLOC): states("RUNNING")})
    _, err, rc = run(capsys, ["/no/such/cmd"], ctl)
    assert rc == 1
    assert 'salloc: error: Unable to exec command "/no/such/cmd"' in err
    assert ctl.calls[-1] == ("POST", ALLOC, {"exit_code": 1, "signal": 0})


@pytest.mark.parametrize("status,rc", [(0, 0), (4, 4), (-1, 0), (-2, 0), (-9, 0), (-15, 1)])
def test_exit_status_follows_slurm(status: int, rc: int) -> None:
    assert salloc.exit_status(status) == rc
