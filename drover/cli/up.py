"""``drover up``: a whole cluster on this machine, in the foreground.

One process holds the ASGI server (portal, REST API, agent endpoints) in the
main thread and the scheduling loop in a thread; the emulated nodes are
node-agent subprocesses. State (a SQLite file, the cluster key, the generated
slurm.conf, the operator's password) lives in the state dir, so a restart
carries on where the last run stopped.

Django is imported only inside functions: ``drover --help`` must stay fast.
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import os
import secrets
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from drover.cli.embedded import (
    AgentPool,
    EmulatedNode,
    generated_conf,
    generated_node_count,
    host_resources,
)

PASSWORD_FILE = "portal-password"  # noqa: S105 (a file name)
CLIENT_TOKEN_LIFESPAN_S = 10 * 365 * 24 * 3600
WILDCARD_HOSTS = {"0.0.0.0", "::", ""}
SHUTDOWN_GRACE_S = 5  # requests still running at a stop get this long to end (drover web too)


class _Stop(Exception):
    """Raised by the SIGTERM handler so that cleanup runs as it does for Ctrl-C."""


def default_state_dir() -> Path:
    import platformdirs

    return Path(os.environ.get("DROVER_STATE_DIR") or platformdirs.user_data_dir("drover"))


def _server(module: str) -> Any:
    """A module of the server side, imported by name.

    The client package is type-checked strictly on its own; importing the
    Django side by name keeps mypy from walking into it from here.
    """
    return importlib.import_module(module)


def setup_django() -> None:
    """Configure Django from the DROVER_* environment (portal/settings.py reads it)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    _server("django").setup()


def migrate() -> None:
    settings = _server("django.conf").settings
    call_command = _server("django.core.management").call_command
    call_command("migrate", interactive=False, verbosity=0)
    static_dirs = [Path(d) for d in getattr(settings, "STATICFILES_DIRS", [])]
    if any(d.is_dir() for d in static_dirs):
        call_command("collectstatic", interactive=False, verbosity=0)


def ensure_user(username: str, *, operator: bool = False, password: str | None = None) -> bool:
    """Create the Django user ``username`` if missing; returns True if it was created.

    ``operator`` makes it staff (operators see and manage every job); a given
    ``password`` replaces the old one. A new user without a password can only
    use tokens.
    """
    user_model = _server("django.contrib.auth.models").User
    user, created = user_model.objects.get_or_create(username=username)
    changed = created
    if operator and not user.is_staff:
        user.is_staff = True
        changed = True
    if password is not None:
        user.set_password(password)
        changed = True
    elif created:
        user.set_unusable_password()
    if changed:
        user.save()
    return bool(created)


def mint_token(username: str, lifespan_s: int) -> str:
    return str(_server("portal.api.auth").mint_token(username, lifespan_s))


def load_conf(path: Path) -> Any:
    """Parse a slurm.conf; raises SystemExit with ``file:line: problem`` when it is wrong."""
    from drover.slurmconf import SlurmConfError, load

    try:
        return load(path)
    except SlurmConfError as exc:
        raise SystemExit(f"drover: error: {exc}") from None
    except OSError as exc:
        raise SystemExit(f"drover: error: {path}: {exc.strerror}") from None


def import_conf(conf: Any) -> Any:
    """Store a parsed slurm.conf; SystemExit with ``file:line: problem`` (nothing kept) when
    the database cannot hold what it says."""
    actions = _server("scheduler.actions.config")
    try:
        return actions.do_import_slurm_conf(conf)
    except actions.ConfigImportError as exc:
        raise SystemExit(f"drover: error: {exc}") from None


def _choose_conf(args: argparse.Namespace, state_dir: Path) -> Path:
    """--conf as given, else the state dir's generated file (written on first start)."""
    if args.conf:
        return Path(args.conf).resolve()
    path = state_dir / "slurm.conf"
    wanted = args.nodes
    if path.exists():
        current = generated_node_count(path.read_text())
        if wanted is None or current is None or current == wanted:
            return path
    cpus, memory_mb = host_resources()
    path.write_text(generated_conf(wanted or 2, cpus, memory_mb))
    return path


def _emulated_nodes(conf: Any) -> list[EmulatedNode]:
    def text(value: Any) -> str:
        if isinstance(value, list | tuple | set | frozenset):
            return ",".join(str(v) for v in value)
        return str(value or "")

    return [EmulatedNode(name=n.name, cpus=int(n.cpus), memory_mb=int(n.real_memory_mb),
                         gres=text(getattr(n, "gres", "")),
                         features=text(getattr(n, "features", ""))) for n in conf.nodes]


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _operator_password(state_dir: Path, username: str) -> str:
    """The portal password of the invoking user: generated once, kept in the state dir (0600)."""
    path = state_dir / PASSWORD_FILE
    if path.exists():
        password = path.read_text().strip()
        ensure_user(username, operator=True)
        return password
    password = secrets.token_urlsafe(12)
    ensure_user(username, operator=True, password=password)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    return password


