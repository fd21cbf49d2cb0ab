"""``drover-nodeagent`` / ``python -m nodeagent``: run the node agent."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from types import FrameType

from nodeagent import hardware, protocol
from nodeagent.agent import Agent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="drover-nodeagent", description="Drover node agent (slurmd)")
    p.add_argument(
        "--controller",
        default=os.environ.get("DROVER_URL"),
        help="controller URL (default: $DROVER_URL)",
    )
    p.add_argument(
        "--node",
        default=socket.gethostname().split(".")[0],
        help="node name (default: the short host name)",
    )
    p.add_argument(
        "--key-file",
        default=os.environ.get("DROVER_KEY_FILE"),
        help="cluster key file, mode 0400 (default: $DROVER_KEY_FILE)",
    )
    p.add_argument(
        "--spool-dir",
        default=None,
        help="state directory (default: /var/spool/drover/<node> as root, "
        "else ~/.local/state/drover/<node>)",
    )
    p.add_argument("--cpus", type=int, help="CPUs to offer (default: detected)")
    p.add_argument("--memory", type=int, metavar="MB", help="memory to offer (default: detected)")
    p.add_argument("--gres", help="generic resources, e.g. gpu:h100:4 (default: detected)")
    p.add_argument("--features", default="", help="node features, comma separated")
    p.add_argument(
        "--slurm-conf",
        default=os.environ.get("DROVER_SLURM_CONF"),
        metavar="PATH",
        help="the slurm.conf the cluster was configured from, given to jobs as SLURM_CONF "
        "(default: $DROVER_SLURM_CONF; unset: no SLURM_CONF)",
    )
    p.add_argument("--wait", type=float, default=20.0, help=argparse.SUPPRESS)
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = p.parse_args(argv)
    if not args.controller:
        p.error("no controller: give --controller URL or set DROVER_URL")
    if not args.key_file:
        p.error("no cluster key: give --key-file PATH or set DROVER_KEY_FILE")
    return args


def _spool_dir(arg: str | None, node: str) -> Path:
    if arg:
        return Path(arg)
    if os.geteuid() == 0:
        return Path("/var/spool/drover") / node
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return Path(base) / "drover" / node


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    log = logging.getLogger("nodeagent")
    try:
        key = protocol.load_key(args.key_file)
    except protocol.KeyFileError as exc:
        print(f"drover-nodeagent: error: {exc}", file=sys.stderr)
        return 1
    hw = hardware.detect(
        cpus=args.cpus, memory_mb=args.memory, gres=args.gres, features=args.features
    )
    try:
        agent = Agent(
            url=args.controller, key=key, node=args.node,
            spool_dir=_spool_dir(args.spool_dir, args.node), hardware=hw, wait_s=args.wait,
            slurm_conf=os.path.abspath(args.slurm_conf) if args.slurm_conf else None,
        )  # fmt: skip
    except (ValueError, OSError) as exc:
        print(f"drover-nodeagent: error: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    restart = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: stopping; running jobs are left running", signal.strsignal(signum))
        stop.set()

    def on_hangup(_signum: int, _frame: FrameType | None) -> None:
        log.info("hangup received: restarting in place; running jobs stay its children")
        restart.set()
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_hangup)
    log.info(
        "node %s: %d CPUs, %d MB, gres %r, controller %s, cgroups %s",
        args.node, hw.cpus, hw.real_memory_mb, hw.gres or "(null)", args.controller,
        "v2" if agent.use_cgroups else "off (psutil watchdog)",
    )  # fmt: skip
    agent.run(stop)
    if restart.is_set():
        # The same process, new code and configuration: the jobs it started stay its
        # children, so the next image reads their exit status (a stop and a start
        # cannot: an orphaned job's status goes to init).
        os.execv(sys.executable, sys.orig_argv)  # noqa: S606 - this very command again
    return 0


if __name__ == "__main__":
    sys.exit(main())
