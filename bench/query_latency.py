"""Query latency with 1,000 jobs in the system: `squeue` and `sacct`, median of 20 runs each.

Besides the wall time, each command's own CPU time (median) and the cluster's CPU
time per run of the process that answers the API: on a shared machine the wall time is mostly
the wait for a core.

    python bench/query_latency.py [--jobs 1000]

The jobs are held, so all 1,000 stay in the queue (squeue lists them all, and
so does sacct). Slurm 22.05 reference: squeue 23 ms, sacct 490 ms. Target: squeue < 50 ms.
"""

from __future__ import annotations

import argparse
import time

from common import api_submit_many, command_costs, load_average, result, run_ok, running_cluster


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with running_cluster(nodes=2) as cluster:
        load = load_average()
        t0 = time.perf_counter()
        api_submit_many(cluster, args.jobs, hold=True)
        api_rate = args.jobs / (time.perf_counter() - t0)
        lines = run_ok(cluster, ["squeue", "-h"]).stdout.count("\n")
        sacct_lines = run_ok(cluster, ["sacct", "-n", "-X"]).stdout.count("\n")
        figures = {}
        for name, cmd in (("squeue", ["squeue"]), ("sacct", ["sacct"]),
                          ("squeue_one_job", ["squeue", "-j", "1"])):
            run_ok(cluster, cmd)
            costs = command_costs(cluster, cmd, args.runs)
            figures[f"{name}_ms"] = costs["wall_ms"]
            figures[f"{name}_cpu_ms"] = costs["cpu_ms"]
            figures[f"{name}_server_cpu_ms"] = costs["server_cpu_ms"]
        result("query_latency", cluster, load_before=load, jobs=args.jobs,
               api_submit_per_s=api_rate,
               squeue_lines=lines,
               sacct_lines=sacct_lines, **figures)


if __name__ == "__main__":
    main()
