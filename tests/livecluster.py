"""Start a real Drover cluster as separate processes, for end-to-end tests and benchmarks.

Production mode when PostgreSQL and Redis answer on 127.0.0.1 (as in CI): a
fresh database ``drover_live_<pid>_<n>``, ``drover migrate``, ``drover
import-conf``, ``drover createuser``, ``drover token``, then ``drover web``
(uvicorn), ``drover worker -B`` (Celery worker with beat) and one
``drover-nodeagent`` per node. Otherwise the embedded ``drover up``. Either way
the real console scripts (``sbatch``, ``squeue``, ...) talk to it through
``DROVER_URL``/``DROVER_TOKEN`` and a client config in a temporary
``XDG_CONFIG_HOME``; logs stay in the cluster's temporary directory.

Used by tests/conftest.py (the ``live_cluster`` fixture) and bench/*.py.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_PREFIX = "drover_live_"
_counter = 0


def listening(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def production_available() -> bool:
    return listening(5432) and listening(6379)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cluster_conf(nodes: int, cpus: int, memory_mb: int, extra: str = "",
              partition_state: str = "UP") -> str:
    """The live cluster's slurm.conf: KillWait=1 so cancels and timeouts end fast."""
    names = "n1" if nodes == 1 else f"n[1-{nodes}]"
    return (
        "ClusterName=drover\n"
        "SlurmctldHost=localhost\n"
        "KillWait=1\n"
        "MinJobAge=600\n"
        f"NodeName={names} CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN\n"
        f"PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State={partition_state}\n"
        + extra
    )


