"""Properties over random clusters and queues (hypothesis).

* No node is ever given more CPUs, memory or gres than it has free.
* Backfill never delays a higher-priority job's reservation: a job's start (now,
  planned, or none) with the whole queue equals its start when every job behind
  it is removed.
* Same input, same decision.
"""

from __future__ import annotations

from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.core.cycle import run_cycle
from scheduler.core.types import (
    NodeGrant,
    NodeInfo,
    PartitionInfo,
    PendingJob,
    RunningJob,
    SchedConfig,
    Snapshot,
)
from tests.core.builders import NOW

CONFIG = SchedConfig(bf_window_s=4 * 3600)


@st.composite
def snapshots(draw: st.DrawFn) -> Snapshot:
    n_nodes = draw(st.integers(1, 5))
    nodes: list[NodeInfo] = []
    running: list[RunningJob] = []
    rid = 1000
    for i in range(n_nodes):
        cpus = draw(st.sampled_from([2, 4, 8]))
        mem = draw(st.sampled_from([1000, 4000]))
        gpus = draw(st.sampled_from([0, 0, 2]))
        gres = {"gpu:a100": gpus} if gpus else {}
        used_c = draw(st.integers(0, cpus))
        used_m = draw(st.integers(0, mem // 2)) if used_c else 0
        used_g = draw(st.integers(0, gpus)) if used_c else 0
        name = f"n{i}"
        if used_c:
            end = draw(st.one_of(st.none(), st.integers(NOW - 100, NOW + 6 * 3600)))
            g = {"gpu:a100": used_g} if used_g else {}
            running.append(RunningJob(rid, (NodeGrant(name, used_c, used_m, g),), end))
            rid += 1
        nodes.append(NodeInfo(name, cpus, mem, gres, frozenset(), draw(st.integers(1, 3)),
                              draw(st.booleans()) or i == 0, frozenset({"p"}), used_c, used_m,
                              {"gpu:a100": used_g} if used_g else {}, 1 if used_c else 0))
    jobs = []
    for j in range(draw(st.integers(1, 12))):
        n = draw(st.integers(1, 2))
        jobs.append(PendingJob(
            id=j + 1, submit_time=NOW - draw(st.integers(0, 1000)), partitions=("p",),
            nodes_min=n, nodes_max=draw(st.sampled_from([n, None])),
            ntasks=draw(st.integers(1, 4)), cpus_per_task=draw(st.integers(1, 3)),
            mem_per_cpu_mb=draw(st.sampled_from([None, 100, 600])),
            gres=draw(st.sampled_from([{}, {}, {"gpu": 1}, {"gpu:a100": 2}])),
            exclusive=draw(st.booleans()) and draw(st.booleans()),
            time_limit_s=draw(st.sampled_from([60, 600, 3600, 4 * 3600, None]))))
    return Snapshot(tuple(nodes), (PartitionInfo("p"),), tuple(running), tuple(jobs))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshots())
def test_no_allocation_exceeds_what_a_node_has_free(snap: Snapshot) -> None:
    d = run_cycle(snap, CONFIG, NOW)
    used_c: dict[str, int] = defaultdict(int)
    used_m: dict[str, int] = defaultdict(int)
    used_g: dict[str, int] = defaultdict(int)
    for s in d.starts:
        for g in s.grants:
            used_c[g.node] += g.cpus
            used_m[g.node] += g.mem_mb
            used_g[g.node] += sum(g.gres.values())
    for n in snap.nodes:
        if not n.available:
            assert used_c[n.name] == 0
        assert n.alloc_cpus + used_c[n.name] <= n.cpus
        assert n.alloc_mem_mb + used_m[n.name] <= n.mem_mb
        assert sum(n.alloc_gres.values()) + used_g[n.name] <= sum(n.gres.values())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshots())
def test_lower_priority_jobs_never_delay_a_reservation(snap: Snapshot) -> None:
    full = run_cycle(snap, CONFIG, NOW)
    order = sorted(snap.pending, key=lambda j: (j.submit_time, j.id))
    for k, top in enumerate(order):
        head = Snapshot(snap.nodes, snap.partitions, snap.running, tuple(order[:k + 1]))
        alone = run_cycle(head, CONFIG, NOW)
        alone_start = _start_of(alone, top.id)
        full_start = _start_of(full, top.id)
        # Jobs behind ``top`` may only take what its plan leaves: its start is unchanged.
        assert full_start == alone_start


def _start_of(d: object, job_id: int) -> int | None:
    from scheduler.core.types import Decision

    assert isinstance(d, Decision)
    if any(s.job_id == job_id for s in d.starts):
        return NOW
    p = d.planned.get(job_id)
    return None if p is None else p.start_time


@settings(max_examples=100, deadline=None)
@given(snapshots())
def test_same_input_same_decision(snap: Snapshot) -> None:
    assert run_cycle(snap, CONFIG, NOW) == run_cycle(snap, CONFIG, NOW)
