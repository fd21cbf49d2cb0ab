"""Submission throughput: 1,000 real `sbatch --wrap true` from 1 client and from 4 in parallel.

    python bench/submit_throughput.py [--jobs 1000]

Slurm 22.05 reference: 234 jobs/s (1 client), 416 jobs/s (4 clients). Target: >= 416/s.
"""

from __future__ import annotations

import argparse

from common import result, running_cluster, sbatch_many


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    for clients in args.clients:
        # A fresh cluster each time, so the second run does not queue behind the first.
        with running_cluster(nodes=2) as cluster:
            sbatch_many(cluster, 20, clients)  # warm-up
            elapsed, ids = sbatch_many(cluster, args.jobs, clients)
            assert len(set(ids)) == args.jobs
            result("submit_throughput", cluster, clients=clients, jobs=args.jobs,
                   seconds=elapsed, jobs_per_s=args.jobs / elapsed)


if __name__ == "__main__":
    main()
