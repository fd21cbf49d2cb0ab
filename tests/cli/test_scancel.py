"""scancel: id and signal parsing, Slurm's messages and exit codes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from drover.cli import scancel
from tests.cli import golden, scenario
from tests.cli.fakectl import api_error


class Sent:
    def __init__(self, fail: dict[str, Exception] | None = None) -> None:
        self.calls: list[tuple[str, str | None]] = []
        self.scopes: list[str] = []
        self.fail = fail or {}

    def __call__(self, job_id: str, sig: str | None, scope: str) -> None:
        self.calls.append((job_id, sig))
        self.scopes.append(scope)
        if job_id in self.fail:
            raise self.fail[job_id]


def run(capsys: pytest.CaptureFixture[str], argv: list[str], sent: Sent,
        queue: list[dict[str, Any]] | None = None) -> tuple[str, str, int]:
    def fetch(params: Mapping[str, str]) -> list[dict[str, Any]]:
        return queue or []

    rc = scancel.main(argv, send=sent, queue=fetch)
    out, err = capsys.readouterr()
    return out, err, rc


@pytest.mark.parametrize("argv,calls", [
    (["12"], [("12", None)]),
    (["12", "13,14"], [("12", None), ("13", None), ("14", None)]),
    (["10_3"], [("10_3", None)]),
    (["10_[1-2]"], [("10_1", None), ("10_2", None)]),
    (["-s", "USR2", "12"], [("12", "USR2")]),
    (["12", "--signal=SIGTERM"], [("12", "TERM")]),
    (["12", "-s", "10"], [("12", "USR1")]),
    (["--signal", "KILL", "12", "-Q", "--clusters=all"], [("12", "KILL")]),
    (["3", "-s", "USR1", "4"], [("3", "USR1"), ("4", "USR1")]),  # getopt's permutation
    (["3", "-b", "4,5", "-Q", "6"], [("3", None), ("4", None), ("5", None), ("6", None)]),
])
def test_ids_and_signals_before_or_after(capsys: pytest.CaptureFixture[str], argv: list[str],
                                         calls: list[tuple[str, str | None]]) -> None:
    sent = Sent()
    assert run(capsys, argv, sent) == ("", "", 0)
    assert sent.calls == calls


def test_ids_after_options_meet_the_filters_and_bad_words_still_fail(
        capsys: pytest.CaptureFixture[str]) -> None:
    queue = [{"job_id": 3, "user": "root", "state": "RUNNING"},
             {"job_id": 4, "user": "bin", "state": "RUNNING"}]
    sent = Sent()
    assert run(capsys, ["3", "-u", "root", "4"], sent, queue) == ("", "", 0)
    assert sent.calls == [("3", None)]
    with pytest.raises(SystemExit) as exc:
        run(capsys, ["3", "--bogus", "4"], Sent())
    assert exc.value.code == 1
    assert capsys.readouterr().err.startswith("scancel: unrecognized option '--bogus'\n")


@pytest.mark.parametrize("flags,scope", [
    ([], "steps"), (["-b"], "batch"), (["--batch"], "batch"), (["-f"], "full"),
    (["--full"], "full"), (["-b", "-f"], "full"),
])
def test_a_signal_reaches_the_steps_unless_batch_or_full_is_asked(
        capsys: pytest.CaptureFixture[str], flags: list[str], scope: str) -> None:
    sent = Sent()
    assert run(capsys, ["--signal=USR1", *flags, "12"], sent) == ("", "", 0)
    assert (sent.calls, sent.scopes) == ([("12", "USR1")], [scope])


def test_verbose_names_a_signal_to_the_batch_shell(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, ["-v", "-b", "-s", "USR1", "16"], Sent()) == (
        "", "scancel: Signal 10 to batch job 16\n", 0)
    assert run(capsys, ["-v", "-s", "USR1", "16"], Sent()) == (
        "", "scancel: Signal 10 to job 16\n", 0)


def test_unknown_or_finished_job_is_silent(capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("033")
    sent = Sent({"999999": api_error("Invalid job id specified")})
    assert run(capsys, ["999999"], sent) == (g.stdout, g.stderr, g.exit)
    sent = Sent({"1": api_error("Job/step already completing or completed", 409)})
    assert run(capsys, ["1"], sent) == ("", "", 0)


def test_verbose_reports(capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("034")
    sent = Sent({"999999": api_error("Invalid job id specified")})
    assert run(capsys, ["-v", "999999"], sent) == ("", g.stderr, 0)
    g = golden.load("093")
    assert run(capsys, ["-v", "16"], Sent()) == ("", g.stderr, 0)


def test_a_step_id_goes_to_the_controller_whole_not_as_its_job(
        capsys: pytest.CaptureFixture[str]) -> None:
    sent = Sent()
    assert run(capsys, ["-s", "USR1", "3.0", "4_2.1"], sent) == ("", "", 0)
    assert sent.calls == [("3.0", "USR1"), ("4_2.1", "USR1")]
    sent = Sent()
    assert run(capsys, ["-u", "root", "-n", "arr", "-t", "R", "10.0"], sent,
               scenario.active_jobs()) == ("", "", 0)
    assert sent.calls == [("10_0.0", None), ("10_1.0", None)]


@pytest.mark.parametrize(("argv", "err", "rc"), [
    (["3.0"], "scancel: error: Kill job error on job step id 3.0: Invalid job id specified\n",
     1),
    (["-Q", "3.0"], "", 1),
    (["-v", "3.0"], "scancel: Terminating step 3.0\n"
                    "scancel: error: Kill job error on job step id 3.0: Invalid job id "
                    "specified\n", 1),
    (["-v", "-s", "USR1", "3.0"], "scancel: Signal 10 to step 3.0\n"
                                  "scancel: error: Kill job error on job step id 3.0: Invalid "
                                  "job id specified\n", 1),
])
def test_a_step_the_controller_cannot_find_is_an_error(
        capsys: pytest.CaptureFixture[str], argv: list[str], err: str, rc: int) -> None:
    sent = Sent({"3.0": api_error("Invalid job id specified")})
    assert run(capsys, argv, sent) == ("", err, rc)


def test_a_finished_step_is_reported_only_when_verbose(
        capsys: pytest.CaptureFixture[str]) -> None:
    sent = Sent({"3.0": api_error("Job/step already completing or completed", 409)})
    assert run(capsys, ["3.0"], sent) == ("", "", 0)
    assert run(capsys, ["-v", "3.0"], sent)[1].endswith(
        "Kill job error on job step id 3.0: Job/step already completing or completed\n")


def test_a_step_id_is_a_number(capsys: pytest.CaptureFixture[str]) -> None:
    sent = Sent()
    assert run(capsys, ["3.batch"], sent) == ("", "scancel: error: Invalid job id 3.batch\n", 1)
    assert sent.calls == []


def test_bad_id(capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("035")
    sent = Sent()
    assert run(capsys, ["abc"], sent) == ("", g.stderr, 1)
    assert sent.calls == []


def test_permission_denied_fails(capsys: pytest.CaptureFixture[str]) -> None:
    sent = Sent({"12": api_error("Access/permission denied", 403)})
    out, err, rc = run(capsys, ["12"], sent)
    assert rc == 1 and "Access/permission denied" in err
    assert run(capsys, ["-Q", "12"], sent)[1:] == ("", 1)


def test_filters_pick_jobs_from_the_queue(capsys: pytest.CaptureFixture[str]) -> None:
    queue = scenario.active_jobs()
    sent = Sent()
    assert run(capsys, ["-n", "arr", "-t", "R"], sent, queue)[2] == 0
    assert sent.calls == [("10_0", None), ("10_1", None)]
    sent = Sent()
    assert run(capsys, ["-u", "root", "-p", "short"], sent, queue)[2] == 0
    assert sent.calls == [("18", None)]


def test_a_state_filter_names_an_arrays_pending_rest_not_the_whole_array(
        capsys: pytest.CaptureFixture[str]) -> None:
    queue = scenario.active_jobs()  # array 10: tasks 0 and 1 running, [2-9%2] pending
    sent = Sent()
    assert run(capsys, ["-n", "arr", "-t", "PD"], sent, queue)[2] == 0
    assert sent.calls == [("10_[2-9]", None)]


def test_nothing_to_cancel(capsys: pytest.CaptureFixture[str]) -> None:
    out, err, rc = run(capsys, [], Sent())
    assert rc == 1 and "No job identification provided" in err
    assert run(capsys, ["-s", "BOGUS", "1"], Sent())[2] == 1


def test_an_unknown_user_name_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    sent = Sent()
    assert run(capsys, ["-u", "nosuchuser9"], sent, scenario.active_jobs()) == (
        "", "scancel: error: Invalid user name: nosuchuser9\n", 1)
    assert sent.calls == []
