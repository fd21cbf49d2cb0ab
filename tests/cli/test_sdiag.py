"""sdiag against the golden output of real Slurm 22.05 (136), fed with fake API data."""

from __future__ import annotations

import re
from typing import Any

from drover.cli import sdiag
from tests.cli import golden
from tests.cli.fakectl import FakeCtl, api_error

#: The figures of 136_sdiag.txt, under the API's names.
GOLDEN_FIGURES = {
    "req_time": 1795520917, "req_time_start": 1795520819, "server_thread_count": 3,
    "agent_queue_size": 0, "jobs_submitted": 29, "jobs_started": 12, "jobs_completed": 6,
    "jobs_canceled": 4, "jobs_failed": 0, "job_states_ts": 1795520909, "jobs_pending": 14,
    "jobs_running": 4, "schedule_cycle_last": 463, "schedule_cycle_max": 1898,
    "schedule_cycle_total": 10, "schedule_cycle_mean": 417, "schedule_cycle_mean_depth": 3,
    "schedule_cycle_per_minute": 10, "schedule_queue_length": 4, "bf_backfilled_jobs": 0,
    "bf_last_backfilled_jobs": 0, "bf_backfilled_het_jobs": 0, "bf_cycle_counter": 3,
    "bf_when_last_cycle": 1795520908, "bf_cycle_last": 176, "bf_cycle_max": 228,
    "bf_cycle_mean": 191, "bf_last_depth": 4, "bf_last_depth_try": 4, "bf_depth_mean": 4,
    "bf_depth_mean_try": 4, "bf_queue_len": 4, "bf_queue_len_mean": 4, "bf_table_size": 6,
    "bf_table_size_mean": 6, "gettimeofday_latency": 22,
}




def run(capsys: Any, argv: list[str], ctl: FakeCtl) -> tuple[str, str, int]:
    code = sdiag.main(argv, ctl=ctl)
    out, err = capsys.readouterr()
    return out, err, code


RPC_TYPE = re.compile(r"\t(\w+) +\( *(\d+)\) count:(\d+) +ave_time:(\d+) +total_time:(\d+)$")
RPC_USER = re.compile(r"\t(\S+) +\( *(\d+)\) count:(\d+) +ave_time:(\d+) +total_time:(\d+)$")


def rpc_rows(text: str) -> dict[str, list[dict[str, Any]]]:
    """The golden's RPC lines as the API lists them (in the golden's order)."""
    types, users = text.split("Remote Procedure Call statistics by user")
    fields = ("count", "average_time", "total_time")
    return {
        "rpcs_by_message_type": [
            {"message_type": m[1], "type_id": int(m[2]),
             **dict(zip(fields, map(int, m.groups()[2:]), strict=True))}
            for m in map(RPC_TYPE.match, types.splitlines()) if m],
        "rpcs_by_user": [
            {"user": m[1], "user_id": int(m[2]),
             **dict(zip(fields, map(int, m.groups()[2:]), strict=True))}
            for m in map(RPC_USER.match, users.splitlines()) if m]}


def test_the_layout_is_slurms(capsys: Any, utc: None) -> None:
    g = golden.load("136")
    rows = rpc_rows(g.stdout)
    assert len(rows["rpcs_by_message_type"]) == 20 and len(rows["rpcs_by_user"]) == 1
    ctl = FakeCtl({("GET", "/api/diag/"): {"statistics": {**GOLDEN_FIGURES, **rows}}})
    assert run(capsys, [], ctl) == (g.stdout, g.stderr, g.exit)


def rpc_order(capsys: Any, argv: list[str]) -> list[str]:
    rows = [{"message_type": name, "type_id": ident, "count": n, "average_time": total // n,
             "total_time": total}
            for name, ident, n, total in (("REQUEST_PING", 1008, 2, 900),
                                          ("REQUEST_JOB_INFO", 2003, 9, 1800),
                                          ("REQUEST_BUILD_INFO", 2001, 1, 1000))]
    ctl = FakeCtl({("GET", "/api/diag/"): {"statistics": {"rpcs_by_message_type": rows}}})
    out, _, _ = run(capsys, argv, ctl)
    return [m[1] for m in map(RPC_TYPE.match, out.splitlines()) if m]


def test_rpc_lines_sort_by_count_id_total_or_average_time(capsys: Any) -> None:
    assert rpc_order(capsys, []) == ["REQUEST_JOB_INFO", "REQUEST_PING", "REQUEST_BUILD_INFO"]
    assert rpc_order(capsys, ["-i"]) == ["REQUEST_PING", "REQUEST_BUILD_INFO",
                                         "REQUEST_JOB_INFO"]
    assert rpc_order(capsys, ["-t"]) == ["REQUEST_JOB_INFO", "REQUEST_BUILD_INFO",
                                         "REQUEST_PING"]
    assert rpc_order(capsys, ["-T"]) == ["REQUEST_BUILD_INFO", "REQUEST_PING",
                                         "REQUEST_JOB_INFO"]


def test_no_backfill_cycle_yet_reads_na(capsys: Any) -> None:
    ctl = FakeCtl({("GET", "/api/diag/"): {"statistics": {"bf_when_last_cycle": None}}})
    out, _, code = run(capsys, [], ctl)
    assert code == 0 and "\tLast cycle when: N/A\n" in out


def test_reset_posts_and_says_so(capsys: Any) -> None:
    ctl = FakeCtl({("POST", "/api/diag/"): {"statistics": {}}})
    assert run(capsys, ["--reset"], ctl) == ("Reset scheduling statistics\n", "", 0)
    assert ctl.calls == [("POST", "/api/diag/", {})]


def test_a_refused_reset_fails_with_slurms_words(capsys: Any) -> None:
    ctl = FakeCtl({("POST", "/api/diag/"): api_error("Access/permission denied", 403)})
    assert run(capsys, ["-r"], ctl) == (
        "", "slurm_reset_statistics: Access/permission denied\n", 1)
