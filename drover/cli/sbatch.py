"""``sbatch``: submit a batch script, with Slurm's options, output and errors.

Stdout carries only ``Submitted batch job <id>`` (or ``<id>`` with
``--parsable``); everything else goes to stderr, because tools parse stdout.
The script is read and copied at submit time (callers delete it right after).
Imports stay light: this runs once per job in every workflow engine.
"""

from __future__ import annotations

import os
import sys
import time

from drover import jobopts
from drover.api import ApiError, ApiUnreachable, Client
from drover.cli import common
from drover.timefmt import format_timestamp

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from collections.abc import Sequence  # collections costs ~1.7 ms
    from typing import Any

PROG = "sbatch"
FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL",
            "PREEMPTED", "BOOT_FAIL", "DEADLINE"}


def read_script(path: str | None) -> str:
    """The script text: the file, or stdin when there is no file (or it is /dev/stdin)."""
    if path is None or path in ("-", "/dev/stdin"):
        data = sys.stdin.buffer.read() if sys.stdin is not None else b""
    else:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            common.die(PROG, f"Unable to open file {path}", 1)
    return data.decode("utf-8", errors="replace")


def _fail(exc: jobopts.OptionError) -> int:
    for line in exc.stdout:
        print(line)
    for line in exc.stderr:
        print(line, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    return exc.code


def build_request(argv: Sequence[str]) -> jobopts.SbatchRequest:
    """Parse the command line, read the script, parse it all (OptionError on failure)."""
    line = jobopts.parse_command_line(argv)
    script = None if "wrap" in line.options else read_script(line.script_path)
    request = jobopts.parse_sbatch(list(argv), script, os.environ, _cwd())
    import _socket  # ``socket`` would import enum and selectors: ~3 ms of start-up

    request.job_desc["submit_host"] = _socket.gethostname()
    return request


def _cwd() -> str:
    try:
        return os.getcwd()
    except OSError:
        common.die(PROG, "Unable to determine the current working directory", 1)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        request = build_request(args)
    except jobopts.OptionError as exc:
        return _fail(exc)
    client = common.client()
    try:
        answer = client.post("/api/jobs/", request.job_desc)
    except ApiError as exc:
        common.print_submit_error(PROG, exc)
        return 1
    except ApiUnreachable:
        common.die(PROG, f"Batch job submission failed: {common.UNREACHABLE}", 1)
    if request.test_only:
        print(_test_only_line(answer.get("test_only") or {}), file=sys.stderr, flush=True)
        return 0
    job_id = int(answer["job_id"])
    if not request.quiet:
        if request.parsable:
            cluster = (request.clusters or "").split(",")[0]
            print(f"{job_id};{cluster}" if cluster else str(job_id), flush=True)
        else:
            print(f"Submitted batch job {job_id}", flush=True)
    if request.wait:
        return _wait(client, job_id)
    return 0


def _test_only_line(t: dict[str, Any]) -> str:
    start = t.get("start_time")
    return (f"{PROG}: Job {t.get('job_id', 0)} to start at "
            f"{format_timestamp(None if start is None else float(start))} using "
            f"{t.get('cpus', 0)} processors on nodes {t.get('nodes', '')} "
            f"in partition {t.get('partition', '')}")


def _wait(client: Client, job_id: int) -> int:
    """``--wait``: poll until the job ends; its exit status becomes sbatch's."""
    delay = 1.0
    while True:
        time.sleep(delay)
        delay = min(delay * 1.5, 10.0)
        try:
            job = client.get(f"/api/jobs/{job_id}/")
        except ApiUnreachable:
            continue
        except ApiError:
            return 0  # purged: nothing more to learn
        if job.get("state") in FINISHED:
            rc, sig = (list(job.get("exit_code") or [0, 0]) + [0, 0])[:2]
            return int(rc) if rc else (128 + int(sig) if sig else 0)


if __name__ == "__main__":
    raise SystemExit(main())
