"""Supervise one running job until it ends (the rest of slurmstepd's work).

One thread per job sleeps in ``poll()`` on a pidfd of the job's first process
(readable the moment it exits, so an end is seen at once, not at the next
sample) and on a wake-up pipe, with a timeout set by the next deadline: the
time limit, the end of KillWait, or the next usage sample. When the job's
first process has exited, what is left of the job (background processes,
daemons that called ``setsid``) is killed, as Slurm's proctrack does, then the
process is reaped with ``wait4`` for its status and rusage, and ``on_end`` is
called with the ``Ending``.

Killing (terminate order, time limit) is SIGCONT then SIGTERM to every process
of the job, then SIGKILL after ``kill_wait_s``: programs that ignore SIGTERM
(submitit does) still end.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shutil
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

from nodeagent.launcher import Spawned
from nodeagent.monitor import JobProcesses
from nodeagent.protocol import StepUsage

log = logging.getLogger(__name__)

FIRST_SAMPLE_S = 0.05


@dataclass
class Ending:
    exit_code: int
    signal: int
    timed_out: bool
    oom: bool
    cpu_time_s: float
    max_rss_kb: int
    terminated_for: str | None
    time: float


class Step:
    def __init__(
        self,
        spawned: Spawned,
        *,
        on_end: Callable[[Step, Ending], None],
        time_limit_s: float | None = None,
        kill_wait_s: float = 30.0,
        mem_mb: int | None = None,
        watchdog: bool = True,
        sample_s: float = 0.5,
    ) -> None:
        self.spawned = spawned
        self.job_id = spawned.job_id
        self._on_end = on_end
        self._deadline = spawned.start_time + time_limit_s if time_limit_s else None
        self._kill_wait_s = kill_wait_s
        self._mem_kb = mem_mb * 1024 if mem_mb and watchdog else None
        self._sample_s = sample_s
        self.procs = JobProcesses(spawned.pid, spawned.cgroup)
        self._lock = threading.Lock()
        self._reaped = False
        self._kill_at: float | None = None
        self._killed_with = 0
        self._timed_out = False
        self._oom = False
        self._terminated_for: str | None = None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._thread = threading.Thread(target=self._run, name=f"job-{self.job_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    # ---- called from other threads -------------------------------------------

    def terminate(self, reason: str | None) -> None:
        """SIGCONT+SIGTERM now, SIGKILL after KillWait (idempotent)."""
        with self._lock:
            if self._reaped or self._kill_at is not None:
                return
            self._terminated_for = reason
            self._begin_kill()
        self._wake()

    def set_time_limit(self, time_limit_s: float | None) -> None:
        """A new time limit, counted from the start (``scontrol update TimeLimit=``);
        one already passed ends the job now, as the old one would have."""
        with self._lock:
            start = self.spawned.start_time
            self._deadline = start + time_limit_s if time_limit_s else None
        self._wake()

    def send_signal(self, sig: int, scope: str = "full", step: str | None = None) -> None:
        """``scope`` is what scancel's flags pick: "steps" (the default there: srun's
        tasks only; ``step``: that step's alone), "batch" (``-b``: the batch shell
        alone, not its children) or "full" (``-f``: the shell, its children and the
        steps)."""
        with self._lock:
            if self._reaped:
                return
            if scope == "batch":
                # Not reaped: the pid cannot have been recycled.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(self.spawned.pid, sig)
            elif scope == "steps":
                self.procs.signal_steps(sig, step)
            else:
                self.procs.signal(sig)

    def usage(self) -> list[StepUsage]:
        """The latest sample of each step with live processes, the batch step's and
        srun's (what ``sstat`` shows); none before the first: the supervising thread
        takes one every ``sample_s``; this only reads it."""
        taken = self.procs.last.time
        if not taken:
            return []
        return [{
            "job_id": self.job_id, "step": name, "ntasks": got.ntasks, "pids": got.pids,
            "time": taken, "cpu_time_s": round(got.cpu_time_s, 3),
            "rss_kb": got.rss_kb, "max_rss_kb": got.max_rss_kb,
            "vmsize_kb": got.vmsize_kb, "max_vmsize_kb": got.max_vmsize_kb,
            "read_bytes": got.read_bytes, "write_bytes": got.write_bytes,
        } for name, got in self.procs.steps.items()]

    # ---- the supervising thread ----------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def _begin_kill(self) -> None:
        """Lock held."""
        self.procs.signal(signal.SIGCONT)
        self.procs.signal(signal.SIGTERM)
        self._killed_with = signal.SIGTERM
        self._kill_at = time.monotonic() + self._kill_wait_s

    def _kill_now(self) -> None:
        """Lock held."""
        self.procs.signal(signal.SIGKILL)
        self._killed_with = signal.SIGKILL

    def _run(self) -> None:
        try:
            ending = self._supervise()
        except Exception:  # the job must still be reported
            log.exception("job %s: supervision failed", self.job_id)
            ending = Ending(0, int(signal.SIGKILL), False, False, 0.0, 0, "node_fail", time.time())
        finally:
            os.close(self._wake_r)
            os.close(self._wake_w)
        self._cleanup()
        self._on_end(self, ending)

    def _supervise(self) -> Ending:
        pidfd = self._pidfd()
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        if pidfd is not None:
            poller.register(pidfd, select.POLLIN)
        next_sample = time.monotonic() + FIRST_SAMPLE_S
        try:
            while not self._exited(poller, pidfd, self._timeout(next_sample)):
                with contextlib.suppress(OSError):
                    os.read(self._wake_r, 4096)
                now = time.monotonic()
                with self._lock:
                    if self._limit_reached():
                        log.info("job %s: time limit reached", self.job_id)
                        self._timed_out = True
                        self._begin_kill()
                    kill_due = self._kill_at is not None and now >= self._kill_at
                    if kill_due and self._killed_with != signal.SIGKILL:
                        self._kill_now()
                if now >= next_sample:
                    next_sample = now + self._sample_s
                    self._check_memory()
        finally:
            if pidfd is not None:
                os.close(pidfd)
        return self._reap()

    def _limit_reached(self) -> bool:
        """Lock held."""
        if self._deadline is None or self._timed_out or self._kill_at is not None:
            return False
        return time.time() >= self._deadline

    def _timeout(self, next_sample: float) -> float:
        now = time.monotonic()
        until = [next_sample - now]
        if self._deadline is not None and self._kill_at is None:
            until.append(self._deadline - time.time())
        if self._kill_at is not None and self._killed_with != signal.SIGKILL:
            until.append(self._kill_at - now)
        return max(0.0, min(until))

    def _pidfd(self) -> int | None:
        try:
            return os.pidfd_open(self.spawned.pid)
        except (OSError, AttributeError):
            return None

    def _exited(self, poller: select.poll, pidfd: int | None, timeout: float) -> bool:
        if pidfd is None:  # no pidfds: poll the status every 20 ms
            timeout = min(timeout, 0.02)
        for fd, _ in poller.poll(timeout * 1000):
            if fd == pidfd:
                return True
        if pidfd is None:
            return not self._alive()
        return False

    def _alive(self) -> bool:
        if self.spawned.popen is not None:
            try:
                info = os.waitid(os.P_PID, self.spawned.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return False
            return info is None
        try:
            proc = psutil.Process(self.spawned.pid)
            return bool(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE)
        except psutil.Error:
            return False

    def _check_memory(self) -> None:
        sample = self.procs.sample()
        if self._mem_kb is not None and sample.rss_kb > self._mem_kb and not self._oom:
            log.info(
                "job %s: %d KB resident exceeds its %d KB; killing it",
                self.job_id, sample.rss_kb, self._mem_kb,
            )  # fmt: skip
            with self._lock:
                self._oom = True
                self._kill_now()

    def _reap(self) -> Ending:
        with self._lock:
            # The first process is a zombie: its pid (the group id) cannot be
            # reused yet, so the rest of the job can be killed safely.
            self.procs.signal(signal.SIGKILL)
            status, cpu = self._wait()
            self._reaped = True
        exit_code, sig = exit_and_signal(status)
        cgroup = self.spawned.cgroup
        oom = self._oom or (cgroup is not None and cgroup.oom_killed())
        return Ending(
            exit_code=exit_code,
            signal=sig,
            timed_out=self._timed_out,
            oom=oom,
            cpu_time_s=round(max(cpu, self.procs.cpu_time_s()), 3),
            # Not rusage's ru_maxrss: it counts the agent's memory copied by
            # fork before exec. Sampled, as Slurm's jobacct_gather does.
            max_rss_kb=self.procs.max_rss_kb,
            terminated_for=self._terminated_for,
            time=time.time(),
        )

    def _wait(self) -> tuple[int, float]:
        """Reap the first process: (wait status, CPU seconds of it and its reaped children)."""
        popen = self.spawned.popen
        reaped = reap(self.spawned.pid, block=True)
        if reaped is None:
            # Re-adopted after a stop and a start: not our child, so its status is
            # not ours to read. Report what we know: the signal we sent.
            sig = self._killed_with
            return (sig if sig else 0), 0.0
        if popen is not None:
            popen.returncode = os.waitstatus_to_exitcode(reaped[0])
        return reaped

    def _cleanup(self) -> None:
        cgroup = self.spawned.cgroup
        if cgroup is not None:
            for _ in range(20):
                if not cgroup.procs():
                    break
                cgroup.signal(signal.SIGKILL)
                time.sleep(0.05)
            cgroup.remove()
        log_path = self.spawned.job_dir / "slurmstepd.log"
        with contextlib.suppress(OSError):
            text = log_path.read_text(errors="replace").strip()
            if text:
                log.warning("job %s: %s", self.job_id, text)
        shutil.rmtree(self.spawned.job_dir, ignore_errors=True)


def reap(pid: int, *, block: bool) -> tuple[int, float] | None:
    """``wait4`` on ``pid``: (wait status, CPU seconds of it and its reaped children), or
    None when it is not this process's child (or, without ``block``, still running).
    A job re-adopted by an agent restarted in place (SIGHUP) is still its child."""
    try:
        got, status, usage = os.wait4(pid, 0 if block else os.WNOHANG)
    except ChildProcessError:
        return None
    if got == 0:
        return None
    return status, usage.ru_utime + usage.ru_stime


def exit_and_signal(status: int) -> tuple[int, int]:
    """A wait status as Slurm reports it: (exit code, 0) or (0, the signal that ended it)."""
    if os.WIFSIGNALED(status):
        return 0, os.WTERMSIG(status)
    return os.WEXITSTATUS(status) & 0xFF, 0
