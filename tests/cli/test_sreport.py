"""sreport against fake API data, byte for byte.

No golden of real sreport exists in slurm-golden, so the expected text is built
by hand from Slurm 22.05's formats: the banner of cluster_reports.c /
user_reports.c / job_reports.c (80 dashes, ``<Title> <start> - <end-1>[ (N secs)]``,
``Usage reported in CPU Minutes``), print_fields_header (``%*.*s `` headers cut
without ``+``, then dashes of each width), print_fields_str cells, and the usage
widths of common.c's sreport_set_usage_col_width (8 for fewer than 9 digits of
seconds, +9 for the N(P%) formats).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from drover.cli import sreport
from tests.cli.fakectl import FakeCtl

W = 1795392000  # 2026-11-23T00:00:00Z
DAY = 86400
NOW = W + DAY + 1000  # the next day, 00:16:40
DASHES = "-" * 80
UTIL = {"count": 8, "allocated": 11860, "down": 0, "planned_down": 0, "planned": 12830,
        "idle": 666510, "reported": 691200}
TREE = [("root", "", 0, 18060), ("root", "root1", 1, 0), ("chem", "", 1, 660),
        ("chem", "al1", 2, 60), ("chem", "carl1", 2, 600), ("science", "", 1, 11200),
        ("science", "bob1", 2, 4000), ("physics", "", 2, 7200), ("physics", "al1", 3, 7200)]


pytestmark = pytest.mark.usefixtures("utc")  # tests/cli/conftest.py


def answer(report: str, params: dict[str, Any]) -> dict[str, Any]:
    base: dict[str, Any] = {"report": report, "cluster": "drover", "tres": params["tres"],
                            "start": params["start"], "end": params["end"],
                            "total": 691200}
    if report == "utilization":
        base["utilization"] = UTIL
    elif report == "account-by-user":
        base["rows"] = [{"account": a, "user": u, "depth": d, "used": s}
                        for a, u, d, s in TREE]
    elif report in ("user-by-account", "top-users"):
        base["rows"] = [{"user": "al1", "account": "physics", "used": 7200},
                        {"user": "bob1", "account": "science", "used": 4000}]
    else:
        base.update(total=11860, bins=[[0, 50], [50, 250], [250, 500], [500, 1000],
                                       [1000, None]],
                    rows=[{"account": "chem", "used": 660, "jobs": 2,
                           "bins": [660, 0, 0, 0, 0], "bin_jobs": [2, 0, 0, 0, 0]},
                          {"account": "science", "used": 11200, "jobs": 2,
                           "bins": [11200, 0, 0, 0, 0], "bin_jobs": [2, 0, 0, 0, 0]}])
    return base


def run(capsys: pytest.CaptureFixture[str], argv: Sequence[str]
        ) -> tuple[str, str, int, FakeCtl]:
    ctl = FakeCtl({("GET", f"/api/accounting/reports/{r}/"):
                   (lambda p, r=r: answer(r, p)) for r in
                   ("utilization", "account-by-user", "user-by-account", "top-users",
                    "job-sizes")})
    rc = sreport.main(list(argv), ctl=ctl, now=NOW)
    out, err = capsys.readouterr()
    return out, err, rc, ctl


def test_cluster_utilization_prints_slurms_banner_and_columns(capsys: Any) -> None:
    out, err, rc, ctl = run(capsys, ["cluster", "utilization"])
    assert (err, rc) == ("", 0)
    assert ctl.calls[0][2] == {"start": W, "end": W + DAY, "tres": "cpu"}
    assert out == "\n".join([
        DASHES,
        "Cluster Utilization 2026-11-23T00:00:00 - 2026-11-23T23:59:59",
        "Usage reported in CPU Minutes",
        DASHES,
        "  Cluster Allocate     Down PLND Dow     Idle  Planned Reported ",
        "--------- -------- -------- -------- -------- -------- -------- ",
        # 11108.5 minutes of idle print as 11108: %.0f rounds half to even, as C does.
        "   drover      198        0        0    11108      214    11520 ",
    ]) + "\n"


def test_percent_and_hourper_formats(capsys: Any) -> None:
    out, _, _, _ = run(capsys, ["-t", "percent", "cluster", "utilization"])
    assert out.splitlines()[2] == "Usage reported in Percentage of Total"
    assert out.splitlines()[-1] == ("   drover    1.72%    0.00%    0.00%   96.43%    1.86% "
                                    " 100.00% ")
    out, _, _, _ = run(capsys, ["-t", "hourper", "cluster", "utilization"])
    assert out.splitlines()[2] == "Usage reported in CPU Hours/Percentage of Total"
    assert out.splitlines()[-1] == (
        "   drover          3(1.72%)          0(0.00%)          0(0.00%)"
        "       185(96.43%)          4(1.86%)      192(100.00%) ")


def test_parsable_and_noheader(capsys: Any) -> None:
    out, _, _, _ = run(capsys, ["-P", "-n", "cluster", "utilization"])
    assert out == "drover|198|0|0|11108|214|11520\n"
    out, _, _, _ = run(capsys, ["-p", "cluster", "utilization", "format=Cluster,Idle"])
    assert out.splitlines()[-2:] == ["Cluster|Idle|", "drover|11108|"]


def test_window_is_rounded_to_the_hour_and_capped_at_now(capsys: Any) -> None:
    _, _, _, ctl = run(capsys, ["cluster", "utilization", "start=2026-11-23T10:29:40",
                                "end=2026-11-30"])
    # 10:29:40 -> 10:30:00 -> 11:00; an end past now is now (00:16:40) -> 00:00.
    assert ctl.calls[0][2]["start"] == W + 11 * 3600
    assert ctl.calls[0][2]["end"] == W + DAY


def test_account_utilization_by_user_tree(capsys: Any) -> None:
    out, _, rc, _ = run(capsys, ["cluster", "AccountUtilizationByUser", "tree",
                                 "format=Account,Login,Used"])
    assert rc == 0
    assert out.splitlines()[1] == ("Cluster/Account/User Utilization 2026-11-23T00:00:00"
                                   " - 2026-11-23T23:59:59 (86400 secs)")
    assert out.splitlines()[4:] == [
        "Account                  Login     Used ",
        "-------------------- --------- -------- ",
        "root                                301 ",
        " root                    root1        0 ",
        " chem                                11 ",
        "  chem                     al1        1 ",
        "  chem                   carl1       10 ",
        " science                            187 ",
        "  science                 bob1       67 ",
        "  physics                           120 ",
        "   physics                 al1      120 ",
    ]


def test_user_utilization_by_account_default_columns(capsys: Any) -> None:
    out, _, _, _ = run(capsys, ["cluster", "UserUtilizationByAccount", "-t", "percent"])
    assert out.splitlines()[4:] == [
        "  Cluster     Login     Proper Name         Account     Used   Energy ",
        "--------- --------- --------------- --------------- -------- -------- ",
        "   drover       al1                         physics    1.04%    0.00% ",
        "   drover      bob1                         science    0.58%    0.00% ",
    ]


def test_top_usage_banner_counts_users(capsys: Any) -> None:
    out, _, _, ctl = run(capsys, ["user", "top", "TopCount=5", "Group", "-T", "cpu"])
    assert ctl.calls[0][2]["top"] == "5" and ctl.calls[0][2]["group"] == 1
    lines = out.splitlines()
    assert lines[1].startswith("Top 5 Users 2026-11-23T00:00:00 - ")
    assert lines[4:6] == [
        "  Cluster     Login     Proper Name         Account      TRES Name     Used ",
        "--------- --------- --------------- --------------- -------------- -------- ",
    ]
    assert lines[6] == ("   drover       al1                         physics "
                        "           cpu      120 ")


def test_job_sizes_by_account(capsys: Any) -> None:
    out, _, _, _ = run(capsys, ["job", "SizesByAccount"])
    assert out == "\n".join([
        DASHES,
        "Job Sizes 2026-11-23T00:00:00 - 2026-11-23T23:59:59 (86400 secs)",
        "Time reported in Minutes",
        DASHES,
        "  Cluster   Account     0-49 CPUs   50-249 CPUs  250-499 CPUs  500-999 CPUs "
        " >= 1000 CPUs % of cluster ",
        "--------- --------- ------------- ------------- ------------- ------------- "
        "------------- ------------ ",
        "   drover      chem            11             0             0             0 "
        "            0        5.56% ",
        "   drover   science           187             0             0             0 "
        "            0       94.44% ",
    ]) + "\n"


def test_bad_words_fail_like_sreport(capsys: Any) -> None:
    _, err, rc, _ = run(capsys, ["cluster", "utilization", "format=Cluster,Frob"])
    assert (rc, err) == (1, " Unknown field 'Frob'\n")
    _, err, rc, _ = run(capsys, ["-t", "fortnights", "cluster", "utilization"])
    assert (rc, err) == (1, "sreport: error: unknown time format fortnights\n")
    _, err, rc, _ = run(capsys, ["cluster", "utilization", "colour=red"])
    assert rc == 1 and err.startswith(" Unknown condition: colour=red")
    _, err, rc, _ = run(capsys, ["cluster", "utilization", "start=frob"])
    assert (rc, err) == (1, "sreport: error: invalid time specification 'frob'\n")
