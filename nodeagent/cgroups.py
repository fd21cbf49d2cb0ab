"""Job containment with cgroup v2 (Slurm's task/cgroup + proctrack/cgroup).

Each job gets ``<root>/drover/job_<id>`` with ``memory.max`` (mem_mb, no swap)
and ``cpu.max`` (a quota of ``cpus`` CPUs). The job's first process is moved in
before it runs the script, so everything it forks is contained and can be found
again (``procs``) even after ``setsid`` or a daemonising double fork.

Used only when the unified hierarchy is mounted at ``/sys/fs/cgroup`` and we can
create directories there; otherwise the agent falls back to the psutil watchdog
in ``monitor.py``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from pathlib import Path

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
CPU_PERIOD_US = 100_000


def available(root: Path = CGROUP_ROOT) -> bool:
    """True when cgroup v2 is mounted at ``root`` and writable by us."""
    return (root / "cgroup.controllers").exists() and os.access(root, os.W_OK)


class JobCgroup:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(
        cls, job_id: int, *, cpus: int | None, mem_mb: int | None, root: Path = CGROUP_ROOT
    ) -> JobCgroup:
        base = root / "drover"
        base.mkdir(exist_ok=True)
        # Controllers must be enabled on every level above the job's cgroup.
        for parent in (root, base):
            with contextlib.suppress(OSError):
                (parent / "cgroup.subtree_control").write_text("+memory +cpu")
        path = base / f"job_{job_id}"
        path.mkdir(exist_ok=True)
        cg = cls(path)
        if mem_mb:
            cg._write("memory.max", str(mem_mb * 1024 * 1024))
            cg._write("memory.swap.max", "0")
        if cpus:
            cg._write("cpu.max", f"{cpus * CPU_PERIOD_US} {CPU_PERIOD_US}")
        return cg

    def _write(self, name: str, value: str) -> None:
        try:
            (self.path / name).write_text(value)
        except OSError as exc:
            log.warning("cgroup %s: cannot set %s=%s: %s", self.path, name, value, exc)

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def procs(self) -> list[int]:
        try:
            text = (self.path / "cgroup.procs").read_text()
        except OSError:
            return []
        return [int(line) for line in text.split()]

    def oom_killed(self) -> bool:
        try:
            text = (self.path / "memory.events").read_text()
        except OSError:
            return False
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name == "oom_kill" and int(value or 0) > 0:
                return True
        return False

    def peak_rss_kb(self) -> int:
        for name in ("memory.peak", "memory.current"):
            with contextlib.suppress(OSError, ValueError):
                return int((self.path / name).read_text()) // 1024
        return 0

    def signal(self, sig: int) -> None:
        if sig == signal.SIGKILL and (self.path / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                (self.path / "cgroup.kill").write_text("1")
                return
        for pid in self.procs():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)

    def remove(self) -> None:
        """Remove the (empty) cgroup; a leftover is logged, not fatal."""
        try:
            self.path.rmdir()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("cannot remove cgroup %s: %s", self.path, exc)
