"""``salloc``: get an allocation, run a command in it (default: the user's shell), give
it back when the command ends; Slurm 22.05's messages on stderr.

The request is sbatch's options without a script (drover/jobopts.py), submitted
as an allocation. salloc polls it every second (``GET /api/jobs/N/allocation/``)
until it runs, then starts the command in its own process group (the terminal's
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
import time
from collections.abc import Mapping, Sequence
from typing import Any

from drover import jobopts
from drover.api import ApiError, ApiUnreachable, Client
from drover.cli import common

PROG = "salloc"
POLL_S = 1.0
FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL",
            "PREEMPTED", "BOOT_FAIL", "DEADLINE"}
# Signals that interrupt a pending request; while the command runs they are the
# command's (the terminal sends them to its process group), salloc lets them pass.
INTERRUPTS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
# A command killed by one of these most likely was by the user: salloc exits 0.
USER_SIGNALS = {signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGKILL}


class Interrupted(Exception):
    """A signal arrived while the allocation was pending."""


def say(text: str) -> None:
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)


def default_command() -> list[str]:
    """The user's login shell, as salloc finds it (passwd), else $SHELL, else /bin/sh."""
    try:
        shell = pwd.getpwuid(os.getuid()).pw_shell
    except KeyError:
        shell = ""
    return [shell or os.environ.get("SHELL") or "/bin/sh"]


def _option_error(exc: jobopts.OptionError) -> int:
    for line in exc.stdout:
        print(line.replace("sbatch", PROG, 1))
    for line in exc.stderr:
        print(line.replace("sbatch", PROG, 1), file=sys.stderr)
    sys.stderr.flush()
    return exc.code


def main(argv: Sequence[str] | None = None, client: Any = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        request = jobopts.parse_salloc(args, os.environ, os.getcwd(), default_command())
    except jobopts.OptionError as exc:
        return _option_error(exc)
    except OSError:
        common.die(PROG, "getcwd failed", 1)
    try:
        kill_signal = _kill_signal(request.kill_command, os.isatty(0))
    except (KeyError, ValueError):
        common.die(PROG, f"Invalid signal specification: {request.kill_command}", 1)
    client = client or common.client()
    import _socket

    request.job_desc["submit_host"] = _socket.gethostname()
    try:
        job_id = int(client.post("/api/jobs/", request.job_desc)["job_id"])
    except ApiError as exc:
        for line in exc.detail:
            print(f"{PROG}: error: {line}", file=sys.stderr)
        common.die(PROG, f"Job submit/allocate failed: {exc.error}", 1)
    except ApiUnreachable:
        common.die(PROG, f"Job submit/allocate failed: {common.UNREACHABLE}", 1)
    say(f"Pending job allocation {job_id}")
    record = _wait_granted(client, job_id)
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


def _wait_granted(client: Client, job_id: int) -> dict[str, Any] | None:
    """The allocation's record once it runs; None (after Slurm's messages) when it was
    revoked or the wait interrupted."""
    def interrupt(_signum: int, _frame: object) -> None:
        raise Interrupted

    old = {s: signal.signal(s, interrupt) for s in INTERRUPTS}
    queued = False
    try:
        while True:
            record = _poll(client, job_id)
            state = record.get("state") if record else None
            if state == "RUNNING":
                if queued:
                    say(f"job {job_id} has been allocated resources")
                return record
            if state in FINISHED:
                say(f"Job allocation {job_id} has been revoked.")
                say("error: Job submit/allocate failed: "
                    "Job/step already completing or completed")
                return None
            if state == "PENDING" and not queued:
                say(f"job {job_id} queued and waiting for resources")
                queued = True
            time.sleep(POLL_S)
    except Interrupted:
        for s in INTERRUPTS:  # a second Ctrl-C must not cut the withdrawal short
            signal.signal(s, signal.SIG_IGN)
        _post(client, job_id, {"exit_code": 0, "signal": 0})
        say(f"Job allocation {job_id} has been revoked.")
        say("Job aborted due to signal")
        return None
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _poll(client: Client, job_id: int) -> dict[str, Any] | None:
    """The allocation's record; None while the controller cannot be reached."""
    try:
        answer: dict[str, Any] = client.get(f"/api/jobs/{job_id}/allocation/")
    except ApiUnreachable:
        return None
    except ApiError as exc:
        if exc.status == 404:  # purged: nothing left to wait for
            return {"state": "CANCELLED"}
        return None
    return answer


def _post(client: Client, job_id: int, body: dict[str, int]) -> None:
    try:
        client.post(f"/api/jobs/{job_id}/allocation/", body)
    except ApiError as exc:
        if exc.error != "Job/step already completing or completed":
            say(f"error: Unable to clean up job allocation {job_id}: {exc.error}")
    except ApiUnreachable:
        say(f"error: Unable to clean up job allocation {job_id}: {common.UNREACHABLE}")


def relinquish(client: Client, job_id: int, status: int) -> None:
    """Give the allocation back, with the command's wait status (Popen's: -N for signal N)."""
    say(f"Relinquishing job allocation {job_id}")
    _post(client, job_id, {"exit_code": max(status, 0), "signal": max(-status, 0)})


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
            return proc.wait(timeout=POLL_S), False
        except subprocess.TimeoutExpired:
            pass
        record = _poll(client, job_id)
        state = record.get("state") if record else None
        if state in FINISHED:
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
