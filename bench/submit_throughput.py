"""Submission throughput: 1,000 `--wrap true` jobs from 1 client and from 4 in parallel.

    python bench/submit_throughput.py [--jobs 1000] [--clients 1 4] [--via sbatch api]

``--via sbatch``: each client runs the real sbatch once per job (a process each).
``--via api``: each client is a thread keeping one HTTP connection and POSTing the
job description sbatch builds (drover.api.Client, what sbatch uses), i.e. the
controller's submission rate without a process start per job.
Slurm 22.05 reference: 234 jobs/s (1 client), 416 jobs/s (4 clients). Target: >= 416/s.
"""

from __future__ import annotations

import argparse

from common import (
    CpuMeter,
    api_clients_submit,
    load_average,
    result,
    running_cluster,
    sbatch_many,
)

SUBMIT = {"sbatch": sbatch_many, "api": api_clients_submit}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--via", choices=sorted(SUBMIT), nargs="+", default=["sbatch", "api"])
    args = parser.parse_args()
    for via in args.via:
        submit = SUBMIT[via]
        for clients in args.clients:
            # A fresh cluster each time, so the second run does not queue behind the first.
            with running_cluster(nodes=2) as cluster:
                load = load_average()
                submit(cluster, 20, clients)  # warm-up
                meter = CpuMeter(cluster)
                elapsed, ids = submit(cluster, args.jobs, clients)
                assert len(set(ids)) == args.jobs
                result("submit_throughput", cluster, via=via, clients=clients, jobs=args.jobs,
                       seconds=elapsed, jobs_per_s=args.jobs / elapsed, load_before=load,
                       **meter.per_job(args.jobs))


if __name__ == "__main__":
    main()
