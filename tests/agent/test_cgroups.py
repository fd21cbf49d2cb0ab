"""cgroup v2 settings, written into a directory laid out like /sys/fs/cgroup.

The kernel side (containment, OOM kills) needs a writable cgroup v2 mount and
is exercised where one exists; here we check what the agent writes.
"""

from __future__ import annotations

from pathlib import Path

from nodeagent import cgroups
from nodeagent.cgroups import JobCgroup


def test_it_is_off_without_a_unified_hierarchy(tmp_path: Path) -> None:
    assert not cgroups.available(tmp_path)
    (tmp_path / "cgroup.controllers").write_text("cpu memory\n")
    assert cgroups.available(tmp_path)


def test_a_job_cgroup_limits_memory_and_cpus(tmp_path: Path) -> None:
    cg = JobCgroup.create(12, cpus=2, mem_mb=100, root=tmp_path)
    assert cg.path == tmp_path / "drover" / "job_12"
    assert (cg.path / "memory.max").read_text() == str(100 * 1024 * 1024)
    assert (cg.path / "memory.swap.max").read_text() == "0"
    assert (cg.path / "cpu.max").read_text() == "200000 100000"
    assert (tmp_path / "drover" / "cgroup.subtree_control").read_text() == "+memory +cpu"


def test_it_reads_oom_kills_and_processes(tmp_path: Path) -> None:
    cg = JobCgroup.create(1, cpus=None, mem_mb=None, root=tmp_path)
    assert not cg.oom_killed() and cg.procs() == []
    (cg.path / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    (cg.path / "cgroup.procs").write_text("10\n11\n")
    assert cg.oom_killed() and cg.procs() == [10, 11]
