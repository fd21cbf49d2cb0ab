"""scontrol create|update|delete|show reservation: what is sent and what is printed."""

from __future__ import annotations

from datetime import datetime

import pytest

from drover.cli import reservation, scontrol
from tests.cli.fakectl import FakeCtl, api_error

RESV = {"name": "maint1", "start_time": 1_800_000_000, "end_time": 1_800_003_600,
        "duration_min": 60, "nodes": "n[1-2]", "node_count": 2, "core_count": 8,
        "users": "alice", "accounts": "", "flags": "MAINT", "partition": "", "state": "ACTIVE"}


def run(capsys: pytest.CaptureFixture[str], argv: list[str],
        ctl: FakeCtl) -> tuple[int, str, str]:
    rc = scontrol.run(argv, lambda: ctl)
    out, err = capsys.readouterr()
    return rc, out, err


def test_create_sends_the_fields_and_prints_the_name(capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl({("POST", "/api/reservations/"): {"name": "maint1"}})
    rc, out, err = run(capsys, ["create", "reservation", "ReservationName=maint1",
                                "StartTime=now", "Duration=60", "Users=alice", "Nodes=n[1-2]",
                                "Flags=MAINT"], ctl)
    assert (rc, out, err) == (0, "Reservation created: maint1\n", "")
    body = ctl.calls[0][2]
    assert body["name"] == "maint1" and body["duration_min"] == 60
    assert body["users"] == "alice" and body["nodes"] == "n[1-2]" and body["flags"] == "MAINT"
    assert abs(body["start_time"] - datetime.now().timestamp()) < 5


@pytest.mark.parametrize(("words", "message"), [
    (["Duration=60", "Users=a", "Nodes=n1"], "A start time must be given."),
    (["StartTime=now", "Users=a", "Nodes=n1"], "An end time or duration must be given."),
    (["StartTime=now", "Duration=5", "Users=a"],
     "Nodes, NodeCnt, CoreCnt, TRES, BurstBuffer or Watts must be specified."),
    (["StartTime=now", "Duration=5", "Nodes=n1"],
     "Either Users/Groups and/or Accounts must be specified."),
])
def test_create_needs_the_essentials(capsys: pytest.CaptureFixture[str], words: list[str],
                                     message: str) -> None:
    ctl = FakeCtl()
    rc, _, err = run(capsys, ["create", "reservation", *words], ctl)
    assert rc == 1 and err == f"scontrol: error: {message}  No reservation created.\n"
    assert ctl.calls == []


def test_create_error_from_the_controller(capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl({("POST", "/api/reservations/"): api_error(
        "Requested reservation overlaps with another reservation", 409)})
    rc, _, err = run(capsys, ["create", "res", "StartTime=now", "Duration=5", "Users=a",
                              "Nodes=n1"], ctl)
    assert rc == 1
    assert err == ("Error creating the reservation: "
                   "Requested reservation overlaps with another reservation\n")


def test_update_and_delete(capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl()
    assert run(capsys, ["update", "ReservationName=maint1", "Duration=2:00:00"], ctl) == (
        0, "Reservation updated.\n", "")
    assert ctl.calls[-1] == ("PATCH", "/api/reservations/maint1/", {"duration_min": 120})
    assert run(capsys, ["delete", "ReservationName=maint1"], ctl)[0] == 0
    assert ctl.calls[-1] == ("POST", "/api/reservations/maint1/delete/", {})
    assert run(capsys, ["delete", "reservation", "maint1"], ctl)[0] == 0
    assert ctl.calls[-1][1] == "/api/reservations/maint1/delete/"
    ctl = FakeCtl({("POST", "/api/reservations/x/delete/"): api_error(
        "Requested reservation is invalid", 400)})
    rc, _, err = run(capsys, ["delete", "ReservationName=x"], ctl)
    assert (rc, err) == (1, "delete_reservation x: Requested reservation is invalid\n")


def test_show_prints_slurms_record(capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl({("GET", "/api/reservations/"): {"reservations": [RESV]}})
    rc, out, _ = run(capsys, ["show", "reservation"], ctl)
    lines = out.split("\n")
    assert rc == 0
    assert lines[0].startswith("ReservationName=maint1 StartTime=")
    assert lines[0].endswith(" Duration=01:00:00")
    assert lines[1] == ("   Nodes=n[1-2] NodeCnt=2 CoreCnt=8 Features=(null) "
                        "PartitionName=(null) Flags=MAINT")
    assert lines[2] == "   TRES=cpu=8"
    assert lines[3] == ("   Users=alice Groups=(null) Accounts=(null) Licenses=(null) "
                        "State=ACTIVE BurstBuffer=(null) Watts=n/a")
    assert lines[4:] == ["   MaxStartDelay=(null)", "", ""]


def test_show_none_and_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl({("GET", "/api/reservations/"): {"reservations": []}})
    assert run(capsys, ["show", "reservation"], ctl) == (
        0, "No reservations in the system\n", "")
    assert run(capsys, ["show", "reservation", "x"], ctl) == (1, "Reservation x not found\n", "")


def test_bad_field(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="Unknown parameter Color"):
        reservation.parse_fields(["Color=red"])


def test_update_job_nice_and_priority(capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl()
    assert run(capsys, ["update", "JobId=7", "Nice"], ctl)[0] == 0
    assert ctl.calls[-1] == ("PATCH", "/api/jobs/7/", {"nice": 100})
    assert run(capsys, ["update", "JobId=7", "Nice=-5", "Priority=900"], ctl)[0] == 0
    assert ctl.calls[-1] == ("PATCH", "/api/jobs/7/", {"nice": -5, "priority": 900})


def test_sinfo_lists_reservations(capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl({("GET", "/api/reservations/"): {"reservations": [RESV]}})
    assert reservation.sinfo_main(ctl) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["RESV_NAME", "STATE", "START_TIME", "END_TIME", "DURATION",
                                "NODELIST"]
    assert lines[1].split()[0:2] == ["maint1", "ACTIVE"]
    assert lines[1].endswith("    01:00:00  n[1-2]")
    empty = FakeCtl({("GET", "/api/reservations/"): {"reservations": []}})
    assert reservation.sinfo_main(empty) == 0
    assert capsys.readouterr().out == "No reservations in the system\n"


def test_create_with_a_node_count(capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl({("POST", "/api/reservations/"): {"name": "root_1"}})
    rc, out, _ = run(capsys, ["create", "reservation", "StartTime=now", "Duration=5",
                              "Users=root", "NodeCnt=2"], ctl)
    assert (rc, out) == (0, "Reservation created: root_1\n")
    assert ctl.calls[0][2]["node_count"] == 2
