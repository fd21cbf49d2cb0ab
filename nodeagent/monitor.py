"""What a job's processes are and what they use (Slurm's jobacct_gather/linux).

``JobProcesses`` remembers every process ever seen in a job's tree (by pid and
creation time, so a recycled pid is never mistaken for one of ours): a process
that called ``setsid`` or was reparented to init after its parent exited is
still found, signalled and counted. Without cgroups this tracked tree is also
what the memory watchdog measures. Each sample is also split by step, as
slurmstepd accounts each step apart: a process belongs to the srun step its
environment names (``SLURM_STEP_ID``, read once per process), else to the batch
step.
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
TASK_VAR = "SLURM_PROCID"
BATCH = "batch"


@dataclass
class Sample:
    rss_kb: int
    cpu_time_s: float
    vmsize_kb: int = 0
    read_bytes: int = 0  # storage I/O of every process seen, as Slurm's fs/disk counts it
    write_bytes: int = 0
    time: float = 0.0  # when taken (0: never)


@dataclass
class StepSample:
    """One step's part of a sample: its live processes' memory, the CPU time and I/O of
    every process of it seen, and its maxima so far."""

    pids: list[int]
    ntasks: int
    rss_kb: int
    vmsize_kb: int
    cpu_time_s: float
    read_bytes: int
    write_bytes: int
    max_rss_kb: int
    max_vmsize_kb: int


Key = tuple[int, float]  # (pid, creation time)


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
        self._tags: dict[Key, tuple[str, str | None]] = {}  # -> (step, task)
        self._peaks: dict[str, tuple[int, int]] = {}  # step -> (max rss, max vmsize) KB
        self.steps: dict[str, StepSample] = {}  # the steps with live processes, last sample
        self._batch_var: str | None = None
        with contextlib.suppress(psutil.Error):
            self._known[pid] = psutil.Process(pid)
            self._batch_var = _environ(self._known[pid]).get(STEP_VAR)

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
        live: list[tuple[Key, int, int]] = []
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
            if key not in self._tags:
                self._tags[key] = self._tag(proc)
            rss += mem.rss
            vms += mem.vms
            live.append((key, mem.rss, mem.vms))
        rss_kb = rss // 1024
        peak = self.cgroup.peak_rss_kb() if self.cgroup is not None else 0
        self.steps = self._by_step(live, peak)
        self.max_rss_kb = max(self.max_rss_kb, rss_kb, peak)
        self.max_vmsize_kb = max(self.max_vmsize_kb, vms // 1024)
        self.last = Sample(rss_kb=rss_kb, cpu_time_s=sum(self._cpu.values()),
                           vmsize_kb=vms // 1024,
                           read_bytes=sum(r for r, _ in self._io.values()),
                           write_bytes=sum(w for _, w in self._io.values()),
                           time=time.time())
        return self.last

    def _tag(self, proc: psutil.Process) -> tuple[str, str | None]:
        """(step, task) of ``proc``: the srun step and task its environment names, or
        the batch step's when it names none or the one the batch shell inherited."""
        env = _environ(proc)
        step = env.get(STEP_VAR)
        if step is None or step == self._batch_var:
            return BATCH, None
        return step, env.get(TASK_VAR)

    def _by_step(self, live: list[tuple[Key, int, int]], job_peak_kb: int) -> dict[str, StepSample]:
        """The steps of the ``live`` processes ((key, rss, vms) in bytes), each with its
        CPU time and I/O over every process of it seen; raises the steps' maxima. The
        job's peak (its cgroup's) is the batch step's while no srun step has run."""
        steps: dict[str, StepSample] = {}
        tasks: dict[str, set[str]] = {}
        for key, rss, vms in live:
            step, task = self._tags[key]
            got = steps.setdefault(step, StepSample([], 0, 0, 0, 0.0, 0, 0, 0, 0))
            got.pids.append(key[0])
            got.rss_kb += rss // 1024
            got.vmsize_kb += vms // 1024
            if task is not None:
                tasks.setdefault(step, set()).add(task)
        for key, cpu in self._cpu.items():
            into = steps.get(self._tags.get(key, (BATCH, None))[0])
            if into is not None:
                read, write = self._io.get(key, (0, 0))
                into.cpu_time_s += cpu
                into.read_bytes += read
                into.write_bytes += write
        batch_only = set(steps) | set(self._peaks) <= {BATCH}
        for step, got in steps.items():
            peak_rss, peak_vms = self._peaks.get(step, (0, 0))
            got.max_rss_kb = max(peak_rss, got.rss_kb, job_peak_kb if batch_only else 0)
            got.max_vmsize_kb = max(peak_vms, got.vmsize_kb)
            self._peaks[step] = (got.max_rss_kb, got.max_vmsize_kb)
            got.ntasks = max(1, len(tasks.get(step, ())))
            got.pids.sort()
        return steps

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

    def signal_steps(self, sig: int, step: str | None = None) -> None:
        """Send ``sig`` to the job's steps only (``step``: that one alone): the tasks
        srun started and their children, not the batch shell nor its other children
        (Slurm's default for ``scancel --signal``; ``scancel N.S`` names one step). A
        step's process is told by its environment naming a step the batch shell's
        does not (the shell may have inherited one at submit).
        """
        for proc in self.live():
            if proc.pid == self.pid:
                continue
            tag = self._tag(proc)[0]
            if tag != BATCH and (step is None or tag == step):
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


def _environ(proc: psutil.Process) -> dict[str, str]:
    """``proc``'s environment; empty when it cannot be read."""
    try:
        return dict(proc.environ())
    except (psutil.Error, OSError):
        return {}


def node_load() -> tuple[float, int]:
    """One-minute load average and available memory in MB."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = 0.0
    return load, psutil.virtual_memory().available // (1024 * 1024)
