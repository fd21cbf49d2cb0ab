"""Sequential sbatch round-trips: the median of 200 real `sbatch --wrap true`, and start-up alone.

    python bench/sbatch_latency.py [--jobs 200]

Slurm 22.05 reference: 234 jobs/s sequential (about 4.3 ms a submission).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time

from common import load_average, median_ms, result, run_ok, running_cluster, timed


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
        help_s = [timed(lambda: run_ok(cluster, ["sbatch", "--help"])) for _ in range(20)]
        run_ok(cluster, ["sbatch", "--wrap", "true", "-o", "/dev/null"])  # warm the server
        samples = []
        t0 = time.perf_counter()
        for _ in range(args.jobs):
            samples.append(timed(lambda: run_ok(
                cluster, ["sbatch", "--parsable", "-o", "/dev/null", "--wrap", "true"],
                cwd=work)))
        total = time.perf_counter() - t0
        result("sbatch_latency", cluster, load_before=load, jobs=args.jobs,
               median_ms=median_ms(samples),
               p95_ms=sorted(samples)[int(len(samples) * 0.95)] * 1000,
               jobs_per_s=args.jobs / total, help_median_ms=median_ms(help_s),
               import_ms=import_time_ms())


if __name__ == "__main__":
    main()
