"""Node selection rules, one table row per rule."""

from __future__ import annotations

import pytest

from scheduler.core.types import PartitionInfo
from tests.core.builders import cycle, job, node, part, started


@pytest.mark.parametrize(("nodes", "pending", "expected"), [
    # consumable CPUs: two 2-CPU jobs share a 4-CPU node
    ([node("n1", cpus=4)], [job(1, cpus=2), job(2, cpus=2)], {1: ["n1"], 2: ["n1"]}),
    # memory per node is consumed
    ([node("n1", mem=1000), node("n2", mem=1000)],
     [job(1, mem_per_node_mb=800), job(2, mem_per_node_mb=800)], {1: ["n1"], 2: ["n2"]}),
    # memory per CPU scales with the CPUs
    ([node("n1", cpus=4, mem=1000)], [job(1, cpus=4, mem_per_cpu_mb=300)], {}),
    # lower weight first, then name
    ([node("a", weight=5), node("b", weight=1), node("c", weight=1)], [job(1)], {1: ["b"]}),
    # gres by type
    ([node("n1", gres={"gpu:v100": 2}), node("n2", gres={"gpu:a100": 2})],
     [job(1, gres={"gpu:a100": 1})], {1: ["n2"]}),
    # untyped gres takes any type
    ([node("n1"), node("n2", gres={"gpu:v100": 2})], [job(1, gres={"gpu": 2})], {1: ["n2"]}),
    # constraint AND / OR
    ([node("n1", features="a"), node("n2", features="a,b")], [job(1, constraint="a&b")],
     {1: ["n2"]}),
    ([node("n1", features="x"), node("n2", features="b")], [job(1, constraint="a|b")],
     {1: ["n2"]}),
    ([node("n1", features="a"), node("n2", features="b,c")],
     [job(1, constraint="(a|b)&c")], {1: ["n2"]}),
    # exclusive needs an empty node
    ([node("n1", used_cpus=1), node("n2")], [job(1, exclusive=True)], {1: ["n2"]}),
    # -N 2 --ntasks-per-node=2
    ([node("n1"), node("n2"), node("n3")],
     [job(1, nodes=2, nodes_max=2, ntasks=4, ntasks_per_node=2)], {1: ["n1", "n2"]}),
    # -n 6 on 4-CPU nodes spreads over two nodes
    ([node("n1"), node("n2")], [job(1, ntasks=6)], {1: ["n1", "n2"]}),
    # -n 3 packs on one node when one fits
    ([node("n1", used_cpus=2), node("n2")], [job(1, ntasks=3)], {1: ["n2"]}),
    # required and excluded nodes
    ([node("n1"), node("n2")], [job(1, req_nodes=frozenset({"n2"}))], {1: ["n2"]}),
    ([node("n1"), node("n2")], [job(1, exc_nodes=frozenset({"n1"}))], {1: ["n2"]}),
    # down nodes take nothing
    ([node("n1", up=False), node("n2")], [job(1)], {1: ["n2"]}),
])
def test_selection(nodes: list, pending: list, expected: dict[int, list[str]]) -> None:
    assert started(cycle(nodes, pending)) == expected


def test_grants_carry_cpus_memory_gres_and_tasks() -> None:
    d = cycle([node("n1", cpus=8, gres={"gpu:a100": 1, "gpu:v100": 2})],
              [job(1, ntasks=2, cpus=2, mem_per_cpu_mb=100, gres={"gpu": 3})])
    (g,) = d.starts[0].grants
    assert (g.cpus, g.mem_mb, g.ntasks, dict(g.gres)) == (
        4, 400, 2, {"gpu:a100": 1, "gpu:v100": 2})


def test_exclusive_takes_the_whole_node() -> None:
    d = cycle([node("n1", cpus=8, mem=999)], [job(1, exclusive=True), job(2)])
    assert started(d) == {1: ["n1"]}
    assert (d.starts[0].grants[0].cpus, d.starts[0].grants[0].mem_mb) == (8, 999)


def test_partition_oversubscribe_exclusive_makes_every_job_exclusive() -> None:
    d = cycle([node("n1")], [job(1), job(2)],
              partitions=[PartitionInfo("debug", oversubscribe="EXCLUSIVE")])
    assert started(d) == {1: ["n1"]}


def test_mem_zero_takes_all_memory() -> None:
    d = cycle([node("n1", mem=500), node("n2", mem=500, used_mem=1, used_cpus=1)],
              [job(1, mem_per_node_mb=0), job(2, mem_per_node_mb=0)])
    assert started(d) == {1: ["n1"]}
    assert d.starts[0].grants[0].mem_mb == 500


def test_multi_partition_job_runs_where_it_fits() -> None:
    d = cycle([node("n1", parts="a", used_cpus=4), node("n2", parts="b")], [job(1, p="a,b")],
              partitions=[part("a"), part("b")])
    assert started(d) == {1: ["n2"]} and d.starts[0].partition == "b"
