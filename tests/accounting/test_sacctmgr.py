"""sacctmgr against the golden outputs of real Slurm 22.05 (124-135), with canned API data."""

from __future__ import annotations

import shlex
from typing import Any

import pytest

from drover.cli import sacctmgr
from tests.cli import golden
from tests.cli.fakectl import FakeCtl, api_error

NO_LIMITS = {k: None for k in ("grp_jobs", "grp_submit_jobs", "grp_wall_min",
                               "max_jobs_per_user", "max_submit_jobs_per_user", "max_wall_min")}
NO_TRES = {k: "" for k in ("grp_tres", "max_tres_per_job", "max_tres_per_node",
                           "max_tres_per_user")}


def assoc(account: str, user: str, depth: int, **kw: Any) -> dict[str, Any]:
    return {"account": account, "user": user, "partition": "", "shares": 1, "qos": ["normal"],
            "default_qos": "", "depth": depth, "parent_account": "", **NO_LIMITS, **NO_TRES,
            **kw}


CLUSTER = {"name": "anchor", "control_host": "127.0.0.1", "control_port": 18801, "rpc": 9728,
           "shares": 1, "qos": ["normal"], "default_qos": ""}
ASSOCS = [assoc("root", "", 0), assoc("root", "root", 1), assoc("science", "", 1),
          assoc("science", "root", 2), assoc("physics", "", 2), assoc("physics", "root", 3)]
ACCOUNTS = [
    {"name": "physics", "description": "physics", "organization": "anchor", "parent": "science"},
    {"name": "root", "description": "default root account", "organization": "root",
     "parent": ""},
    {"name": "science", "description": "science dept", "organization": "anchor",
     "parent": "root"},
]
USERS = [{"name": "root", "default_account": "root", "admin": "Administrator",
          "coordinators": []}]
QOS = [{"name": "normal", "priority": 0, "description": "", "preempt": [],
        "preempt_mode": "cluster", "flags": "", "usage_factor": 1.0, **NO_LIMITS, **NO_TRES}]


def fake(**answers: Any) -> FakeCtl:
    base: dict[tuple[str, str], Any] = {
        ("GET", "/api/accounting/cluster/"): {"clusters": [CLUSTER]},
        ("GET", "/api/accounting/associations/"): {"associations": ASSOCS},
        ("GET", "/api/accounting/accounts/"): {"accounts": ACCOUNTS},
        ("GET", "/api/accounting/users/"): {"users": USERS},
        ("GET", "/api/accounting/qos/"): {"qos": QOS},
    }
    base.update({tuple(k.split(" ", 1)): v for k, v in answers.items()})  # type: ignore[misc]
    return FakeCtl(base)


def run(capsys: Any, command: str, ctl: FakeCtl) -> tuple[str, str, int]:
    argv = shlex.split(command)[1:]
    code = sacctmgr.main(argv, ctl=ctl)
    out, err = capsys.readouterr()
    return out, err, code


WRITES = {
    "130": {"POST /api/accounting/accounts/": {"added": ["chemistry"]}},
    "131": {"POST /api/accounting/accounts/": {"added": []}},
    "132": {"POST /api/accounting/users/": {
        "added": [{"user": "root", "account": "chemistry", "partition": ""}]}},
    "133": {"POST /api/accounting/modify/": {
        "modified": [{"user": "root", "account": "chemistry", "partition": ""}]}},
    "134": {"POST /api/accounting/delete/": {"deleted": [{"name": "chemistry"}]}},
}


@pytest.mark.parametrize("prefix", ["124", "125", "126", "127", "128", "129", "130", "131",
                                    "132", "133", "134", "135"])
def test_it_prints_what_slurm_printed(capsys: Any, prefix: str) -> None:
    g = golden.load(prefix)
    out, err, code = run(capsys, g.command, fake(**WRITES.get(prefix, {})))
    assert (out, err, code) == (g.stdout, g.stderr, g.exit)


@pytest.mark.parametrize(("command", "path", "body"), [
    ("sacctmgr -i add account chemistry Description=chem Organization=anchor",
     "/api/accounting/accounts/",
     {"names": ["chemistry"], "settings": {"Description": "chem", "Organization": "anchor"}}),
    ("sacctmgr -i add user root Account=chemistry", "/api/accounting/users/",
     {"names": ["root"], "settings": {"Account": "chemistry"}}),
    ("sacctmgr -i modify user root where account=chemistry set MaxJobs=5",
     "/api/accounting/modify/",
     {"kind": "user", "where": {"account": "chemistry", "name": "root"},
      "settings": {"MaxJobs": "5"}}),
    ("sacctmgr -i modify qos normal set GrpTRES=cpu=10 MaxTRESPerUser=cpu=2 MaxWall=1:00:00",
     "/api/accounting/modify/",
     {"kind": "qos", "where": {"name": "normal"},
      "settings": {"GrpTRES": "cpu=10", "MaxTRESPerUser": "cpu=2", "MaxWall": "1:00:00"}}),
    ("sacctmgr -i add qos high Priority=10 MaxJobsPerUser=2", "/api/accounting/qos/",
     {"names": ["high"], "settings": {"Priority": "10", "MaxJobsPerUser": "2"}}),
    ("sacctmgr -i delete user root where account=physics", "/api/accounting/delete/",
     {"kind": "user", "where": {"account": "physics", "name": "root"}}),
])
def test_writes_send_the_settings_as_written(capsys: Any, command: str, path: str,
                                             body: dict[str, Any]) -> None:
    ctl = fake()
    run(capsys, command, ctl)
    assert ("POST", path, body) in ctl.calls


def test_the_account_list_of_one_user_for_snakemake(capsys: Any) -> None:
    out, err, code = run(capsys, "sacctmgr -n -s list user root format=account%256", fake())
    assert code == 0 and err == ""
    assert [line.strip() for line in out.splitlines()] == ["root", "science", "physics"]
    assert all(len(line) == 257 for line in out.splitlines())


def test_show_qos_with_limits_and_parsable(capsys: Any) -> None:
    qos = [{**QOS[0], "max_jobs_per_user": 1, "grp_tres": "cpu=10", "max_wall_min": 90}]
    ctl = fake(**{"GET /api/accounting/qos/": {"qos": qos}})
    out, _, code = run(capsys, "sacctmgr -P show qos format=Name,MaxJobsPU,GrpTRES,MaxWall", ctl)
    assert code == 0 and out == "Name|MaxJobsPU|GrpTRES|MaxWall\nnormal|1|cpu=10|01:30:00\n"


def test_a_user_without_privilege_gets_slurms_message(capsys: Any) -> None:
    ctl = fake(**{"POST /api/accounting/accounts/": api_error("Access/permission denied",
                                                              403)})
    out, err, code = run(capsys, "sacctmgr -i add account x", ctl)
    assert code == 1 and "privilege" in err


@pytest.mark.parametrize("command", ["sacctmgr", "sacctmgr frob account",
                                     "sacctmgr list nosuch", "sacctmgr --bogus list qos",
                                     "sacctmgr -i add account"])
def test_bad_command_lines_fail(capsys: Any, command: str) -> None:
    _, err, code = run(capsys, command, fake())
    assert code == 1 and err


@pytest.mark.parametrize("command", ["sacctmgr --version", "sacctmgr -V", "sacctmgr version"])
def test_the_version_as_the_other_commands_print_it(capsys: Any, command: str) -> None:
    assert run(capsys, command, FakeCtl({})) == ("slurm 22.05.8\n", "", 0)
