"""An allocation asked for by a command, salloc's or srun's outside a job: submitted
(``POST /api/jobs/`` with ``"allocation": true``), polled every second
(``GET /api/jobs/N/allocation/``) until it runs, given back with the command's status
(``POST`` to the same path). Slurm's messages on stderr, in each command's wording
(``Words``): both say ``job N queued and waiting for resources`` and ``job N has been
allocated resources`` only when the job had to wait (libslurm's allocate.c); a request
refused or cancelled while pending, or withdrawn by a signal, is worded as salloc.c or
srun's allocate.c word it.
"""

from __future__ import annotations

import signal
import sys
import time
from typing import Any

from drover import jobopts
from drover.api import ApiError, ApiUnreachable, Client
from drover.cli import common

POLL_S = 1.0
FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL",
            "PREEMPTED", "BOOT_FAIL", "DEADLINE"}
# Signals that withdraw a pending request.
INTERRUPTS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


class Interrupted(Exception):
    """A signal arrived while the allocation was pending."""


class Words:
    """How a command words its allocation's failures: ``failed`` prefixes a refusal's error,
    ``revoked`` (with ``{job_id}``) says the request is gone, ``aborted`` follows it
    when a signal withdrew it (None: nothing)."""

    def __init__(self, prog: str, failed: str, revoked: str, aborted: str | None) -> None:
        self.prog = prog
        self.failed = failed
        self.revoked = revoked
        self.aborted = aborted


def say(words: Words, text: str) -> None:
    print(f"{words.prog}: {text}", file=sys.stderr, flush=True)


def option_error(prog: str, exc: jobopts.OptionError) -> int:
    """Print an option error (its lines name sbatch) as ``prog``'s; its exit status."""
    for line in exc.stdout:
        print(line.replace("sbatch", prog, 1))
    for line in exc.stderr:
        print(line.replace("sbatch", prog, 1), file=sys.stderr)
    sys.stderr.flush()
    return exc.code


def submit(client: Client, words: Words, desc: dict[str, Any]) -> int:
    """The new allocation's job id; exit 1 with the controller's reason when it refuses."""
    import _socket

    desc["submit_host"] = _socket.gethostname()
    try:
        return int(client.post("/api/jobs/", desc)["job_id"])
    except ApiError as exc:
        common.print_submit_error(words.prog, exc, words.failed)
        raise SystemExit(1) from None
    except ApiUnreachable:
        common.die(words.prog, f"{words.failed}: {common.UNREACHABLE}", 1)


def wait_granted(client: Client, words: Words, job_id: int) -> dict[str, Any] | None:
    """The allocation's record once it runs; None (after Slurm's messages) when it was
    revoked or the wait interrupted, the request then withdrawn."""
    def interrupt(_signum: int, _frame: object) -> None:
        raise Interrupted

    old = {s: signal.signal(s, interrupt) for s in INTERRUPTS}
    queued = False
    try:
        while True:
            record = poll(client, job_id)
            state = record.get("state") if record else None
            if state == "RUNNING":
                if queued:
                    say(words, f"job {job_id} has been allocated resources")
                return record
            if state in FINISHED:
                say(words, words.revoked.format(job_id=job_id))
                say(words, f"error: {words.failed}: Job/step already completing or completed")
                return None
            if state == "PENDING" and not queued:
                say(words, f"job {job_id} queued and waiting for resources")
                queued = True
            time.sleep(POLL_S)
    except Interrupted:
        for s in INTERRUPTS:  # a second Ctrl-C must not cut the withdrawal short
            signal.signal(s, signal.SIG_IGN)
        give_back(client, words, job_id, 0, 0)
        say(words, words.revoked.format(job_id=job_id))
        if words.aborted:
            say(words, words.aborted)
        return None
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def poll(client: Client, job_id: int) -> dict[str, Any] | None:
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


def give_back(client: Client, words: Words, job_id: int, exit_code: int, signum: int) -> None:
    """Relinquish the allocation: COMPLETED, or FAILED with this exit code or signal."""
    try:
        client.post(f"/api/jobs/{job_id}/allocation/", {"exit_code": exit_code,
                                                        "signal": signum})
    except ApiError as exc:
        if exc.error != "Job/step already completing or completed":
            say(words, f"error: Unable to clean up job allocation {job_id}: {exc.error}")
    except ApiUnreachable:
        say(words, f"error: Unable to clean up job allocation {job_id}: {common.UNREACHABLE}")
