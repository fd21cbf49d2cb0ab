"""``drover``: start a cluster, set one up, and run its production processes.

    drover up                 the embedded cluster, in the foreground (see up.py)
    drover import-conf FILE   read a slurm.conf into the database
    drover token [USER]       print SLURM_JWT=<jwt> (on the controller host)
    drover createuser USER    add a portal/API user
    drover migrate            create or upgrade the database
    drover web|worker|beat    the production processes (uvicorn, Celery worker, Celery beat)
    drover simulate TRACE     replay an SWF workload trace through the scheduling core

Nothing here imports Django at module level: the subcommands do, when they run.
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path


def _cmd_up(args: argparse.Namespace) -> int:
    from drover.cli import up

    return up.run(args)


def _cmd_import_conf(args: argparse.Namespace) -> int:
    from drover.cli import up

    up.setup_django()
    conf = up.load_conf(Path(args.file))
    summary = up.import_conf(conf)
    print(f"Imported {args.file}: {summary}")
    return 0


def _cmd_token(args: argparse.Namespace) -> int:
    from drover.cli import up

    up.setup_django()
    username = args.user or getpass.getuser()
    up.ensure_user(username)
    print(f"SLURM_JWT={up.mint_token(username, args.lifespan)}")
    return 0


def _cmd_createuser(args: argparse.Namespace) -> int:
    from drover.cli import up

    up.setup_django()
    password = args.password
    generated = password == ""
    if generated:
        password = secrets.token_urlsafe(12)
    created = up.ensure_user(args.user, operator=args.operator, password=password)
    role = "operator" if args.operator else "user"
    print(f"{'Created' if created else 'Updated'} {role} {args.user}"
          + (f" with password {password}" if generated else ""))
    return 0


def _cmd_migrate(args: argparse.Namespace) -> int:
    from drover.cli import up

    up.setup_django()
    up.migrate()
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from drover.cli import simulate

    return simulate.run(args)


def _exec(argv: list[str]) -> int:
    """Replace this process (systemd and docker then signal the real server directly)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, *argv])  # noqa: S606 (argv is a list, no shell)
    return 127  # not reached


def _cmd_web(args: argparse.Namespace) -> int:
    from drover.cli.up import SHUTDOWN_GRACE_S

    # The agents' long polls (up to 25 s) would hold a stop or restart of the web tier
    # that long; past the grace they are cut, and the agents poll the next server.
    return _exec(["-m", "uvicorn", "portal.asgi:application", "--host", args.host,
                  "--port", str(args.port), "--workers", str(args.workers),
                  "--lifespan", "off", "--proxy-headers",
                  "--timeout-graceful-shutdown", str(SHUTDOWN_GRACE_S), *args.extra])


def _cmd_worker(args: argparse.Namespace) -> int:
    return _exec(["-m", "celery", "-A", "portal", "worker", "--loglevel", args.loglevel,
                  *args.extra])


def _cmd_beat(args: argparse.Namespace) -> int:
    beat_state = Path(os.environ.get("DROVER_STATE_DIR") or ".") / "celerybeat-schedule"
    return _exec(["-m", "celery", "-A", "portal", "beat", "--loglevel", args.loglevel,
                  "--schedule", str(beat_state), *args.extra])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="drover", description="Drover, a Slurm-compatible workload manager.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("up", help="start a whole cluster on this machine (embedded mode)")
    p.add_argument("--nodes", type=int, default=None,
                   help="emulated nodes in the generated slurm.conf (default 2)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--state-dir", default=None,
                   help="database, cluster key, logs (default: $DROVER_STATE_DIR or the "
                        "user data dir)")
    p.add_argument("--conf", default=None, help="a slurm.conf to use instead of a generated one")
    p.set_defaults(func=_cmd_up)

    p = sub.add_parser("import-conf", help="read a slurm.conf into the database")
    p.add_argument("file")
    p.set_defaults(func=_cmd_import_conf)

    p = sub.add_parser("token", help="print SLURM_JWT=<token> for a user")
    p.add_argument("user", nargs="?", default=None, help="default: the invoking user")
    p.add_argument("--lifespan", type=int, default=24 * 3600, help="seconds (default 86400)")
    p.set_defaults(func=_cmd_token)

    p = sub.add_parser("createuser", help="add or update a portal/API user")
    p.add_argument("user")
    p.add_argument("--operator", action="store_true", help="may see and manage every job")
    p.add_argument("--password", nargs="?", const="", default=None,
                   help="set this password (without a value: generate and print one)")
    p.set_defaults(func=_cmd_createuser)

    p = sub.add_parser("migrate", help="create or upgrade the database")
    p.set_defaults(func=_cmd_migrate)

    p = sub.add_parser("web", help="production: the ASGI server (more options go to uvicorn)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.set_defaults(func=_cmd_web)

    p = sub.add_parser("simulate", help="replay an SWF workload trace through the scheduler")
    from drover.cli.simulate import add_arguments

    add_arguments(p)
    p.set_defaults(func=_cmd_simulate)

    for name, func, what in (("worker", _cmd_worker, "Celery worker (scheduling cycles)"),
                             ("beat", _cmd_beat, "Celery beat (the periodic timers)")):
        p = sub.add_parser(name, help=f"production: the {what} (more options go to celery)")
        p.add_argument("--loglevel", default="warning")
        p.set_defaults(func=func)
    return parser


PASS_THROUGH = {"web", "worker", "beat"}  # unknown options go to uvicorn / celery


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command not in PASS_THROUGH:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
