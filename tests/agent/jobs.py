"""Tiny builders for the agent tests: a launch payload, a job run to its end."""

from __future__ import annotations

import os
import queue
import sys
from pathlib import Path
from typing import Any

from nodeagent.launcher import launch
from nodeagent.protocol import LaunchPayload
from nodeagent.step import Ending, Step


def payload(tmp: Path, script: str, job_id: int = 1, **over: Any) -> LaunchPayload:
    p: dict[str, Any] = {
        "job_id": job_id,
        "user": "root",
        "uid": os.getuid(),
        "gid": os.getgid(),
        "script": script,
        "argv": [],
        "env": {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHON": sys.executable},
        "cwd": str(tmp),
        "stdout": str(tmp / "out.txt"),
        "stderr": None,
        "stdin": None,
        "open_mode": "truncate",
        "time_limit_s": None,
        "cpus": 1,
        "mem_mb": None,
        "gpus": [],
        "kill_wait_s": 1,
    }
    p.update(over)
    return p  # type: ignore[return-value]


class Running:
    """A job started with launch() and supervised by a Step."""

    def __init__(self, tmp: Path, p: LaunchPayload, *, watchdog: bool = True,
                 slurm_conf: str | None = None) -> None:
        self.ended: queue.Queue[Ending] = queue.Queue()
        self.spawned = launch(p, spool_dir=tmp / "spool", node="n1", slurm_conf=slurm_conf)
        self.step = Step(
            self.spawned,
            on_end=lambda _s, e: self.ended.put(e),
            time_limit_s=p["time_limit_s"],
            kill_wait_s=p["kill_wait_s"],
            mem_mb=p["mem_mb"],
            watchdog=watchdog,
            sample_s=0.1,
        )
        self.step.start()

    def wait(self, timeout: float = 10.0) -> Ending:
        return self.ended.get(timeout=timeout)


def run(tmp: Path, script: str, **over: Any) -> Ending:
    return Running(tmp, payload(tmp, script, **over)).wait()
