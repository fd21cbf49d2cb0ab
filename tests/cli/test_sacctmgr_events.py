"""sacctmgr show event (Slurm 22.05's event_functions.c) with a fake controller."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from drover.cli import sacctmgr
from tests.cli.fakectl import FakeCtl

START = int(time.mktime((2026, 11, 24, 9, 30, 0, 0, 0, -1)))
EVENTS = [
    {"cluster": "anchor", "node_name": "n1", "state": "DRAIN", "reason": "bad fan",
     "user": "root", "time_start": START, "time_end": START + 3600},
    {"cluster": "anchor", "node_name": "n2", "state": "DOWN", "reason": "Not responding",
     "user": "slurm-nobody-here", "time_start": START + 60, "time_end": None},
]


def ctl() -> FakeCtl:
    return FakeCtl({("GET", "/api/accounting/cluster/"): {"clusters": [{"name": "anchor"}]},
                    ("GET", "/api/accounting/events/"): {"events": EVENTS}})


def run(capsys: Any, *words: str) -> tuple[int, str, str, dict[str, Any]]:
    fake = ctl()
    rc = sacctmgr.main(list(words), ctl=fake)
    out, err = capsys.readouterr()
    sent = [params for method, path, params in fake.calls if path.endswith("events/")]
    return rc, out, err, sent[0] if sent else {}


def test_default_layout_is_slurms(capsys: Any) -> None:
    rc, out, _err, params = run(capsys, "show", "event")
    assert rc == 0
    assert out.splitlines() == [
        "   Cluster NodeName                  TimeStart             TimeEnd  State "
        "                        Reason       User ",
        "---------- --------------- ------------------- ------------------- ------ "
        "------------------------------ ---------- ",
        "    anchor n1              2026-11-24T09:30:00 2026-11-24T10:30:00  DRAIN "
        "                       bad fan    root(0) ",
        "    anchor n2              2026-11-24T09:31:00             Unknown   DOWN "
        "                Not responding slurm-nob+ ",
    ]
    yesterday = (datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
                 - timedelta(days=1))
    assert params == {"start": int(yesterday.timestamp())}


def test_conditions_go_to_the_controller(capsys: Any) -> None:
    rc, out, _err, params = run(capsys, "-P", "list", "events", "where", "Nodes=n[1-2]",
                                "States=drain,DOWN", "Start=2026-11-24T00:00",
                                "End=2026-11-25", "format=NodeName,State,Reason")
    assert rc == 0
    assert params == {"nodes": "n[1-2]", "states": "DRAIN,DOWN",
                      "start": int(time.mktime((2026, 11, 24, 0, 0, 0, 0, 0, -1))),
                      "end": int(time.mktime((2026, 11, 25, 0, 0, 0, 0, 0, -1)))}
    assert out.splitlines() == ["NodeName|State|Reason", "n1|DRAIN|bad fan",
                                "n2|DOWN|Not responding"]


def test_states_without_start_shows_what_is_open_now_and_all_time_everything(
        capsys: Any) -> None:
    before = int(time.time())
    _rc, _out, _err, params = run(capsys, "show", "event", "states=down")
    assert params["states"] == "DOWN" and before <= params["start"] <= int(time.time())
    _rc, _out, _err, params = run(capsys, "show", "event", "All_Time", "Reason=bad fan")
    assert params == {}


def test_bad_conditions_are_refused(capsys: Any) -> None:
    rc, _out, err, params = run(capsys, "show", "event", "Colour=red")
    assert (rc, err, params) == (1, " Unknown condition: Colour=red\n", {})
    rc, _out, err, _params = run(capsys, "show", "event", "States=up")
    assert rc == 1 and err.splitlines() == [
        "Invalid state: up",
        "Valid node states are: DRAIN FAIL UNKNOWN DOWN IDLE ALLOCATED ERROR MIXED FUTURE "]
    rc, _out, err, _params = run(capsys, "delete", "event", "-i", "Nodes=n1")
    assert rc == 1
