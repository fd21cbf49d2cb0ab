"""End to end: 1,000 `sbatch --wrap true` jobs on 2 emulated nodes, until all are COMPLETED.

    python bench/end_to_end.py [--jobs 1000] [--clients 4] [--via sbatch|api]

``--via`` as in submit_throughput.py (default: the real sbatch, one process a job).

The clock runs from the first submission to the last job's completion.
Slurm 22.05 reference: 4.3 jobs/s. Target: >= 43 jobs/s.
"""

from __future__ import annotations

import argparse
import time

from common import (
    CpuMeter,
    api_clients_submit,
    load_average,
    result,
    running_cluster,
    sbatch_many,
    wait_all_finished,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--via", choices=["sbatch", "api"], default="sbatch")
    args = parser.parse_args()
    submit = sbatch_many if args.via == "sbatch" else api_clients_submit
    with running_cluster(nodes=2) as cluster:
        load = load_average()
        meter = CpuMeter(cluster)
        t0 = time.perf_counter()
        submit_s, ids = submit(cluster, args.jobs, args.clients)
        wait_all_finished(cluster, args.timeout)
        elapsed = time.perf_counter() - t0
        jobs = cluster.api("GET", "/api/jobs/?all_states=1")["jobs"]
        states: dict[str, int] = {}
        mine = set(ids)
        for j in jobs:
            if j["job_id"] in mine:
                states[j["state"]] = states.get(j["state"], 0) + 1
        result("end_to_end", cluster, via=args.via, load_before=load, jobs=args.jobs,
               clients=args.clients, seconds=elapsed,
               submit_s=submit_s, jobs_per_s=args.jobs / elapsed,
               completed=states.get("COMPLETED", 0),
               other_states=";".join(f"{k}:{v}" for k, v in states.items() if k != "COMPLETED")
               or "none", **meter.per_job(args.jobs))


if __name__ == "__main__":
    main()
