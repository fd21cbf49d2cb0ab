"""Time one scheduling cycle of the pure core on synthetic clusters.

    python bench/bench_cycle.py            # 10,000 pending on 1,000 nodes; 100,000 on 10,000
    python bench/bench_cycle.py --quick    # the first scenario only

Heterogeneous: three node types (CPU-only, big-memory with a feature, GPU
nodes with typed GPUs), about 90 % of the CPUs busy with running jobs ending
over the next day, and a queue of mostly small jobs with some multi-node,
exclusive, GPU and constrained ones. Seeded: every run builds the same input.
Prints the wall and CPU time of the runs (and the CPU time of runs with a Memo
from an earlier cycle, as the controller's loop has) and the decision's size; results are
recorded in bench/RESULTS-cycle.md, not asserted.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduler.core.cycle import Memo, run_cycle  # noqa: E402
from scheduler.core.types import (  # noqa: E402
    NodeGrant,
    NodeInfo,
    PartitionInfo,
    PendingJob,
    RunningJob,
    SchedConfig,
    Snapshot,
)

NOW = 1_700_000_000
LIMITS = [600, 1800, 3600, 4 * 3600, 12 * 3600, 86_400, 2 * 86_400]


def build(nodes: int, pending: int, seed: int = 1) -> Snapshot:
    rng = random.Random(seed)
    infos: list[NodeInfo] = []
    running: list[RunningJob] = []
    jid = 1
    for i in range(nodes):
        kind = i % 10
        name = f"n{i + 1:05d}"
        if kind < 7:
            cpus, mem, gres, feat, weight = 64, 256_000, {}, frozenset({"cpu"}), 1
        elif kind < 9:
            cpus, mem, gres, feat, weight = 128, 1_024_000, {}, frozenset({"bigmem"}), 5
        else:
            t = "a100" if i % 20 == 9 else "v100"
            cpus, mem, gres, feat, weight = 64, 512_000, {f"gpu:{t}": 4}, frozenset({"gpu"}), 10
        used_c, used_m, used_g, count = 0, 0, 0, 0
        while used_c < cpus * 0.9:
            c = min(rng.choice([1, 2, 4, 8, 16, 32]), cpus - used_c)
            m = c * 2000
            g = {next(iter(gres)): 1} if gres and used_g < 4 and rng.random() < 0.5 else {}
            used_g += sum(g.values())
            end = NOW + rng.randrange(60, 86_400)
            running.append(RunningJob(jid, (NodeGrant(name, c, m, g),), end))
            jid += 1
            used_c += c
            used_m += m
            count += 1
        alloc_g = {next(iter(gres)): used_g} if gres else {}
        infos.append(NodeInfo(name, cpus, mem, gres, feat, weight, True,
                              frozenset({"batch"} | ({"gpu"} if gres else set())),
                              used_c, used_m, alloc_g, count))
    jobs: list[PendingJob] = []
    for _ in range(pending):
        r = rng.random()
        kw: dict[str, object] = {}
        part = ("batch",)
        if r < 0.6:
            kw = {"ntasks": 1, "cpus_per_task": rng.choice([1, 2, 4, 8])}
        elif r < 0.75:
            kw = {"ntasks": rng.choice([8, 16, 32, 64]), "cpus_per_task": 1}
        elif r < 0.85:
            n = rng.choice([2, 4, 8])
            kw = {"nodes_min": n, "nodes_max": n, "ntasks": n * 16, "ntasks_per_node": 16}
        elif r < 0.9:
            kw = {"exclusive": True, "nodes_min": 1, "nodes_max": 1}
        elif r < 0.96:
            kw = {"gres": {rng.choice(["gpu", "gpu:a100"]): rng.choice([1, 2])},
                  "cpus_per_task": 4}
            part = ("gpu",)
        else:
            kw = {"constraint": rng.choice(["bigmem", "cpu|bigmem"]), "cpus_per_task": 16}
        jobs.append(PendingJob(
            id=jid, submit_time=NOW - rng.randrange(0, 86_400), partitions=part,
            user=f"u{rng.randrange(200)}", mem_per_cpu_mb=rng.choice([None, 1000, 4000]),
            time_limit_s=rng.choice(LIMITS), **kw))  # type: ignore[arg-type]
        jid += 1
    parts = (PartitionInfo("batch", max_time_s=7 * 86_400),
             PartitionInfo("gpu", max_time_s=7 * 86_400))
    return Snapshot(tuple(infos), parts, tuple(running), tuple(jobs))


def bench(nodes: int, pending: int, repeat: int) -> None:
    t0 = time.perf_counter()
    snap = build(nodes, pending)
    built = time.perf_counter() - t0
    times, cpu, warm = [], [], []
    decision = None
    # The controller's and the simulator's cycles carry a Memo from the last one (the
    # filter's answers and fit tests, kept while the configuration stays): "warm".
    memo = Memo()
    run_cycle(snap, SchedConfig(), NOW, memo)
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        decision = run_cycle(snap, SchedConfig(), NOW)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        c0 = time.process_time()
        assert run_cycle(snap, SchedConfig(), NOW, memo) == decision
        warm.append(time.process_time() - c0)
    assert decision is not None
    # CPU time too: on a shared machine the wall clock also counts other processes.
    print(f"{pending:>7} pending, {nodes:>6} nodes, {len(snap.running):>6} running: "
          f"cycle best {min(times):.3f} s, median {sorted(times)[len(times) // 2]:.3f} s "
          f"(CPU best {min(cpu):.3f} s; warm, CPU best {min(warm):.3f}"
          f" s) (input built in {built:.1f} s); started {len(decision.starts)}, "
          f"planned {len(decision.planned)}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    bench(1_000, 10_000, args.repeat)
    if not args.quick:
        bench(10_000, 100_000, 1)


if __name__ == "__main__":
    main()
