"""Helpers shared by the benchmarks: a cluster of their own, timed commands, result lines.

Every benchmark starts a fresh cluster with tests/livecluster.py (production
mode when PostgreSQL and Redis answer, else embedded ``drover up``), prints
one ``RESULT <name> key=value ...`` line per figure, and appends the same as
JSON to bench/out/results.jsonl.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.livecluster import LiveCluster  # noqa: E402
from tests.livecluster import running_cluster as _running_cluster  # noqa: E402

OUT = REPO / "bench" / "out"

__all__ = ["LiveCluster", "running_cluster", "result", "timed", "median_ms", "sbatch_many",
           "api_submit_many", "api_clients_submit", "wait_all_finished", "load_average",
           "command_costs", "CpuMeter"]


def running_cluster(**kwargs: Any) -> Any:
    """tests.livecluster's, in the mode ``DROVER_BENCH_MODE`` names (auto, production,
    embedded; auto = production when PostgreSQL and Redis answer).

    The client packages are byte-compiled first, as ``pip install`` does: with
    ``PYTHONDONTWRITEBYTECODE`` set (as on our CI machines) every command would
    otherwise compile its modules at each start.
    """
    import compileall
    import signal

    compileall.compile_dir(str(REPO / "drover"), quiet=2)
    # `timeout` ends a benchmark with SIGTERM: exit through the cluster's cleanup, not past
    # it (a `drover up` would be left running and skew every later figure).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    kwargs.setdefault("mode", os.environ.get("DROVER_BENCH_MODE", "auto"))
    return _running_cluster(**kwargs)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def result(name: str, cluster: LiveCluster | None = None, **metrics: Any) -> None:
    """Print ``RESULT name k=v ...`` and keep it in bench/out/results.jsonl."""
    fields = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in metrics.items())
    mode = cluster.mode if cluster else "-"
    print(f"RESULT {name} mode={mode} {fields}", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "results.jsonl").open("a") as f:
        f.write(json.dumps({"name": name, "mode": mode, "time": time.time(),
                            "host": platform.node(), "cpus": os.cpu_count(), **metrics}) + "\n")


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def server_cpu_s(cluster: LiveCluster) -> float:
    """CPU seconds used so far by the process that answers the API: ``drover web``
    in production, ``drover up`` (which also runs the scheduling loop) embedded."""
    import psutil

    proc = cluster.procs.get("web") or cluster.procs["drover-up"]
    t = psutil.Process(proc.pid).cpu_times()
    return t.user + t.system


class CpuMeter:
    """CPU seconds spent between ``start()`` and ``per_job(n)``: by each cluster process
    (``web``, ``worker``, ``drover-up``, agents), by the bench process's finished
    children (the sbatch processes) and by the bench process itself (API client
    threads). Reported per job, in ms."""

    def __init__(self, cluster: LiveCluster) -> None:
        self.cluster = cluster
        self.start()

    def _now(self) -> dict[str, float]:
        import psutil

        out: dict[str, float] = {}
        for name, proc in self.cluster.procs.items():
            try:
                t = psutil.Process(proc.pid).cpu_times()
            except psutil.NoSuchProcess:
                continue
            out[name.replace("-", "_")] = t.user + t.system
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        me = resource.getrusage(resource.RUSAGE_SELF)
        out["commands"] = children.ru_utime + children.ru_stime
        out["bench"] = me.ru_utime + me.ru_stime
        return out

    def start(self) -> None:
        self._t0 = self._now()

    def per_job(self, jobs: int) -> dict[str, float]:
        now = self._now()
        return {f"cpu_ms_per_job_{k}": round((now[k] - self._t0.get(k, now[k])) / jobs * 1000, 2)
                for k in now}


def command_costs(cluster: LiveCluster, cmd: Sequence[str], runs: int,
                  cwd: Path | None = None) -> dict[str, float]:
    """Run ``cmd`` ``runs`` times: median and 95th-percentile wall ms, median CPU ms of
    the command itself (its rusage), and the API server's CPU ms per run. The CPU
    figures hold up on a shared machine where wall times mostly measure the wait for
    a core."""
    walls: list[float] = []
    cpus: list[float] = []
    server0 = server_cpu_s(cluster)
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)  # µs, not os.times()' ticks
        walls.append(timed(lambda: run_ok(cluster, cmd, cwd=cwd)))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    server = (server_cpu_s(cluster) - server0) / runs
    return {"wall_ms": median_ms(walls), "cpu_ms": median_ms(cpus),
            "p95_ms": sorted(walls)[int(len(walls) * 0.95)] * 1000,
            "server_cpu_ms": server * 1000}


def median_ms(samples: Sequence[float]) -> float:
    return statistics.median(samples) * 1000


def run_ok(cluster: LiveCluster, cmd: Sequence[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    cp = cluster.run(cmd, **kw)
    if cp.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({cp.returncode}): {cp.stderr}\n"
                         + cluster.log_tails())
    return cp


def sbatch_many(cluster: LiveCluster, total: int, clients: int,
                args: Sequence[str] = ("--wrap", "true")) -> tuple[float, list[int]]:
    """Submit ``total`` jobs with the real sbatch from ``clients`` parallel clients.

    Returns the elapsed wall time and the job ids.
    """
    ids: list[int] = []
    lock = threading.Lock()
    per_client = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]
    work = cluster.workdir / "jobs"
    work.mkdir(exist_ok=True)

    def client(n: int) -> None:
        for _ in range(n):
            cp = run_ok(cluster, ["sbatch", "--parsable", "-o", "/dev/null", *args], cwd=work)
            with lock:
                ids.append(int(cp.stdout.strip().split(";")[0]))

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for f in [pool.submit(client, n) for n in per_client]:
            f.result()
    return time.perf_counter() - t0, ids


def api_clients_submit(cluster: LiveCluster, total: int, clients: int,
                       args: Sequence[str] = ("--wrap", "true")) -> tuple[float, list[int]]:
    """Submit ``total`` jobs from ``clients`` threads, each keeping one HTTP connection
    (drover.api.Client, as sbatch uses it) and POSTing the job description sbatch
    would build from ``args``. Returns the elapsed wall time and the job ids."""
    from drover import jobopts
    from drover.api import Client
    from drover.clientconf import ClientConf

    work = cluster.workdir / "jobs"
    work.mkdir(exist_ok=True)
    env = {**cluster.env, "PWD": str(work)}
    desc = jobopts.parse_sbatch(["--parsable", "-o", "/dev/null", *args], None, env,
                                str(work)).job_desc
    per_client = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]
    ids: list[int] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        api = Client(ClientConf(cluster.url, cluster.token))
        mine = [int(api.post("/api/jobs/", desc)["job_id"]) for _ in range(n)]
        api.close()
        with lock:
            ids.extend(mine)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for f in [pool.submit(client, n) for n in per_client]:
            f.result()
    return time.perf_counter() - t0, ids


def api_submit_many(cluster: LiveCluster, total: int, threads: int = 8,
                    **options: Any) -> list[int]:
    """Put ``total`` jobs in the system through the REST API (set-up, not measured)."""
    body = {"script": "#!/bin/sh\ntrue\n", "cwd": str(cluster.workdir), "argv": [],
            "environment": {"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            "stdout": "/dev/null", "name": "bench", **options}

    def one(_: int) -> int:
        return int(cluster.api("POST", "/api/jobs/", body)["job_id"])

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(total)))


def wait_all_finished(cluster: LiveCluster, timeout: float) -> None:
    """Until no job is pending, running or completing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        active = cluster.api("GET", "/api/jobs/?state=PD,R,CG,S")["jobs"]
        if not active:
            return
        time.sleep(0.5)
    raise SystemExit(f"jobs still active after {timeout:.0f} s\n" + cluster.log_tails())
