"""Sequential sbatch round-trips: the median of 200 real `sbatch --wrap true`, and start-up alone.

    python bench/sbatch_latency.py [--jobs 200]

Slurm 22.05 reference: 234 jobs/s sequential (about 4.3 ms a submission).
``interpreter_cpu_ms`` is the floor of any Python command: ``python -S -I -c pass``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time

from common import command_costs, load_average, result, run_ok, running_cluster


def import_time_ms() -> float:
    """Cumulative import time of the sbatch module (python -X importtime), in ms."""
    cp = subprocess.run([sys.executable, "-X", "importtime", "-c", "import drover.cli.sbatch"],
                        capture_output=True, text=True, check=True)
    for line in reversed(cp.stderr.splitlines()):
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s+drover\.cli\.sbatch$", line)
        if m:
            return int(m.group(1)) / 1000
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=200)
    args = parser.parse_args()
    with running_cluster(nodes=2) as cluster:
        load = load_average()
        work = cluster.workdir
        help_costs = command_costs(cluster, ["sbatch", "--help"], 20)
        bare = command_costs(cluster, [sys.executable, "-S", "-I", "-c", "pass"], 20)
        run_ok(cluster, ["sbatch", "--wrap", "true", "-o", "/dev/null"])  # warm the server
        t0 = time.perf_counter()
        costs = command_costs(
            cluster, ["sbatch", "--parsable", "-o", "/dev/null", "--wrap", "true"], args.jobs,
            cwd=work)
        total = time.perf_counter() - t0
        result("sbatch_latency", cluster, load_before=load, jobs=args.jobs,
               median_ms=costs["wall_ms"], p95_ms=costs["p95_ms"], cpu_ms=costs["cpu_ms"],
               server_cpu_ms=costs["server_cpu_ms"], jobs_per_s=args.jobs / total,
               help_median_ms=help_costs["wall_ms"], help_cpu_ms=help_costs["cpu_ms"],
               import_ms=import_time_ms(), interpreter_cpu_ms=bare["cpu_ms"])


if __name__ == "__main__":
    main()