def _clean_env() -> dict[str, str]:
    """The caller's environment without anything that points at another cluster."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DROVER_", "SLURM_", "SBATCH_", "SRUN_", "SQUEUE_", "SACCT_"))
           and k not in {"DJANGO_SETTINGS_MODULE", "PYTEST_CURRENT_TEST"}}
    # Where pip put the commands' launchers: beside the interpreter as the environment
    # names it, not as it was started (``/usr/local/bin/py``, a symlink, has no ``squeue``
    # beside it, and PATH would then find pyenv's shim: 60 ms more a command).
    bindir = sysconfig.get_path("scripts")
    env["PATH"] = os.pathsep.join(dict.fromkeys(
        [bindir, str(Path(sys.executable).parent), *env.get("PATH", "").split(os.pathsep)]))
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH")
                                     else "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class LiveCluster:
    """A running cluster: its URL, a login, and helpers to run commands against it."""

    mode: str
    root: Path
    url: str = ""
    username: str = ""
    password: str = ""
    token: str = ""
    env: dict[str, str] = field(default_factory=dict)
    node_names: list[str] = field(default_factory=list)
    database: str = ""
    redis_db: int | None = None
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict)

    # -- layout ------------------------------------------------------------
    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    @property
    def workdir(self) -> Path:
        return self.root / "work"

    # -- commands ----------------------------------------------------------
    def run(self, cmd: Sequence[str], *, input: str | None = None, timeout: float = 60,
            cwd: Path | str | None = None, env: dict[str, str] | None = None,
            ) -> subprocess.CompletedProcess[str]:
        """Run a real command (``["sbatch", "--wrap", "true"]``) as a user of this cluster."""
        return subprocess.run(list(cmd), input=input, capture_output=True, text=True,
                              timeout=timeout, cwd=str(cwd or self.workdir),
                              env={**self.env, **(env or {})}, check=False)

    def sbatch(self, *args: str, input: str | None = None, cwd: Path | str | None = None) -> int:
        """Submit with ``sbatch --parsable ...``; the job id."""
        cp = self.run(["sbatch", "--parsable", *args], input=input, cwd=cwd)
        if cp.returncode != 0:
            raise AssertionError(f"sbatch {' '.join(args)} failed ({cp.returncode}): "
                                 f"{cp.stderr}\n{self.log_tails()}")
        return int(cp.stdout.strip().split(";")[0])

    # -- REST API ----------------------------------------------------------
    def api(self, method: str, path: str, body: Any = None, *, token: str | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {token or self.token}",
            "Content-Type": "application/json", "Accept": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def job(self, job_id: int | str) -> dict[str, Any] | None:
        """The job record, or None when the controller does not know the id."""
        try:
            record: dict[str, Any] = self.api("GET", f"/api/jobs/{job_id}/")
            return record
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def wait_state(self, job_id: int | str, states: str | Iterable[str],
                   timeout: float = 60) -> dict[str, Any]:
        """Poll until the job is in one of ``states``; its record. Fails with the logs' tails."""
        wanted = {states} if isinstance(states, str) else set(states)
        deadline = time.monotonic() + timeout
        record: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            record = self.job(job_id)
            if record is not None and record.get("state") in wanted:
                return record
            time.sleep(0.2)
        raise AssertionError(
            f"job {job_id} not in {sorted(wanted)} after {timeout:.0f} s; last record: "
            f"{json.dumps(record, indent=1)[:3000]}\n{self.log_tails()}")

    def wait_nodes(self, timeout: float = 60) -> None:
        """Until every node has registered (its state is no longer UNKNOWN or DOWN)."""
        deadline = time.monotonic() + timeout
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            self.check_alive()
            with contextlib.suppress(OSError, ValueError):
                nodes = self.api("GET", "/api/nodes/")["nodes"]
                states = {n["name"]: n["state"] for n in nodes}
                if states and all(s not in {"UNKNOWN", "DOWN", "DOWN*"}
                                  for s in states.values()):
                    return
            time.sleep(0.3)
        raise RuntimeError(f"nodes did not come up in {timeout:.0f} s: {states}\n"
                           + self.log_tails())

    def wait_http(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                self.api("GET", "/api/ping/")
                return
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}: {exc.read()[:300]!r}"
            except (OSError, ValueError) as exc:
                last = str(exc)
            time.sleep(0.2)
        raise RuntimeError(f"the server at {self.url} did not answer in {timeout:.0f} s "
                           f"({last})\n{self.log_tails()}")

    # -- processes and logs ----------------------------------------------
    def spawn(self, name: str, cmd: Sequence[str]) -> subprocess.Popen[bytes]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(list(cmd), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=self.env,
                                    cwd=str(self.root), start_new_session=True)
        self.procs[name] = proc
        self.commands[name] = list(cmd)
        return proc

    def stop_one(self, name: str, timeout: float = 60) -> float:
        """SIGTERM process ``name`` alone; the seconds it took to exit."""
        proc = self.procs[name]
        start = time.monotonic()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout)
        return time.monotonic() - start

    def restart(self, name: str) -> subprocess.Popen[bytes]:
        """Start process ``name`` again, with the command it was first started with."""
        return self.spawn(name, self.commands[name])

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with status {proc.returncode}\n"
                                   + self.log_tails())

    def log_tails(self, lines: int = 40) -> str:
        out = []
        for path in sorted(self.log_dir.glob("*.log")) if self.log_dir.exists() else []:
            text = path.read_text(errors="replace").splitlines()[-lines:]
            if text:
                out.append(f"----- {path} (last {len(text)} lines)\n" + "\n".join(text))
        return "\n".join(out) or "(no server logs)"

    def stop(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL), drop the database and Redis db."""
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(list(self.procs.values())):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # Jobs are in the agents' process groups or sessions of their own: sweep ours.
        self.procs.clear()
        if self.database:
            _drop_database(self.database)
            self.database = ""
        if self.redis_db is not None:
            _flush_redis(self.redis_db)
            self.redis_db = None


# -- PostgreSQL and Redis housekeeping -------------------------------------------

def _pg_admin() -> Any:
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True)


def _drop_database(name: str) -> None:
    with contextlib.suppress(Exception), _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _drop_stale_databases() -> None:
    """Databases of earlier runs whose process is gone (a killed pytest leaves them)."""
    with contextlib.suppress(Exception), _pg_admin() as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                            (DB_PREFIX + "%",)).fetchall()
    for (name,) in rows:
        pid = name[len(DB_PREFIX):].split("_")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            _drop_database(name)


def _create_database() -> str:
    global _counter
    _counter += 1
    name = f"{DB_PREFIX}{os.getpid()}_{_counter}"
    _drop_stale_databases()
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def _flush_redis(db: int) -> None:
    with contextlib.suppress(Exception):
        import redis

        redis.Redis(host="127.0.0.1", port=6379, db=db).flushdb()


# -- starting ---------------------------------------------------------------------

def _drover(cluster: LiveCluster, *args: str, timeout: float = 180) -> str:
    cp = subprocess.run([sys.executable, "-m", "drover.cli.drover", *args], env=cluster.env,
                        capture_output=True, text=True, timeout=timeout, cwd=str(cluster.root),
                        check=False)
    with (cluster.log_dir / "setup.log").open("a") as log:
        log.write(f"$ drover {' '.join(args)}\n{cp.stdout}{cp.stderr}--- exit {cp.returncode}\n")
    if cp.returncode != 0:
        raise RuntimeError(f"drover {' '.join(args)} failed ({cp.returncode}):\n"
                           f"{cp.stdout}{cp.stderr}")
    return cp.stdout


def _write_client_conf(cluster: LiveCluster) -> None:
    conf_dir = cluster.root / "config" / "drover"
    conf_dir.mkdir(parents=True, exist_ok=True)
    path = conf_dir / "client.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"url": cluster.url, "token": cluster.token}, f)


def _start_production(cluster: LiveCluster, conf: Path, nodes: list[tuple[str, int, int]],
                      celery_concurrency: int) -> None:
    cluster.database = _create_database()
    cluster.redis_db = 1 + os.getpid() % 13 + (_counter % 2)  # 1..14; tests use 15
    _flush_redis(cluster.redis_db)
    cluster.env["DROVER_DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{cluster.database}"
    cluster.env["DROVER_REDIS_URL"] = f"redis://127.0.0.1:6379/{cluster.redis_db}"
    _drover(cluster, "migrate")
    _drover(cluster, "import-conf", str(conf))
    _drover(cluster, "createuser", cluster.username, "--operator", "--password", cluster.password)
    out = _drover(cluster, "token", cluster.username, "--lifespan", str(7 * 24 * 3600))
    cluster.token = out.strip().split("=", 1)[1]
    port = free_port()
    cluster.url = f"http://127.0.0.1:{port}"
    cluster.spawn("web", [sys.executable, "-m", "drover.cli.drover", "web",
                          "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"])
    cluster.spawn("worker", [sys.executable, "-m", "drover.cli.drover", "worker",
                             "--loglevel", "warning", "-B", "--pool", "threads",
                             "--concurrency", str(celery_concurrency),
                             "--schedule", str(cluster.root / "celerybeat-schedule")])
    key_file = cluster.state_dir / "cluster.key"
    for name, cpus, mem in nodes:
        (cluster.state_dir / "spool" / name).mkdir(parents=True, exist_ok=True)
        cluster.spawn(f"agent-{name}", [
            sys.executable, "-m", "nodeagent", "--controller", cluster.url, "--node", name,
            "--key-file", str(key_file), "--spool-dir", str(cluster.state_dir / "spool" / name),
            "--cpus", str(cpus), "--memory", str(mem), "--slurm-conf", str(conf)])


def _start_embedded(cluster: LiveCluster, conf: Path) -> None:
    port = free_port()
    cluster.url = f"http://127.0.0.1:{port}"
    cluster.spawn("drover-up", [sys.executable, "-m", "drover.cli.drover", "up",
                                "--port", str(port), "--state-dir", str(cluster.state_dir),
                                "--conf", str(conf)])
    client = cluster.root / "config" / "drover" / "client.json"
    pw_file = cluster.state_dir / "portal-password"
    deadline = time.monotonic() + 120
    while not (client.exists() and pw_file.exists()):
        cluster.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError("drover up wrote no client config\n" + cluster.log_tails())
        time.sleep(0.2)
    time.sleep(0.2)  # the file is written in one go, but let the writer close it
    cluster.token = json.loads(client.read_text())["token"]
    cluster.password = pw_file.read_text().strip()


def start_cluster(*, nodes: int = 2, cpus: int | None = None, memory_mb: int = 4000,
                  mode: str = "auto", extra_conf: str = "", root: Path | None = None,
                  celery_concurrency: int = 4, wait_nodes: bool = True,
                  partition_state: str = "UP") -> LiveCluster:
    """Start a cluster of ``nodes`` emulated nodes; mode "auto", "production" or "embedded"."""
    if mode == "auto":
        mode = "production" if production_available() else "embedded"
    root = root or Path(tempfile.mkdtemp(prefix="drover-live-"))
    cluster = LiveCluster(mode=mode, root=root, username=getpass.getuser(),
                          password="live-" + os.urandom(6).hex())
    for d in (cluster.state_dir, cluster.log_dir, cluster.workdir):
        d.mkdir(parents=True, exist_ok=True)
    cluster.env = _clean_env()
    cluster.env.update({"DROVER_STATE_DIR": str(cluster.state_dir),
                        "XDG_CONFIG_HOME": str(root / "config"),
                        "DJANGO_SETTINGS_MODULE": "portal.settings"})
    cpus = cpus or max(2, os.cpu_count() or 2)
    conf = root / "slurm.conf"
    conf.write_text(cluster_conf(nodes, cpus, memory_mb, extra_conf, partition_state))
    names = ["n1"] if nodes == 1 else [f"n{i}" for i in range(1, nodes + 1)]
    cluster.node_names = names
    try:
        if mode == "production":
            _start_production(cluster, conf, [(n, cpus, memory_mb) for n in names],
                              celery_concurrency)
        else:
            _start_embedded(cluster, conf)
        cluster.env["DROVER_URL"] = cluster.url
        cluster.env["DROVER_TOKEN"] = cluster.token
        _write_client_conf(cluster)
        cluster.wait_http()
        if wait_nodes:
            cluster.wait_nodes()
    except BaseException:
        tails = cluster.log_tails()
        cluster.stop()
        sys.stderr.write(f"live cluster failed to start; logs in {cluster.log_dir}\n{tails}\n")
        raise
    return cluster


@contextlib.contextmanager
def running_cluster(**kwargs: Any) -> Iterator[LiveCluster]:
    """``with running_cluster(nodes=2) as c:`` — stopped (and its database dropped) after."""
    cluster = start_cluster(**kwargs)
    try:
        yield cluster
    finally:
        cluster.stop()
        if os.environ.get("DROVER_KEEP_LIVE") != "1":
            shutil.rmtree(cluster.root, ignore_errors=True)
