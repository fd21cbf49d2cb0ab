"""``srun``: a job step of ``-n N`` copies of a command, run as local child processes;
outside a job, in an allocation of its own first.

Options are read as Slurm's srun reads them (drover/jobopts.py: salloc's allocation
options, srun's own for the tasks). Inside a job the allocation is found through
``SLURM_JOB_ID``/``SLURM_JOBID`` (or ``--jobid``), even when every other ``SLURM_*``
variable was stripped (snakemake, submitit do that). Outside one srun asks for an
allocation with its options, as salloc does (drover/cli/allocation.py), named after
the command; ``job N queued and waiting for resources`` and ``job N has been allocated
resources`` only when it had to wait. The tasks then run as step N.0 with the
allocation's ``SLURM_*`` variables, and the allocation is given back with their status
when they end: COMPLETED, or FAILED as Slurm records ``srun false``. Interrupted while
pending, the request is withdrawn; revoked while the tasks run (scancel, the time
limit), they get SIGTERM, then SIGKILL after KillWait.

The step is recorded with the controller (``drover.cli.srunstep``: its id, then its
end, exit status and usage), so sacct lists it as ``N.<step>``, sstat shows it while
it runs and ``scancel N.<step>`` reaches it. Each task gets
``SLURM_PROCID/LOCALID/NODEID/NTASKS/STEP_ID/JOB_ID``; ``-o/-e`` patterns are
expanded per task; stdin goes to task 0; the exit status is the first failing
task's. Every task runs on this node, task 0 on srun's terminal: ``--pty`` (``srun
--pty bash``) sends the other tasks' output to /dev/null, as Slurm does.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

from drover import jobopts
from drover.cli import allocation, common, srunstep

PROG = "srun"
WORDS = allocation.Words(PROG, "Unable to allocate resources",
                         "Job allocation {job_id} has been revoked", None)


def job_id_from(env: Mapping[str, str], option: str | None) -> str | None:
    for value in (option, env.get("SLURM_JOB_ID"), env.get("SLURM_JOBID")):
        if value and value.strip():
            return value.strip()
    return None


def task_env(base: Mapping[str, str], *, job_id: str, step: int, task: int, ntasks: int,
             cpus_per_task: int | None, job_name: str | None) -> dict[str, str]:
    env = dict(base)
    env.update({
        "SLURM_JOB_ID": job_id, "SLURM_JOBID": job_id, "SLURM_STEP_ID": str(step),
        "SLURM_STEPID": str(step), "SLURM_PROCID": str(task), "SLURM_LOCALID": str(task),
        "SLURM_NODEID": "0", "SLURM_NTASKS": str(ntasks), "SLURM_NPROCS": str(ntasks),
        "SLURM_STEP_NUM_TASKS": str(ntasks), "SLURM_STEP_NUM_NODES": "1",
        "SLURM_STEP_NODELIST": env.get("SLURMD_NODENAME") or socket.gethostname(),
    })
    if cpus_per_task:
        env["SLURM_CPUS_PER_TASK"] = str(cpus_per_task)
    if job_name:
        env["SLURM_JOB_NAME"] = job_name
    return env


def expand_pattern(pattern: str, env: Mapping[str, str], job_id: str, step: int,
                   task: int) -> str:
    from drover.filepattern import expand

    def as_int(key: str) -> int | None:
        value = env.get(key, "")
        return int(value) if value.isdigit() else None

    return expand(pattern, job_id=int(job_id) if job_id.isdigit() else 0,
                  array_job_id=as_int("SLURM_ARRAY_JOB_ID"),
                  array_task_id=as_int("SLURM_ARRAY_TASK_ID"),
                  user=env.get("USER") or getpass.getuser(),
                  job_name=env.get("SLURM_JOB_NAME", ""),
                  node=env.get("SLURMD_NODENAME") or socket.gethostname(),
                  task_id=task, step_id=step)


class Files:
    """Output files by path: a file named by several tasks is opened (truncated) once."""

    def __init__(self) -> None:
        self.open: dict[str, IO[bytes]] = {}

    def get(self, path: str) -> IO[bytes]:
        if path not in self.open:
            parent = os.path.dirname(path)
            if parent:
                os.makedirs(parent, exist_ok=True)
            self.open[path] = open(path, "wb")  # noqa: SIM115 (closed in close())
        return self.open[path]

    def close(self) -> None:
        for f in self.open.values():
            f.close()


def run_tasks(command: Sequence[str], ntasks: int, *, job_id: str, step: int,
              env: Mapping[str, str], output: str | None = None, error: str | None = None,
              stdin: str | None = None, cpus_per_task: int | None = None,
              job_name: str | None = None, cwd: str | None = None, pty: bool = False,
              revoked: Callable[[], int | None] | None = None) -> list[int]:
    """Start the tasks, wait for all; their wait statuses (-N: killed by signal N). A
    command that cannot be started stops the tasks started and counts as exit code 2.
    ``pty``: only task 0 writes to srun's terminal. ``revoked``, asked every second, says
    when the allocation is gone (its KillWait): the tasks are stopped."""
    files = Files()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for task in range(ntasks):
            tenv = task_env(env, job_id=job_id, step=step, task=task, ntasks=ntasks,
                            cpus_per_task=cpus_per_task, job_name=job_name)
            out: Any = None
            err: Any = None
            if output and output.lower() != "none":
                out = files.get(expand_pattern(output, tenv, job_id, step, task))
            elif output:
                out = subprocess.DEVNULL
            if error and error.lower() != "none":
                err = files.get(expand_pattern(error, tenv, job_id, step, task))
            elif error:
                err = subprocess.DEVNULL
            elif out is not None:
                err = subprocess.STDOUT if out is subprocess.DEVNULL else out
            if pty and task > 0:
                out = err = subprocess.DEVNULL
            inp: Any = None if task == 0 else subprocess.DEVNULL
            if stdin and stdin.lower() == "none":
                inp = subprocess.DEVNULL
            elif stdin and stdin.lower() != "all" and task == 0:
                inp = open(expand_pattern(stdin, tenv, job_id, step, task), "rb")  # noqa: SIM115
            try:
                procs.append(subprocess.Popen(list(command), env=tenv, stdin=inp, stdout=out,
                                              stderr=err, cwd=cwd))
            except OSError as exc:
                print(f"srun: error: execve(): {command[0]}: {exc.strerror}", file=sys.stderr)
                _stop(procs)
                return [2]
            finally:
                if inp not in (None, subprocess.DEVNULL):
                    inp.close()
        return _wait(procs, revoked)
    finally:
        files.close()


def _stop(procs: Sequence[subprocess.Popen[bytes]], grace_s: float | None = None) -> None:
    """SIGTERM, then (after ``grace_s``) SIGKILL to those still running."""
    for p in procs:
        with contextlib.suppress(OSError):
            p.terminate()
    deadline = None if grace_s is None else time.monotonic() + grace_s
    for p in procs:
        try:
            p.wait(None if deadline is None else max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _wait(procs: Sequence[subprocess.Popen[bytes]],
          revoked: Callable[[], int | None] | None = None) -> list[int]:
    def forward(signum: int, _frame: object) -> None:
        for p in procs:
            with contextlib.suppress(OSError):
                p.send_signal(signum)

    old = {s: signal.signal(s, forward)
           for s in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2)}
    try:
        while revoked is not None and not _ended(procs, allocation.POLL_S):
            kill_wait = revoked()
            if kill_wait is not None:
                print(f"srun: Job step aborted: Waiting up to {kill_wait + 2} seconds for "
                      "job step to finish.", file=sys.stderr, flush=True)
                _stop(procs, kill_wait)
                break
        return [p.wait() for p in procs]
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _ended(procs: Sequence[subprocess.Popen[bytes]], timeout_s: float) -> bool:
    """Whether every task ended within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    try:
        for p in procs:
            p.wait(max(deadline - time.monotonic(), 0))
    except subprocess.TimeoutExpired:
        return False
    return True


