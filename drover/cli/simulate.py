"""``drover simulate TRACE.swf``: replay a workload trace through the scheduling core.

Prints a table (or ``--json``) of jobs, average wait, average bounded slowdown,
utilisation and makespan, overall and per user. See scheduler/sim/engine.py for
the event loop and what each ``--policy`` runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

# Light at import: ``drover`` builds this parser for every subcommand, so numpy and
# the core load only when a simulation runs.
POLICIES = ("fcfs", "easy", "backfill")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("trace", help="a Standard Workload Format file")
    p.add_argument("--nodes", type=int, default=None,
                   help="nodes of --cpus-per-node CPUs, each placed by the core (default: "
                        "the header's MaxProcs, else MaxNodes, as one pool of CPUs: a job "
                        "takes its N CPUs anywhere)")
    p.add_argument("--cpus-per-node", type=int, default=1)
    p.add_argument("--policy", choices=POLICIES, default="backfill",
                   help="fcfs (main pass only), easy (only the first blocked job reserves), "
                        "backfill (Slurm: every examined job reserves; default)")
    p.add_argument("--priority", choices=("age", "multifactor"), default="age")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="bf_interval (s, 0 = every event), bf_window (min), bf_resolution "
                        "(s), bf_max_job_user, PriorityWeight*, PriorityMaxAge ...")
    p.add_argument("--conf", default=None, help="read those parameters from a slurm.conf")
    p.add_argument("--limit", type=int, default=None, help="only the first N jobs")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _params(args: argparse.Namespace) -> dict[str, str]:
    from scheduler.sim import params

    out: dict[str, str] = {}
    if args.conf:
        from drover.slurmconf import load

        out.update(params.from_conf(load(args.conf)))
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise params.ParamError(f"--param {item!r}: expected KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def simulate(args: argparse.Namespace) -> dict[str, Any]:
    """Run the simulation ``args`` describe; the figures as a JSON-ready dict."""
    from scheduler.core.types import SchedConfig
    from scheduler.sim import engine, metrics, params, swf

    trace = swf.load(args.trace)
    if args.limit is not None:
        trace = trace.head(args.limit)
    given = _params(args)
    base = SchedConfig()
    if args.priority == "multifactor":
        # Defaults when no PriorityWeight* is given: fairshare first, age breaks ties
        # within a share rank (PriorityMaxAge and PriorityDecayHalfLife: 7 days).
        base = SchedConfig(priority_type="priority/multifactor", weight_age=1000,
                           weight_fairshare=10000)
    sched, sim = params.build(given, base)
    nodes, cpus = args.nodes, args.cpus_per_node
    if nodes is None:
        # One pool: the plan counts CPUs, not which node holds them (see engine.py).
        nodes, cpus = 1, trace.max_procs or 0
    if nodes <= 0 or cpus <= 0:
        raise params.ParamError("the trace has no MaxProcs/MaxNodes: give --nodes")
    config = engine.SimConfig(nodes=nodes, cpus_per_node=cpus,
                              policy=args.policy, bf_interval_s=sim["bf_interval"],
                              bf_max_job_test=sim["bf_max_job_test"],
                              priority=args.priority, sched=sched)
    sim_ = engine.Simulator(trace.jobs, config)
    show = not args.quiet and sys.stderr.isatty()
    t0 = time.perf_counter()
    if show:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        with Progress("[progress.description]{task.description}", BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(),
                      console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("simulating", total=len(sim_.jobs))
            results = sim_.run(lambda n: bar.advance(task, n))
    else:
        results = sim_.run()
    wall = time.perf_counter() - t0
    out = metrics.summarize(results, sim_.total)
    out["config"] = {
        "trace": args.trace, "policy": args.policy, "priority": args.priority,
        "nodes": nodes, "cpus_per_node": cpus,
        "bf_interval_s": config.bf_interval_s, "bf_window_s": sched.bf_window_s,
        "bf_resolution_s": sched.bf_resolution_s, "bf_max_job_user": sched.bf_max_job_user,
        "bf_max_job_test": config.bf_max_job_test,
        "params": given,
    }
    out["trace"] = {"records": trace.records, "dropped": trace.dropped,
                    "too_big": sim_.too_big}
    st = sim_.stats
    out["perf"] = {"wall_s": round(wall, 3),
                   "jobs_per_s": round(len(results) / wall, 1) if wall > 0 else None,
                   "events": st.events, "cycles_main": st.cycles_main,
                   "cycles_backfill": st.cycles_backfill,
                   "easy_probes": st.cycles_easy_probe, "skipped": st.skipped,
                   "max_pending": st.max_pending}
    return out


def _print_table(out: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    cfg = out["config"]
    t = Table(title=f"{cfg['trace']}: {cfg['policy']}, priority {cfg['priority']}, "
                    f"{cfg['nodes']}x{cfg['cpus_per_node']} CPUs")
    for col in ("jobs", "avg wait (s)", "avg bsld", "utilisation", "makespan (s)"):
        t.add_column(col, justify="right")
    t.add_row(str(out["jobs"]), f"{out['avg_wait_s']:,.0f}", f"{out['avg_bsld']:.2f}",
              f"{out['utilization']:.3f}", f"{out['makespan_s']:,}")
    console.print(t)
    u = Table(title="per user")
    for col in ("user", "jobs", "avg wait (s)", "avg bsld"):
        u.add_column(col, justify="right")
    for user, f in sorted(out["users"].items(), key=lambda kv: -kv[1]["jobs"]):
        u.add_row(user, str(f["jobs"]), f"{f['avg_wait_s']:,.0f}", f"{f['avg_bsld']:.2f}")
    console.print(u)
    perf = out["perf"]
    console.print(f"{perf['wall_s']} s, {perf['jobs_per_s']} jobs/s; cycles: "
                  f"{perf['cycles_main']} main, {perf['cycles_backfill']} backfill")


def run(args: argparse.Namespace) -> int:
    from scheduler.sim import engine, params, swf

    try:
        out = simulate(args)
    except (OSError, swf.SwfError, params.ParamError, engine.SimError) as e:
        print(f"drover simulate: error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        _print_table(out)
    return 0
