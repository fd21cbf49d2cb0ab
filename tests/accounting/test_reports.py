"""sreport's figures (accounting.reports via scheduler.reports_load) on PostgreSQL, with
hand-made jobs whose usage is known to the second, and GET /api/accounting/reports/."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from accounting import reports
from accounting.models import Account, Association
from scheduler import reports_load
from scheduler.models import NodeEvent
from tests.api.builders import make_cluster, make_job, make_user, set_param
from tests.api.conftest import client_for

W = int(datetime(2026, 11, 23, tzinfo=UTC).timestamp())  # window start
DAY = 86400
NOW = W + DAY + 1000
WINDOW = reports.Window(W, W + DAY)


def at(offset: int) -> datetime:
    return datetime.fromtimestamp(W + offset, tz=UTC)


def ran(user: str, account: str, cpus: int, start: int, end: int | None, **kw: Any) -> None:
    make_job(user, account=account, state="RUNNING" if end is None else "COMPLETED",
             start_time=at(start), end_time=None if end is None else at(end),
             submit_time=at(start - 10), eligible_time=at(start - 10), nodes="n1",
             alloc={"n1": {"cpus": cpus, "mem_mb": 100 * cpus, "gpus": []}}, **kw)


@pytest.fixture
def site(db: Any) -> None:
    """8 CPUs (n[1-4] x 2); root > (science > physics, chem); alice, bob, carol."""
    make_cluster()
    root = Account.objects.create(name="root")
    science = Account.objects.create(name="science", parent=root)
    physics = Account.objects.create(name="physics", parent=science)
    chem = Account.objects.create(name="chem", parent=root)
    for user, acct in (("root", root), ("bob", science), ("alice", physics),
                       ("carol", chem), ("alice", chem)):
        Association.objects.create(account=acct, user=user)
    ran("alice", "physics", 2, -3600, 3600)  # clipped at the window's start: 3600 s
    ran("bob", "science", 4, 1000, 2000)  # inside: 1000 s
    ran("carol", "chem", 1, DAY - 600, None)  # still running: clipped at the end, 600 s
    ran("alice", "physics", 2, -7200, -3600)  # before the window: nothing
    ran("alice", "chem", 1, 5000, 5060)  # 60 s
    # Pending and eligible for the last 6400 s of the window, asking for 2 CPUs.
    make_job("bob", account="science", ntasks=2, submit_time=at(80000),
             eligible_time=at(80000))


def build(name: str, **kw: Any) -> dict[str, Any]:
    return reports_load.build(name, WINDOW, kw.pop("tres", "cpu"), NOW, **kw)


def test_utilization_clips_jobs_to_the_window_and_counts_running_ones(site: None) -> None:
    util = build("utilization")["utilization"]
    allocated = 2 * 3600 + 4 * 1000 + 1 * 600 + 60
    # The pending job's 2 CPUs x 6400 s, and three jobs that waited 10 s for 1 CPU each.
    planned = 2 * 6400 + 3 * 10
    assert util == {"count": 8, "allocated": allocated, "down": 0, "planned_down": 0,
                    "planned": planned, "idle": 8 * DAY - allocated - planned,
                    "reported": 8 * DAY}


def test_down_counts_node_events_clipped_to_the_window(site: None) -> None:
    cpus = {"cpu": 2, "mem": 4000, "gres/gpu": 0}
    # n1 down from before the window to after it; n2 drained for its last 1000 s, still.
    NodeEvent.objects.create(node_name="n1", state="DOWN", reason="PSU", tres=cpus,
                             time_start=at(-500), time_end=at(DAY + 500))
    NodeEvent.objects.create(node_name="n2", state="DRAIN", reason="fan", tres=cpus,
                             time_start=at(DAY - 1000))
    NodeEvent.objects.create(node_name="n3", state="DOWN", reason="old", tres=cpus,
                             time_start=at(-900), time_end=at(-100))
    util = build("utilization")["utilization"]
    assert util["down"] == 2 * DAY + 2 * 1000
    assert util["planned_down"] == 0
    assert util["idle"] == 8 * DAY - util["allocated"] - util["down"] - util["planned"]


def test_memory_utilization_counts_megabytes(site: None) -> None:
    util = build("utilization", tres="mem")["utilization"]
    assert util["count"] == 4 * 4000
    assert util["allocated"] == 200 * 3600 + 400 * 1000 + 100 * 600 + 100 * 60
    assert util["planned"] == 0


def test_accounts_sum_their_subtrees_and_root_sums_all(site: None) -> None:
    rows = build("account-by-user")["rows"]
    got = [(r["account"], r["user"], r["depth"], r["used"]) for r in rows]
    assert got == [
        ("root", "", 0, 7200 + 4000 + 600 + 60),
        ("root", "root", 1, 0),
        ("chem", "", 1, 660),
        ("chem", "alice", 2, 60),
        ("chem", "carol", 2, 600),
        ("science", "", 1, 11200),
        ("science", "bob", 2, 4000),
        ("physics", "", 2, 7200),
        ("physics", "alice", 3, 7200),
    ]


def test_accounts_filter_keeps_the_subtree(site: None) -> None:
    rows = build("account-by-user", accounts=["science"])["rows"]
    assert [(r["account"], r["user"]) for r in rows] == [
        ("science", ""), ("science", "bob"), ("physics", ""), ("physics", "alice")]


def test_user_by_account_and_top_users_are_busiest_first(site: None) -> None:
    pairs = build("user-by-account")["rows"]
    assert [(r["user"], r["account"], r["used"]) for r in pairs] == [
        ("alice", "physics", 7200), ("bob", "science", 4000), ("carol", "chem", 600),
        ("alice", "chem", 60)]
    grouped = build("top-users", group=True, top=2)["rows"]
    assert grouped == [{"user": "alice", "account": "chem, physics", "used": 7260},
                       {"user": "bob", "account": "science", "used": 4000}]


def test_job_sizes_bin_by_cpus_under_top_accounts(site: None) -> None:
    data = build("job-sizes", grouping=[2, 4])
    assert data["bins"] == [[0, 2], [2, 4], [4, None]]
    rows = {r["account"]: r for r in data["rows"]}
    assert rows["science"]["bins"] == [0, 7200, 4000]
    assert rows["chem"]["bins"] == [660, 0, 0]
    assert rows["chem"]["bin_jobs"] == [2, 0, 0]
    assert data["total"] == 11860


def test_any_user_reads_reports_unless_private_data_usage(site: None) -> None:
    make_user("root", operator=True)
    make_user("bob")
    params = {"start": W, "end": W + DAY}
    r = client_for("bob").get("/api/accounting/reports/user-by-account/", params)
    assert r.status_code == 200, r.content
    assert len(r.json()["rows"]) == 4
    set_param("PrivateData", "jobs,usage")
    r = client_for("bob").get("/api/accounting/reports/user-by-account/", params)
    assert [row["user"] for row in r.json()["rows"]] == ["bob"]
    assert client_for("bob").get("/api/accounting/reports/utilization/",
                                 params).status_code == 403
    r = client_for("root").get("/api/accounting/reports/user-by-account/", params)
    assert len(r.json()["rows"]) == 4


def test_bad_requests_name_the_problem(site: None) -> None:
    make_user("bob")
    bob = client_for("bob")
    assert bob.get("/api/accounting/reports/frob/").status_code == 400
    assert bob.get("/api/accounting/reports/utilization/", {"tres": "energy"}
                   ).status_code == 400
    r = bob.get("/api/accounting/reports/utilization/", {"start": W, "end": W})
    assert r.status_code == 400 and "end must be after start" in r.content.decode()


def test_sreport_end_to_end_through_the_api(site: None, capsys: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from drover.cli import sreport
    from tests.accounting.test_sacctmgr_live import LiveCtl

    make_user("root", operator=True)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        rc = sreport.main(["-n", "cluster", "AccountUtilizationByUser", "start=2026-11-23",
                           "end=2026-11-24", "format=Account,Login,Used"],
                          ctl=LiveCtl("root"), now=NOW)
    finally:
        monkeypatch.undo()
        time.tzset()
    out, err = capsys.readouterr()
    assert (rc, err) == (0, "")
    assert out.splitlines() == [
        "           root                198 ",
        "           root      root        0 ",
        "           chem                 11 ",
        "           chem     alice        1 ",
        "           chem     carol       10 ",
        "        science                187 ",
        "        science       bob       67 ",
        "        physics                120 ",
        "        physics     alice      120 ",
    ]