def exit_status(codes: Sequence[int]) -> int:
    """srun's exit status: the first failing task's (128+N for signal N), each failure
    reported on stderr."""
    host = socket.gethostname()
    status = 0
    for task, code in enumerate(codes):
        if code == 0:
            continue
        if code < 0:
            print(f"srun: error: {host}: task {task}: Killed by signal {-code}", file=sys.stderr)
            code = 128 - code
        else:
            print(f"srun: error: {host}: task {task}: Exited with exit code {code}",
                  file=sys.stderr)
        status = status or code
    return status


def main(argv: Sequence[str] | None = None, client: Any = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        line = jobopts.parse_command_line(args, prog=PROG)
    except jobopts.OptionError as exc:
        return allocation.option_error(PROG, exc)
    opts = line.options
    command = [line.script_path, *line.script_args] if line.script_path else []
    if not command:
        print("srun: fatal: No command given to execute.", file=sys.stderr)
        return 1
    env: Mapping[str, str] = os.environ
    job_id = job_id_from(env, opts.get("jobid"))
    if job_id is not None:
        return run_step(command, opts, job_id, env)[0]
    try:
        desc = jobopts.srun_allocation(line, env, os.getcwd())
    except jobopts.OptionError as exc:
        return allocation.option_error(PROG, exc)
    client = client or common.client()
    new_id = allocation.submit(client, WORDS, desc)
    record = allocation.wait_granted(client, WORDS, new_id)
    if record is None:
        return 1
    gone: list[bool] = []

    def revoked() -> int | None:
        answer = allocation.poll(client, new_id)
        if answer and answer.get("state") in allocation.FINISHED:
            gone.append(True)
            return int(record.get("kill_wait_s", 30))
        return None

    status, codes = run_step(command, opts, str(new_id),
                             {**env, **record.get("environment", {})}, revoked)
    if not gone:
        allocation.give_back(client, WORDS, new_id, *srunstep.exit_and_signal(codes))
    return status


def run_step(command: Sequence[str], opts: Mapping[str, Any], job_id: str,
             env: Mapping[str, str], revoked: Callable[[], int | None] | None = None
             ) -> tuple[int, list[int]]:
    """Run the tasks as a step of ``job_id``: srun's exit status and the tasks' wait
    statuses."""
    ntasks = opts.get("ntasks")
    if ntasks is None:  # Slurm's default: SLURM_NTASKS, else one task per node
        default = env.get("SLURM_NTASKS") or env.get("SLURM_NNODES") or ""
        ntasks = int(default) if default.isdigit() and int(default) > 0 else 1
    name = opts.get("name")
    cpus_per_task = opts.get("cpus_per_task")
    try:
        step, recorded = srunstep.create(job_id, name or os.path.basename(command[0]),
                                         ntasks, cpus_per_task)
    except srunstep.StepRefused as exc:
        print(f"srun: error: Unable to create step for job {job_id}: {exc}", file=sys.stderr)
        return 1, [1]
    sys.stdout.flush()
    codes = run_tasks(command, ntasks, job_id=job_id, step=step, env=env,
                      output=opts.get("task_output"), error=opts.get("task_error"),
                      stdin=opts.get("task_input"), cpus_per_task=cpus_per_task,
                      job_name=name, cwd=opts.get("chdir"), pty=bool(opts.get("pty")),
                      revoked=revoked)
    if recorded:
        srunstep.end(job_id, step, codes)
    return exit_status(codes), codes


if __name__ == "__main__":
    sys.exit(main())
