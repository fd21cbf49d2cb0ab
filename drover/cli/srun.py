"""``srun`` inside a batch job: a job step of ``-n N`` copies of a command, run as local
child processes.

The allocation is found through ``SLURM_JOB_ID``/``SLURM_JOBID`` (or ``--jobid``),
even when every other ``SLURM_*`` variable was stripped (snakemake, submitit do
that). The step is recorded with the controller (``drover.cli.srunstep``: its id,
then its end, exit status and usage), so sacct lists it as ``N.<step>``, sstat
shows it while it runs and ``scancel N.<step>`` reaches it. Each task gets
``SLURM_PROCID/LOCALID/NODEID/NTASKS/STEP_ID/JOB_ID``; ``-o/-e`` patterns are
expanded per task; stdin goes to task 0; the exit status is the first failing
task's. Every task runs on this node. Outside an allocation srun refuses
(``salloc`` makes one).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import IO, Any

from drover.cli import srunstep
from drover.cli.slurmargs import SlurmArgumentParser, add_version

OUTSIDE = "srun: error: interactive srun outside an allocation is not supported yet; use sbatch"


def build_parser() -> SlurmArgumentParser:
    p = SlurmArgumentParser("srun", add_help=False)
    add_version(p)
    p.add_argument("--help", action="help")
    p.add_argument("-n", "--ntasks", type=int)
    p.add_argument("-N", "--nodes")
    p.add_argument("-c", "--cpus-per-task", type=int)
    p.add_argument("--cpu-bind", "--cpu_bind")
    p.add_argument("-u", "--unbuffered", action="store_true")
    p.add_argument("-o", "--output")
    p.add_argument("-e", "--error")
    p.add_argument("-i", "--input")
    p.add_argument("--gpus", "-G")
    p.add_argument("--gpus-per-task")
    p.add_argument("--gres")
    p.add_argument("--jobid")
    p.add_argument("-J", "--job-name")
    p.add_argument("-l", "--label", action="store_true")
    p.add_argument("--mpi")
    p.add_argument("--export")
    p.add_argument("--exclusive", action="store_true")
    p.add_argument("--overlap", action="store_true")
    p.add_argument("--mem")
    p.add_argument("--mem-per-cpu")
    p.add_argument("-t", "--time")
    p.add_argument("-K", "--kill-on-bad-exit", nargs="?", const="1")
    p.add_argument("-W", "--wait", type=int)
    p.add_argument("-Q", "--quiet", action="store_true")
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.add_argument("-p", "--partition")
    p.add_argument("-A", "--account")
    p.add_argument("--ntasks-per-node", type=int)
    p.add_argument("-D", "--chdir")
    p.add_argument("command", nargs=argparse.REMAINDER)
    return p


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
              job_name: str | None = None, cwd: str | None = None) -> list[int]:
    """Start the tasks, wait for all; their wait statuses (-N: killed by signal N). A
    command that cannot be started stops the tasks started and counts as exit code 2."""
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
        return _wait(procs)
    finally:
        files.close()


def _stop(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        with contextlib.suppress(OSError):
            p.terminate()
    for p in procs:
        p.wait()


def _wait(procs: Sequence[subprocess.Popen[bytes]]) -> list[int]:
    def forward(signum: int, _frame: object) -> None:
        for p in procs:
            with contextlib.suppress(OSError):
                p.send_signal(signum)

    old = {s: signal.signal(s, forward)
           for s in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2)}
    try:
        return [p.wait() for p in procs]
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    env = os.environ
    job_id = job_id_from(env, args.jobid)
    if job_id is None:
        print(OUTSIDE, file=sys.stderr)
        return 1
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        print("srun: fatal: No command given to execute.", file=sys.stderr)
        return 1
    ntasks = args.ntasks
    if ntasks is None:
        default = env.get("SLURM_NTASKS", "")
        ntasks = int(default) if default.isdigit() and int(default) > 0 else 1
    if ntasks < 1:
        print("srun: error: Invalid number of tasks (-n 0)", file=sys.stderr)
        return 1
    try:
        step, recorded = srunstep.create(job_id, args.job_name or os.path.basename(command[0]),
                                         ntasks, args.cpus_per_task)
    except srunstep.StepRefused as exc:
        print(f"srun: error: Unable to create step for job {job_id}: {exc}", file=sys.stderr)
        return 1
    sys.stdout.flush()
    codes = run_tasks(command, ntasks, job_id=job_id, step=step, env=env,
                      output=args.output, error=args.error, stdin=args.input,
                      cpus_per_task=args.cpus_per_task, job_name=args.job_name,
                      cwd=args.chdir)
    if recorded:
        srunstep.end(job_id, step, codes)
    return exit_status(codes)


if __name__ == "__main__":
    sys.exit(main())
