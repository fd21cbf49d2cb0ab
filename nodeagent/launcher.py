"""Start a batch job the way slurmstepd does.

The script is written to ``<spool>/job<id>/slurm_script`` (mode 0700, owned by
the job's user) and executed directly, so its shebang chooses the interpreter.
Between the agent and the script sits a few lines of ``/bin/sh`` (``_STEPD``),
run already as the job's user (``Popen(user=, group=, extra_groups=)``): it
waits until the agent has put it in the job's cgroup, creates the missing
parent directories of the output files and opens them (so they are created by
the user, with the user's rights, as Slurm does), opens stdin, changes to the
work directory (falling back to ``/tmp`` with Slurm's error message when that
fails), exports ``SLURM_TASK_PID`` (its own pid, which the script keeps) and
``exec``s the script. The job is a session and process group of its
own (``start_new_session``), whose id is the job's pid.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from nodeagent.cgroups import JobCgroup
from nodeagent.protocol import LaunchPayload

log = logging.getLogger(__name__)

# $1 script, $2 stdout, $3 stderr ("" = with stdout), $4 stdin, $5 open mode,
# $6 work dir, $7 "1" to wait on fd 3 for the agent's go, then the script's args.
_STEPD = r"""
script=$1 out=$2 err=$3 in=$4 mode=$5 cwd=$6 gate=$7
shift 7
if [ "$gate" = 1 ]; then read -r _ <&3; exec 3<&-; fi
mkparent() { d=${1%/*}; [ -z "$d" ] || [ -d "$d" ] || mkdir -p -- "$d"; }
mkparent "$out" || exit 1
if [ "$mode" = append ]; then exec >>"$out"; else exec >"$out"; fi
if [ -z "$err" ] || [ "$err" = "$out" ]; then
  exec 2>&1
else
  mkparent "$err" || exit 1
  if [ "$mode" = append ]; then exec 2>>"$err"; else exec 2>"$err"; fi
fi
exec <"$in"
oldpwd=${OLDPWD-} had_oldpwd=${OLDPWD+1}
if ! cd -- "$cwd" 2>/dev/null; then
  if [ ! -e "$cwd" ]; then why="No such file or directory"
  elif [ ! -d "$cwd" ]; then why="Not a directory"
  else why="Permission denied"; fi
  printf "slurmstepd: error: couldn't chdir to \`%s': %s: going to /tmp instead\n" \
    "$cwd" "$why" >&2
  cd /tmp || exit 1
fi
# cd sets OLDPWD: give the job back the environment it was given.
if [ "$had_oldpwd" ]; then OLDPWD=$oldpwd; else unset OLDPWD; fi
# The script takes over this shell's pid with exec: that is the batch task's pid.
SLURM_TASK_PID=$$; export SLURM_TASK_PID
exec "$script" "$@"
"""


class LaunchError(Exception):
    """The job could not be started; the message is for the user and the log."""


@dataclass
class Spawned:
    """A started job: enough to supervise it now or re-adopt it after a restart."""

    job_id: int
    pid: int
    start_time: float
    create_time: float
    job_dir: Path
    popen: subprocess.Popen[bytes] | None
    cgroup: JobCgroup | None


def parse_signal(name: str | int) -> int:
    """``USR1``, ``SIGUSR1``, ``usr1`` or ``10`` → 10; ValueError when unknown."""
    text = str(name).strip().upper()
    if text.isdigit():
        num = int(text)
        if 0 < num < signal.NSIG:
            return num
        raise ValueError(f"invalid signal number: {name}")
    if not text.startswith("SIG"):
        text = "SIG" + text
    try:
        return int(signal.Signals[text])
    except KeyError:
        raise ValueError(f"unknown signal: {name}") from None


def job_environment(
    payload: LaunchPayload, node: str, slurm_conf: str | None = None
) -> dict[str, str]:
    """The controller's environment plus what only the node knows (``slurm_conf``: the
    slurm.conf the agent was told the cluster runs from; SLURM_CONF only then)."""
    env = {str(k): str(v) for k, v in payload["env"].items()}
    env["SLURMD_NODENAME"] = node
    if slurm_conf:
        env["SLURM_CONF"] = slurm_conf
    env.setdefault("SLURM_TOPOLOGY_ADDR", node)
    env.setdefault("SLURM_TOPOLOGY_ADDR_PATTERN", "node")
    cpus = payload.get("cpus")
    if cpus:
        env.setdefault("SLURM_JOB_CPUS_PER_NODE", str(cpus))
        env.setdefault("SLURM_CPUS_ON_NODE", str(cpus))
    gpus = payload.get("gpus") or []
    if gpus:
        ids = ",".join(str(g) for g in gpus)
        env.setdefault("SLURM_JOB_GPUS", ids)
        env.setdefault("CUDA_VISIBLE_DEVICES", ids)
        env.setdefault("GPU_DEVICE_ORDINAL", ids)
    return env


def _run_as(payload: LaunchPayload) -> dict[str, object]:
    """Popen arguments that drop to the job's user, or {} when already that user."""
    uid, gid = payload["uid"], payload["gid"]
    if os.geteuid() != 0:
        if uid != os.geteuid():
            raise LaunchError(
                f"the node agent runs as uid {os.geteuid()} and cannot start jobs of "
                f"uid {uid} (run it as root)"
            )
        return {}
    if uid == 0 and gid == os.getegid():
        return {}
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = payload.get("user") or ""
    try:
        groups = os.getgrouplist(name, gid) if name else [gid]
    except OSError:
        groups = [gid]
    # extra_groups always: without it the child would keep root's groups.
    return {"user": uid, "group": gid, "extra_groups": groups}


def _path(value: str | None, cwd: str, default: str) -> str:
    path = value or default
    return path if os.path.isabs(path) else os.path.join(cwd, path)


def _job_dir(payload: LaunchPayload, spool_dir: Path, run_as: dict[str, object]) -> Path:
    # The directory stays the agent's (0711: the user may only pass through);
    # the script in it is the user's (0700).
    job_dir = spool_dir / f"job{payload['job_id']:05d}"
    job_dir.mkdir(mode=0o711, parents=True, exist_ok=True)
    job_dir.chmod(0o711 if run_as else 0o700)
    script = job_dir / "slurm_script"
    fd = os.open(script, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o700)
    with os.fdopen(fd, "w") as f:
        f.write(payload["script"])
        os.fchmod(f.fileno(), 0o700)
        if run_as:
            os.fchown(f.fileno(), payload["uid"], payload["gid"])
    return job_dir


def launch(
    payload: LaunchPayload,
    *,
    spool_dir: Path,
    node: str,
    use_cgroups: bool = False,
    slurm_conf: str | None = None,
) -> Spawned:
    """Start the job's batch script; raise LaunchError when it cannot start."""
    job_id = payload["job_id"]
    run_as = _run_as(payload)
    cwd = payload.get("cwd") or "/"
    out = _path(payload.get("stdout"), cwd, f"slurm-{job_id}.out")
    err = _path(payload.get("stderr"), cwd, out) if payload.get("stderr") else ""
    stdin = _path(payload.get("stdin"), cwd, "/dev/null")
    mode = "append" if payload.get("open_mode") == "append" else "truncate"
    job_dir = _job_dir(payload, spool_dir, run_as)
    cgroup = None
    if use_cgroups:
        try:
            cgroup = JobCgroup.create(
                job_id, cpus=payload.get("cpus"), mem_mb=payload.get("mem_mb")
            )
        except OSError as exc:
            log.warning("job %s: no cgroup (%s); using the watchdog", job_id, exc)
    gate_r, gate_w = os.pipe() if cgroup else (-1, -1)
    argv = [
        "/bin/sh", "-c", _STEPD, "slurmstepd", str(job_dir / "slurm_script"),
        out, "" if err == out else err, stdin, mode, cwd, "1" if cgroup else "0",
        *[str(a) for a in payload.get("argv") or []],
    ]  # fmt: skip
    start = time.time()
    try:
        with open(job_dir / "slurmstepd.log", "ab") as stepd_log:
            popen = subprocess.Popen(  # type: ignore[call-overload]
                argv,
                env=job_environment(payload, node, slurm_conf),
                cwd="/",
                stdin=subprocess.DEVNULL,
                stdout=stepd_log,
                stderr=stepd_log,
                start_new_session=True,
                close_fds=True,
                pass_fds=(gate_r,) if cgroup else (),
                **run_as,
            )
    except (OSError, subprocess.SubprocessError) as exc:
        if cgroup:
            cgroup.remove()
        raise LaunchError(f"cannot start job {job_id}: {exc}") from exc
    finally:
        if cgroup:
            os.close(gate_r)
    assert isinstance(popen, subprocess.Popen)
    if cgroup:
        try:
            cgroup.add(popen.pid)
        except OSError as exc:
            log.warning("job %s: cannot join cgroup %s: %s", job_id, cgroup.path, exc)
        with contextlib.suppress(OSError):
            os.write(gate_w, b"go\n")
        os.close(gate_w)
    try:
        create_time = psutil.Process(popen.pid).create_time()
    except psutil.Error:
        create_time = start
    return Spawned(job_id, popen.pid, start, create_time, job_dir, popen, cgroup)
