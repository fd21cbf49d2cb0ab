"""What a job's processes are and what they use (Slurm's jobacct_gather/linux).

``JobProcesses`` remembers every process ever seen in a job's tree (by pid and
creation time, so a recycled pid is never mistaken for one of ours): a process
that called ``setsid`` or was reparented to init after its parent exited is
still found, signalled and counted. Without cgroups this tracked tree is also
what the memory watchdog measures.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from dataclasses import dataclass

import psutil

from nodeagent.cgroups import JobCgroup

# srun sets it in each task's environment; the batch shell has none of its own.
STEP_VAR = "SLURM_STEP_ID"


@dataclass
class Sample:
    rss_kb: int
    cpu_time_s: float
    vmsize_kb: int = 0
    read_bytes: int = 0  # storage I/O of every process seen, as Slurm's fs/disk counts it
    write_bytes: int = 0
    time: float = 0.0  # when taken (0: never)


class JobProcesses:
    def __init__(self, pid: int, cgroup: JobCgroup | None = None) -> None:
        self.pid = pid
        self.cgroup = cgroup
        self._known: dict[int, psutil.Process] = {}
        self._cpu: dict[tuple[int, float], float] = {}
        self._io: dict[tuple[int, float], tuple[int, int]] = {}
        self._lock = threading.Lock()
        self.max_rss_kb = 0
        self.max_vmsize_kb = 0
        self.last = Sample(0, 0.0)
        self.pids: list[int] = []
        with contextlib.suppress(psutil.Error):
            self._known[pid] = psutil.Process(pid)

    def live(self) -> list[psutil.Process]:
        """Every live process of the job: the tracked tree, its new descendants, the cgroup."""
        with self._lock:
            found: dict[int, psutil.Process] = {}
            for proc in list(self._known.values()):
                # A descendant of a process already walked was found with it.
                if proc.pid in found or not proc.is_running():
                    continue
                found[proc.pid] = proc
                with contextlib.suppress(psutil.Error):
                    for child in proc.children(recursive=True):
                        found.setdefault(child.pid, child)
            if self.cgroup is not None:
                for pid in self.cgroup.procs():
                    if pid not in found:
                        with contextlib.suppress(psutil.Error):
                            found[pid] = psutil.Process(pid)
            self._known = found
            return list(found.values())

    def sample(self) -> Sample:
        """Current resident and virtual memory of the whole job; CPU time and storage
        I/O of every process seen. Kept as ``last`` (with the maxima) for usage reports."""
        rss = vms = 0
        pids: list[int] = []
        for proc in self.live():
            try:
                with proc.oneshot():
                    mem = proc.memory_info()
                    t = proc.cpu_times()
                    cpu = t.user + t.system + t.children_user + t.children_system
                    key = (proc.pid, proc.create_time())
                    self._cpu[key] = cpu
                    self._io[key] = _io_bytes(proc)
            except psutil.Error:
                continue
            rss += mem.rss
            vms += mem.vms
            pids.append(proc.pid)
        rss_kb = rss // 1024
        peak = self.cgroup.peak_rss_kb() if self.cgroup is not None else 0
        self.max_rss_kb = max(self.max_rss_kb, rss_kb, peak)
        self.max_vmsize_kb = max(self.max_vmsize_kb, vms // 1024)
        self.pids = sorted(pids)
        self.last = Sample(rss_kb=rss_kb, cpu_time_s=sum(self._cpu.values()),
                           vmsize_kb=vms // 1024,
                           read_bytes=sum(r for r, _ in self._io.values()),
                           write_bytes=sum(w for _, w in self._io.values()),
                           time=time.time())
        return self.last

    def signal(self, sig: int) -> None:
        """Send ``sig`` once to every process of the job.

        The process group (the job's pid) first, then the processes of the
        tracked tree and of the cgroup that left the group (``setsid``).
        """
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)
        for proc in self.live():
            try:
                if os.getpgid(proc.pid) != self.pid:
                    proc.send_signal(sig)  # psutil checks the pid was not recycled
            except (OSError, psutil.Error):
                continue
        if sig == signal.SIGKILL and self.cgroup is not None:
            self.cgroup.signal(sig)  # cgroup.kill: also what forked meanwhile

    def signal_steps(self, sig: int) -> None:
        """Send ``sig`` to the job's steps only: the tasks srun started and their
        children, not the batch shell nor its other children (Slurm's default for
        ``scancel --signal``). A step's process is told by its environment naming a
        step the batch shell's does not (the shell may have inherited one at submit).
        """
        batch = _step_of(self._known.get(self.pid))
        for proc in self.live():
            if proc.pid == self.pid:
                continue
            step = _step_of(proc)
            if step is not None and step != batch:
                with contextlib.suppress(psutil.Error):
                    proc.send_signal(sig)

    def cpu_time_s(self) -> float:
        return sum(self._cpu.values())


def _io_bytes(proc: psutil.Process) -> tuple[int, int]:
    """Bytes ``proc`` read and wrote (storage, not pipes); (0, 0) where the kernel
    keeps no I/O accounting or it cannot be read."""
    try:
        io = proc.io_counters()
    except (psutil.Error, AttributeError, OSError):
        return 0, 0
    return int(io.read_bytes), int(io.write_bytes)


def _step_of(proc: psutil.Process | None) -> str | None:
    """The step id in ``proc``'s environment; None without one or when unreadable."""
    if proc is None:
        return None
    try:
        step = proc.environ().get(STEP_VAR)
    except (psutil.Error, OSError):
        return None
    return None if step is None else str(step)


def node_load() -> tuple[float, int]:
    """One-minute load average and available memory in MB."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = 0.0
    return load, psutil.virtual_memory().available // (1024 * 1024)
