"""Controller memory: peak RSS with 10,000 pending jobs (the partition is DOWN, so none starts).

    python bench/controller_memory.py [--jobs 10000]

Production mode: the controller is the uvicorn process plus the Celery worker
(with beat); embedded: the one `drover up` process. Peak = VmHWM of each, in MB,
read after the jobs are in and a few scheduling cycles have run over them.
Slurm 22.05 reference: slurmctld 63 MB.
"""

from __future__ import annotations

import argparse
import time

import psutil
from common import api_submit_many, result, running_cluster


def peak_rss_mb(pid: int) -> float:
    """The peak RSS (VmHWM) of a process and its children but node agents and jobs, in MB."""
    total = 0
    root = psutil.Process(pid)
    for p in [root, *root.children(recursive=True)]:
        try:
            if p.pid != pid and "nodeagent" in " ".join(p.cmdline()):
                continue
            with open(f"/proc/{p.pid}/status") as status:
                total += next(int(line.split()[1]) for line in status
                              if line.startswith("VmHWM:"))
        except (FileNotFoundError, psutil.NoSuchProcess, StopIteration):
            pass
    return total / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=10000)
    parser.add_argument("--settle", type=float, default=30, help="seconds of cycles after")
    args = parser.parse_args()
    with running_cluster(nodes=2, partition_state="DOWN") as cluster:
        t0 = time.perf_counter()
        api_submit_many(cluster, args.jobs)
        submit_s = time.perf_counter() - t0
        time.sleep(args.settle)
        pending = len(cluster.api("GET", "/api/jobs/?state=PD")["jobs"])
        figures = {name: peak_rss_mb(p.pid) for name, p in cluster.procs.items()
                   if not name.startswith("agent-")}
        result("controller_memory", cluster, jobs=args.jobs, pending=pending,
               submit_s=submit_s, total_mb=sum(figures.values()),
               **{f"{k.replace('-', '_')}_mb": v for k, v in figures.items()})


if __name__ == "__main__":
    main()
