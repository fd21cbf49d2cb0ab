"""``salloc``: get an allocation, run a command in it (default: the user's shell), give
it back when the command ends; Slurm 22.05's messages on stderr.

The request is sbatch's options without a script (drover/jobopts.py), submitted
as an allocation and waited for (drover/cli/allocation.py, shared with srun), then
salloc starts the command in its own process group (the terminal's
foreground one when salloc is interactive) with the allocation's ``SLURM_*``
variables, so ``srun`` inside makes steps of the job. When the command exits
the allocation is relinquished with its exit status (``POST`` to the same path):
COMPLETED, or FAILED as Slurm records ``salloc false``. Interrupted while
pending, the request is withdrawn. Revoked while the command runs (scancel, the
time limit), the command gets ``-K``'s signal (by default SIGHUP when
interactive, else SIGTERM), then SIGKILL after KillWait: Drover's steps run
here, under the command, so they must not outlive the allocation.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from drover import jobopts
from drover.api import Client
from drover.cli import allocation, common

PROG = "salloc"
WORDS = allocation.Words(PROG, "Job submit/allocate failed",
                         "Job allocation {job_id} has been revoked.", "Job aborted due to signal")
# A command killed by one of these most likely was by the user: salloc exits 0.
USER_SIGNALS = {signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGKILL}


def say(text: str) -> None:
    allocation.say(WORDS, text)


def default_command() -> list[str]:
    """The user's login shell, as salloc finds it (passwd), else $SHELL, else /bin/sh."""
    try:
        shell = pwd.getpwuid(os.getuid()).pw_shell
    except KeyError:
        shell = ""
    return [shell or os.environ.get("SHELL") or "/bin/sh"]


def main(argv: Sequence[str] | None = None, client: Any = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        request = jobopts.parse_salloc(args, os.environ, os.getcwd(), default_command())
    except jobopts.OptionError as exc:
        return allocation.option_error(PROG, exc)
    except OSError:
        common.die(PROG, "getcwd failed", 1)
    try:
        kill_signal = _kill_signal(request.kill_command, os.isatty(0))
    except (KeyError, ValueError):
        common.die(PROG, f"Invalid signal specification: {request.kill_command}", 1)
    client = client or common.client()
    job_id = allocation.submit(client, WORDS, request.job_desc)
    say(f"Pending job allocation {job_id}")
    record = allocation.wait_granted(client, WORDS, job_id)
    if record is None:
        return 1
    say(f"Granted job allocation {job_id}")
    if request.no_shell:
        return 0
    env = {**os.environ, **record.get("environment", {})}
    status, revoked = run_command(client, job_id, request.command, env, kill_signal,
                                  int(record.get("kill_wait_s", 30)))
    if not revoked:
        relinquish(client, job_id, status)
    return exit_status(status)


def relinquish(client: Client, job_id: int, status: int) -> None:
    """Give the allocation back, with the command's wait status (Popen's: -N for signal N)."""
    say(f"Relinquishing job allocation {job_id}")
    allocation.give_back(client, WORDS, job_id, max(status, 0), max(-status, 0))


def exit_status(status: int) -> int:
    """salloc's own: the command's exit code; killed by a signal the user most likely
    sent, 0; by another, 1."""
    if status >= 0:
        return status
    return 0 if -status in USER_SIGNALS else 1


def _start(command: Sequence[str], env: Mapping[str, str],
           interactive: bool) -> subprocess.Popen[bytes]:
    if not interactive:
        return subprocess.Popen(list(command), env=env, process_group=0)

    def foreground() -> None:  # in the child: its own group, the terminal's foreground one
        os.setpgid(0, 0)
        os.tcsetpgrp(0, os.getpid())  # SIGTTOU is ignored: inherited from salloc
        signal.signal(signal.SIGTTOU, signal.SIG_DFL)

    return subprocess.Popen(list(command), env=env, preexec_fn=foreground)


def run_command(client: Client, job_id: int, command: Sequence[str], env: Mapping[str, str],
                kill_signal: int, kill_wait_s: int) -> tuple[int, bool]:
    """Run ``command`` until it exits, or the allocation is revoked and it is stopped;
    (its wait status, whether the allocation was revoked)."""
    interactive = os.isatty(0)

    def forward(signum: int, _frame: object) -> None:
        if proc is not None:
            _signal_group(proc, signum)

    def let_pass(_signum: int, _frame: object) -> None:
        pass  # a handler, not SIG_IGN: the command must not inherit the ignoring

    old = {s: signal.signal(s, let_pass) for s in (signal.SIGINT, signal.SIGQUIT)}
    old[signal.SIGTTOU] = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    proc: subprocess.Popen[bytes] | None = None
    old.update({s: signal.signal(s, forward) for s in (signal.SIGHUP, signal.SIGTERM)})
    try:
        try:
            proc = _start(command, env, interactive)
        except OSError:
            say(f'error: Unable to exec command "{command[0]}"')
            return 1, False
        return _supervise(client, job_id, proc, kill_signal, kill_wait_s)
    finally:
        if interactive:
            os.tcsetpgrp(0, os.getpgrp())
        for s, handler in old.items():
            signal.signal(s, handler)


def _kill_signal(kill_command: str | None, interactive: bool) -> int:
    """``-K``'s signal; without one SIGHUP for an interactive command, else SIGTERM."""
    if kill_command:
        name = kill_command.upper()
        if name.isdigit():
            return int(name)
        return int(signal.Signals[name if name.startswith("SIG") else "SIG" + name])
    return signal.SIGHUP if interactive else signal.SIGTERM


def _supervise(client: Client, job_id: int, proc: subprocess.Popen[bytes], kill_signal: int,
               kill_wait_s: int) -> tuple[int, bool]:
    while True:
        try:
            return proc.wait(timeout=allocation.POLL_S), False
        except subprocess.TimeoutExpired:
            pass
        record = allocation.poll(client, job_id)
        state = record.get("state") if record else None
        if state in allocation.FINISHED:
            break
    if state == "TIMEOUT":
        say(f"Job {job_id} has exceeded its time limit and its allocation has been revoked.")
    else:
        say(f"Job allocation {job_id} has been revoked.")
    _signal_group(proc, kill_signal)
    try:
        return proc.wait(timeout=kill_wait_s), True
    except subprocess.TimeoutExpired:
        _signal_group(proc, signal.SIGKILL)
        return proc.wait(), True


def _signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(OSError):  # already gone
        os.killpg(proc.pid, signum)


if __name__ == "__main__":
    sys.exit(main())
