"""``sdiag``: the scheduler's statistics, in Slurm 22.05's layout.

The controller keeps the figures (``GET /api/diag/``, scheduler/stats.py says what
each one means in Drover); this command lays them out as ``sdiag`` does.
``-r``/``--reset`` starts them again (operators only: ``POST /api/diag/``). The RPC
sections list the requests that stand for slurmctld's RPCs (portal/rpcstats.py), most
called first, or by id (``-i``), total time (``-t``) or average time (``-T``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from drover.cli.slurmargs import SlurmArgumentParser, add_version

STARS = "*" * 55


class Ctl(Protocol):
    def get(self, path: str, params: dict[str, Any] | None = None) -> Any: ...
    def post(self, path: str, body: Any) -> Any: ...


def _when(epoch: Any) -> str:
    if not isinstance(epoch, int) or epoch <= 0:
        return "N/A"
    return f"{time.ctime(epoch)} ({epoch})"


#: sdiag's orders of the RPC lines (-i, -t, -T, default): the field and whether the
#: largest comes first. Sorts are stable: ties keep the controller's order.
SORTS = {"id": ("", False), "time": ("total_time", True), "time2": ("average_time", True),
         "count": ("count", True)}


def _rpc_lines(rows: Any, sort: str, ident: str, line: str) -> list[str]:
    if not isinstance(rows, list):
        return []
    key, largest_first = SORTS[sort]
    rows = sorted((r for r in rows if isinstance(r, dict)),
                  key=lambda r: r.get(key or ident, 0), reverse=largest_first)
    return [line.format(**r) for r in rows]


def render(s: Mapping[str, Any], sort: str = "count") -> list[str]:
    """sdiag's lines for one ``statistics`` object, RPC lines in ``sort`` order (a key of
    SORTS)."""
    def n(key: str) -> int:
        value = s.get(key)
        return value if isinstance(value, int) else 0

    return [
        STARS,
        f"sdiag output at {_when(s.get('req_time'))}",
        f"Data since      {_when(s.get('req_time_start'))}",
        STARS,
        f"Server thread count:  {n('server_thread_count')}",
        f"Agent queue size:     {n('agent_queue_size')}",
        "Agent count:          0",
        "Agent thread count:   0",
        "DBD Agent queue size: 0",
        "",
        f"Jobs submitted: {n('jobs_submitted')}",
        f"Jobs started:   {n('jobs_started')}",
        f"Jobs completed: {n('jobs_completed')}",
        f"Jobs canceled:  {n('jobs_canceled')}",
        f"Jobs failed:    {n('jobs_failed')}",
        "",
        f"Job states ts:  {_when(s.get('job_states_ts'))}",
        f"Jobs pending:   {n('jobs_pending')}",
        f"Jobs running:   {n('jobs_running')}",
        "",
        "Main schedule statistics (microseconds):",
        f"\tLast cycle:   {n('schedule_cycle_last')}",
        f"\tMax cycle:    {n('schedule_cycle_max')}",
        f"\tTotal cycles: {n('schedule_cycle_total')}",
        f"\tMean cycle:   {n('schedule_cycle_mean')}",
        f"\tMean depth cycle:  {n('schedule_cycle_mean_depth')}",
        f"\tCycles per minute: {n('schedule_cycle_per_minute')}",
        f"\tLast queue length: {n('schedule_queue_length')}",
        "",
        "Backfilling stats",
        f"\tTotal backfilled jobs (since last slurm start): {n('bf_backfilled_jobs')}",
        f"\tTotal backfilled jobs (since last stats cycle start): {n('bf_last_backfilled_jobs')}",
        f"\tTotal backfilled heterogeneous job components: {n('bf_backfilled_het_jobs')}",
        f"\tTotal cycles: {n('bf_cycle_counter')}",
        f"\tLast cycle when: {_when(s.get('bf_when_last_cycle'))}",
        f"\tLast cycle: {n('bf_cycle_last')}",
        f"\tMax cycle:  {n('bf_cycle_max')}",
        f"\tMean cycle: {n('bf_cycle_mean')}",
        f"\tLast depth cycle: {n('bf_last_depth')}",
        f"\tLast depth cycle (try sched): {n('bf_last_depth_try')}",
        f"\tDepth Mean: {n('bf_depth_mean')}",
        f"\tDepth Mean (try depth): {n('bf_depth_mean_try')}",
        f"\tLast queue length: {n('bf_queue_len')}",
        f"\tQueue length mean: {n('bf_queue_len_mean')}",
        f"\tLast table size: {n('bf_table_size')}",
        f"\tMean table size: {n('bf_table_size_mean')}",
        "",
        f"Latency for 1000 calls to gettimeofday(): {n('gettimeofday_latency')} microseconds",
        "",
        "Remote Procedure Call statistics by message type",
        *_rpc_lines(s.get("rpcs_by_message_type"), sort, "type_id",
                    "\t{message_type:<40}({type_id:>5}) count:{count:<6} "
                    "ave_time:{average_time:<6} total_time:{total_time}"),
        "",
        "Remote Procedure Call statistics by user",
        *_rpc_lines(s.get("rpcs_by_user"), sort, "user_id",
                    "\t{user:<16}({user_id:>8}) count:{count:<6} "
                    "ave_time:{average_time:<6} total_time:{total_time}"),
        "",
        "Pending RPC statistics",
        "\tNo pending RPCs",
    ]


def build_parser() -> SlurmArgumentParser:
    p = SlurmArgumentParser("sdiag")
    p.add_argument("-a", "--all", action="store_true")
    p.add_argument("-r", "--reset", action="store_true")
    p.add_argument("-i", "--sort-by-id", action="store_true")
    p.add_argument("-t", "--sort-by-time", action="store_true")
    p.add_argument("-T", "--sort-by-time2", action="store_true")
    p.add_argument("-M", "--cluster", "--clusters", dest="clusters")
    add_version(p)
    return p


def main(argv: Sequence[str] | None = None, ctl: Ctl | None = None) -> int:
    args = build_parser().parse_args(argv)
    if ctl is None:
        from drover.cli.common import client

        ctl = client()
    from drover.cli.squeue import api_errors, describe_error

    call = "slurm_reset_statistics" if args.reset else "slurm_get_statistics"
    try:
        answer = ctl.post("/api/diag/", {}) if args.reset else ctl.get("/api/diag/")
    except api_errors() as exc:
        print(f"{call}: {describe_error(exc)}", file=sys.stderr)
        return 1
    if args.reset:
        print("Reset scheduling statistics")
        return 0
    stats = answer.get("statistics") if isinstance(answer, dict) else None
    sort = ("id" if args.sort_by_id else "time" if args.sort_by_time
            else "time2" if args.sort_by_time2 else "count")
    sys.stdout.write("\n".join(render(stats if isinstance(stats, dict) else {}, sort)) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
