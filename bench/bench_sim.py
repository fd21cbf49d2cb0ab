"""Simulated jobs per second: ``drover simulate`` on the shipped SWF traces.

    python bench/bench_sim.py                      # every scenario below, one after another
    python bench/bench_sim.py lublin-fcfs hpc2n    # some of them
    python bench/bench_sim.py --list

Each scenario runs the simulator in this process (no progress bar) and prints
``RESULT sim-<scenario> jobs=... wall_s=... jobs_per_s=... cycles_main=...
cycles_backfill=... avg_wait_s=... avg_bsld=...``. Traces are read from
$DROVER_TRACES (default /work/shared/traces). Results are recorded in
bench/RESULTS-sim.md, not asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduler.core.types import SchedConfig  # noqa: E402
from scheduler.sim import engine, metrics, swf  # noqa: E402

TRACES = Path(os.environ.get("DROVER_TRACES", "/work/shared/traces"))
HPC2N = "HPC2N-2002-2.2_alea-subset-3170.swf"
L1, L2 = "lublin_256.swf", "lublin_256_new2.swf"

# name: (trace, policy, bf_interval_s, bf_resolution_s, bf_max_job_test, limit)
SCENARIOS: dict[str, tuple[str, str, int, int, int, int | None]] = {
    "hpc2n-fcfs": (HPC2N, "fcfs", 30, 60, 0, None),
    "hpc2n": (HPC2N, "backfill", 30, 60, 0, None),
    "hpc2n-exact": (HPC2N, "backfill", 0, 1, 0, None),
    "hpc2n-easy-exact": (HPC2N, "easy", 0, 1, 0, None),
    "lublin-fcfs": (L1, "fcfs", 30, 60, 0, None),
    "lublin2-fcfs": (L2, "fcfs", 30, 60, 0, None),
    "lublin-2k": (L1, "backfill", 30, 60, 0, 2000),
    "lublin-cap100": (L1, "backfill", 30, 60, 100, None),
    "lublin-cap500": (L1, "backfill", 30, 60, 500, None),
    "lublin": (L1, "backfill", 30, 60, 0, None),
    "lublin2-cap500": (L2, "backfill", 30, 60, 500, None),
}


def run(name: str) -> dict[str, float]:
    trace_name, policy, interval, res, cap, limit = SCENARIOS[name]
    trace = swf.load(TRACES / trace_name)
    if limit is not None:
        trace = trace.head(limit)
    procs = trace.max_procs or 0
    config = engine.SimConfig(nodes=1, cpus_per_node=procs, policy=policy,
                              bf_interval_s=interval, bf_max_job_test=cap,
                              sched=SchedConfig(bf_resolution_s=res))
    sim = engine.Simulator(trace.jobs, config)
    t0 = time.perf_counter()
    results = sim.run()
    wall = time.perf_counter() - t0
    out = metrics.summarize(results, procs)
    st = sim.stats
    figures = {"jobs": len(results), "wall_s": round(wall, 3),
               "jobs_per_s": round(len(results) / wall, 1), "cycles_main": st.cycles_main,
               "cycles_backfill": st.cycles_backfill, "max_pending": st.max_pending,
               "avg_wait_s": round(out["avg_wait_s"], 1), "avg_bsld": round(out["avg_bsld"], 3)}
    print(f"RESULT sim-{name} " + " ".join(f"{k}={v}" for k, v in figures.items()), flush=True)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", default=list(SCENARIOS))
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    if args.list:
        for name, spec in SCENARIOS.items():
            print(name, *spec)
        return 0
    for name in args.scenarios:
        run(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