def _watch_agents(pool: AgentPool, log_dir: Path, stop: threading.Event) -> None:
    """Say once, on stderr, when an agent dies: its node would otherwise just go DOWN."""
    reported: set[str] = set()
    while not stop.wait(2.0):
        for name, rc in pool.dead().items():
            if name not in reported:
                reported.add(name)
                print(f"drover: node agent {name} exited with status {rc}; "
                      f"see {log_dir / f'agent-{name}.log'}", file=sys.stderr, flush=True)


def _prepare_scheduler() -> None:
    """Compile the scheduler's backfill kernels (numba) before serving: the first start
    after an install takes about 10 s, later ones load them from the cache. Done in
    the first cycle instead, the compile would hold the interpreter while the server
    and the node agents are starting, and the agents would back off."""
    done = threading.Event()

    def note() -> None:
        if not done.wait(2.0):
            print("drover: compiling the scheduler (first start only, about 10 s) ...",
                  flush=True)

    threading.Thread(target=note, name="compile-note", daemon=True).start()
    _server("scheduler.core.cycle").warm_up()
    done.set()


def _banner(url: str, username: str, password: str, state_dir: Path, conf_path: Path,
            nodes: list[EmulatedNode]) -> str:
    names = ", ".join(n.name for n in nodes[:6]) + (", ..." if len(nodes) > 6 else "")
    return (
        f"Drover is up: {url}/\n"
        f"  portal login  {username} / {password}\n"
        f"  nodes         {len(nodes)} emulated ({names})\n"
        f"  slurm.conf    {conf_path}\n"
        f"  state         {state_dir} (logs in {state_dir / 'log'})\n"
        f"  commands      sbatch, squeue, scancel, sinfo, sacct, scontrol use this cluster\n"
        "Press Ctrl-C to stop.\n"
    )


def run(args: argparse.Namespace) -> int:
    import signal

    state_dir = Path(args.state_dir or default_state_dir()).expanduser().resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    os.environ["DROVER_STATE_DIR"] = str(state_dir)
    host, port = args.host, args.port
    if not _port_free(host, port):
        print(f"drover: error: port {port} on {host} is in use; choose another with --port",
              file=sys.stderr)
        return 1

    setup_django()
    migrate()
    conf_path = _choose_conf(args, state_dir)
    conf = load_conf(conf_path)
    import_conf(conf)
    nodes = _emulated_nodes(conf)

    username = getpass.getuser()
    password = _operator_password(state_dir, username)
    local = "127.0.0.1" if host in WILDCARD_HOSTS else host
    url = f"http://{'[' + local + ']' if ':' in local else local}:{port}"
    from drover import clientconf

    clientconf.save(url, mint_token(username, CLIENT_TOKEN_LIFESPAN_S))

    settings = _server("django.conf").settings
    log_dir = state_dir / "log"
    pool = AgentPool(controller=url, key_file=Path(settings.KEY_FILE),
                     spool_root=state_dir / "spool", log_dir=log_dir, slurm_conf=conf_path)
    stop_watch = threading.Event()

    def on_started() -> None:  # in the server's event loop
        import asyncio

        _server("scheduler.events").send_on(asyncio.get_running_loop())
        pool.start(nodes)
        threading.Thread(target=_watch_agents, args=(pool, log_dir, stop_watch),
                         name="agent-watch", daemon=True).start()
        print(_banner(url, username, password, state_dir, conf_path, nodes), flush=True)

    def on_stopping() -> None:  # in the server's event loop, before it waits for requests
        stop_watch.set()
        pool.stop()  # ends the agents' parked long polls, which would hold the shutdown

    def on_sigterm(signum: int, frame: object) -> None:
        raise _Stop

    loop = _server("scheduler.loop")
    server = _make_server(host, port, on_started, on_stopping)
    signal.signal(signal.SIGTERM, on_sigterm)
    _prepare_scheduler()
    loop.start_loop()
    started = time.monotonic()
    try:
        server.run()
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        on_stopping()  # again if the server stopped without a shutdown: both are idempotent
        loop.stop_loop()
    if not server.started:
        print("drover: error: the server did not start", file=sys.stderr)
        return 1
    print(f"Drover stopped after {time.monotonic() - started:.0f} s; state kept in {state_dir}",
          flush=True)
    return 0


def _make_server(host: str, port: int, on_started: Any, on_stopping: Any) -> Any:
    """A uvicorn server that calls ``on_started`` once its socket is listening, and
    ``on_stopping`` as its shutdown begins: uvicorn then waits for the requests under
    way, and the agents' long polls stay parked for up to 20 s (Ctrl-C took that long).
    Requests still running after ``SHUTDOWN_GRACE_S`` are cancelled."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                on_started()

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            on_stopping()
            await super().shutdown(sockets)

    return Server(uvicorn.Config("portal.asgi:application", host=host, port=port,
                                 log_level="warning", lifespan="off",
                                 timeout_graceful_shutdown=SHUTDOWN_GRACE_S))
