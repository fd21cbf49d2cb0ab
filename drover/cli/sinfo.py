"""``sinfo``: partitions and nodes (Slurm 22.05's options and output).

Pure part: :func:`build_rows` (partition and node records → groups of nodes that
print alike) and the layout from :mod:`drover.cli.formats.nodes`; :func:`main`
fetches ``/api/partitions/`` and ``/api/nodes/`` and prints.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence

from drover.cli.formats import nodes as nf
from drover.cli.formats.engine import (
    Column,
    Field,
    Layout,
    parse_names,
    parse_percent,
    size_columns,
)
from drover.cli.slurmargs import SlurmArgumentParser, add_version, split_list
from drover.hostlist import HostlistError, expand

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from typing import Any

    Record = Mapping[str, Any]
if TYPE_CHECKING:
    Row = dict[str, Any]

NAMES: dict[str, Field] = {name: nf.LETTERS[letter] for name, letter in {
    "Available": "a", "CPUs": "c", "CPUsState": "C", "CPUsLoad": "O", "DefaultTime": "L",
    "Features": "f", "FeaturesAct": "b", "FreeMem": "e", "Gres": "G", "Groups": "g",
    "Memory": "m", "NodeAI": "A", "NodeAIOT": "F", "NodeHost": "n", "NodeList": "N",
    "Nodes": "D", "OverSubscribe": "h", "Partition": "P", "PartitionName": "R",
    "PriorityJobFactor": "I", "PriorityTier": "p", "Reason": "E", "Root": "r",
    "Size": "s", "SocketCoreThread": "z", "StateCompact": "t", "StateLong": "T",
    "Time": "l", "Timestamp": "H", "User": "u", "Version": "v", "Weight": "w",
}.items()}


def _natural(name: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def partition_nodes(part: Record, by_name: Mapping[str, Record]) -> list[Record]:
    names = part.get("node_names")
    if not isinstance(names, list):
        try:
            names = expand(str(part.get("nodes") or "")) if part.get("nodes") else []
        except HostlistError:
            names = []
    if not names:
        names = [n for n, rec in by_name.items()
                 if part.get("name") in (rec.get("partitions") or [])]
    return [by_name[n] for n in names if n in by_name]


def _key_columns(layout: Layout) -> list[Column]:
    return [c for c in layout.columns if c.key not in nf.AGGREGATE]


def _group(pairs: Sequence[tuple[Record, Record]], layout: Layout) -> list[Row]:
    """Merge (partition, node) pairs whose identifying cells print the same."""
    keys = _key_columns(layout)
    groups: dict[tuple[str, ...], Row] = {}
    for part, node in pairs:
        probe: Row = {"partition": part, "nodes": [node]}
        key = (str(part.get("name")),) + tuple(c.cell(c.field.get(probe)) for c in keys)
        row = groups.setdefault(key, {"partition": part, "nodes": []})
        row["nodes"].append(node)
    return list(groups.values())


def _rank(row: Row) -> int:
    nodes = row.get("nodes") or [{}]
    first = nodes[0]
    base = str(first.get("base_state") or first.get("state") or "UNKNOWN").upper()
    return nf.STATE_RANK.get(base, 0)


def build_rows(partitions: Sequence[Record], nodes: Sequence[Record], layout: Layout, *,
               node_mode: bool = False, reasons: bool = False,
               parts: Sequence[str] = (), node_names: Sequence[str] = (),
               states: set[str] | None = None) -> list[Row]:
    """The rows sinfo prints, in its order (partition order, then state descending)."""
    by_name = {str(n.get("name")): n for n in nodes}

    def keep(n: Record) -> bool:
        if node_names and str(n.get("name")) not in node_names:
            return False
        if states and not nf.state_matches(n, states):
            return False
        if reasons:
            long = nf.node_state_long(n)
            return bool(n.get("reason")) or long in ("down", "drained", "draining", "fail",
                                                     "failing")
        return True

    chosen = [p for p in partitions if not parts or str(p.get("name")) in parts]
    pairs = [(p, n) for p in chosen for n in partition_nodes(p, by_name) if keep(n)]
    if reasons:
        seen: dict[str, tuple[Record, Record]] = {}
        for _p, n in pairs:
            seen.setdefault(str(n.get("name")), ({}, n))
        pairs = sorted(seen.values(), key=lambda pn: _natural(str(pn[1].get("name"))))
        return _group(pairs, layout)
    if node_mode:
        ordered = sorted(pairs, key=lambda pn: _natural(str(pn[1].get("name"))))
        return [{"partition": p, "nodes": [n]} for p, n in ordered]
    out: list[Row] = []
    for p in chosen:
        rows = _group([(pp, n) for pp, n in pairs if pp is p], layout)
        out += sorted(rows, key=_rank, reverse=True)
    return out


def auto_widths(partitions: Sequence[Record], nodes: Sequence[Record]) -> dict[str, int]:
    """Widths of ``%#P`` and ``%#N``: the longest name, at least 9 (Slurm's minimum)."""
    pw = max([len(str(p.get("name") or "")) + (1 if p.get("default") else 0)
              for p in partitions] + [9])
    nw = max([len(str(n.get("name") or "")) for n in nodes] + [9])
    return {"P": pw, "N": nw, "R": pw}


def pick_format(args: Any) -> str:
    if args.format:
        return str(args.format)
    if args.list_reasons:
        return nf.REASON_LONG_FORMAT if args.long else nf.REASON_FORMAT
    if args.Node:
        return nf.NODE_LONG_FORMAT if args.long else nf.NODE_FORMAT
    if args.summarize:
        return nf.SUMMARIZE_FORMAT
    return nf.LONG_FORMAT if args.long else nf.DEFAULT_FORMAT


def render(args: Any, partitions: Sequence[Record], nodes: Sequence[Record]) -> tuple[
        list[str], list[str]]:
    """(stdout lines, stderr lines) for parsed options and the two record lists."""
    errors: list[str] = []
    if args.Format:
        cols, unknown = parse_names(args.Format, NAMES, width_mark=":", default_width=20)
        layout = Layout(cols)
        errors += [f"sinfo: error: Invalid node format field: {u}" for u in unknown]
    else:
        layout, bad = parse_percent(pick_format(args), nf.LETTERS)
        errors += [f"sinfo: error: Invalid node format specification: {b}" for b in bad]
    layout = size_columns(layout, auto_widths(partitions, nodes))
    states = {s.lower() for s in split_list(args.states)} or None
    names: list[str] = []
    for expr in split_list(args.nodes) if args.nodes else []:
        try:
            names += expand(expr)
        except HostlistError:
            names.append(expr)
    if args.nodes and not names:
        names = [""]
    rows = build_rows(partitions, nodes, layout,
                      node_mode=bool(args.Node), reasons=bool(args.list_reasons),
                      parts=split_list(args.partition), node_names=names, states=states)
    if args.summarize and not args.format:
        rows = _summarize(rows)
    lines: list[str] = []
    if args.long and not args.noheader:
        lines.append(time.ctime())
    lines += layout.render(rows, header=not args.noheader)
    return lines, errors


def _summarize(rows: Sequence[Row]) -> list[Row]:
    merged: dict[str, Row] = {}
    for row in rows:
        name = str(row["partition"].get("name"))
        m = merged.setdefault(name, {"partition": row["partition"], "nodes": []})
        m["nodes"].extend(row["nodes"])
    for m in merged.values():
        m["nodes"].sort(key=lambda n: _natural(str(n.get("name"))))
    return list(merged.values())


def render_json(partitions: Sequence[Record], nodes: Sequence[Record]) -> str:
    from drover.cli.squeue import meta_json

    def node(n: Record) -> dict[str, Any]:
        return {
            "architecture": n.get("arch") or "", "boards": n.get("boards"),
            "boot_time": n.get("boot_time") or 0, "cores": n.get("cores_per_socket"),
            "cpu_load": int(float(n.get("cpu_load") or 0) * 100), "free_memory":
            n.get("free_memory_mb"), "cpus": n.get("cpus"), "last_busy": n.get("last_busy") or 0,
            "features": n.get("features") or "", "gres": n.get("gres") or "",
            "gres_used": n.get("gres_used") or "", "name": n.get("name"),
            "state": nf.node_state_long(n), "state_flags": n.get("state_flags") or [],
            "operating_system": n.get("os") or "", "partitions": n.get("partitions") or [],
            "real_memory": n.get("real_memory_mb"), "reason": n.get("reason") or "",
            "reason_changed_at": n.get("reason_time") or 0,
            "reason_set_by_user": n.get("reason_user"),
            "slurmd_start_time": n.get("slurmd_start_time") or 0, "sockets": n.get("sockets"),
            "threads": n.get("threads_per_core"), "weight": n.get("weight"),
            "slurmd_version": n.get("version") or "", "alloc_memory": n.get("alloc_memory_mb"),
            "alloc_cpus": n.get("alloc_cpus"),
            "idle_cpus": int(n.get("cpus") or 0) - int(n.get("alloc_cpus") or 0),
        }

    def part(p: Record) -> dict[str, Any]:
        return {
            "name": p.get("name"), "nodes": p.get("nodes") or "",
            "flags": ["default"] if p.get("default") else [],
            "maximum_time": p.get("max_time_min"), "default_time": p.get("default_time_min"),
            "maximum_nodes_per_job": p.get("max_nodes"), "minimum_nodes_per_job":
            p.get("min_nodes"), "total_cpus": p.get("total_cpus"),
            "total_nodes": p.get("total_nodes"), "priority_tier": p.get("priority_tier"),
            "priority_job_factor": p.get("priority_job_factor"),
            "state": str(p.get("state") or "UP"),
        }

    import json  # only for --json: json imports re at start-up

    return json.dumps({"meta": meta_json(), "errors": [], "nodes": [node(n) for n in nodes],
                       "partitions": [part(p) for p in partitions]}, indent=2)


def build_parser() -> SlurmArgumentParser:
    p = SlurmArgumentParser("sinfo", add_help=False)
    add_version(p)
    p.add_argument("--help", action="help")
    p.add_argument("-a", "--all", action="store_true")
    p.add_argument("-d", "--dead", action="store_true")
    p.add_argument("-e", "--exact", action="store_true")
    p.add_argument("--federation", action="store_true")
    p.add_argument("-h", "--noheader", action="store_true")
    p.add_argument("--hide", action="store_true")
    p.add_argument("-i", "--iterate", type=int)
    p.add_argument("--json", action="store_true")
    p.add_argument("--yaml", action="store_true")
    p.add_argument("-l", "--long", action="store_true")
    p.add_argument("--local", action="store_true")
    p.add_argument("-M", "--clusters")
    p.add_argument("-n", "--nodes", action="append")
    p.add_argument("--noconvert", action="store_true")
    p.add_argument("-N", "--Node", action="store_true")
    p.add_argument("-o", "--format")
    p.add_argument("-O", "--Format")
    p.add_argument("-p", "--partition", action="append")
    p.add_argument("-r", "--responding", action="store_true")
    p.add_argument("-R", "--list-reasons", action="store_true")
    p.add_argument("-s", "--summarize", action="store_true")
    p.add_argument("-S", "--sort")
    p.add_argument("-t", "--states", action="append")
    p.add_argument("-T", "--reservation", action="store_true")
    p.add_argument("--usage", action="store_true")
    p.add_argument("-v", "--verbose", action="count", default=0)
    return p


if TYPE_CHECKING:
    Fetch = Callable[[], tuple[list[Record], list[Record]]]


def fetch_all() -> tuple[list[Record], list[Record]]:
    from drover.cli.common import client

    c = client()
    parts = c.get("/api/partitions/").get("partitions", [])
    nodes = c.get("/api/nodes/").get("nodes", [])
    return list(parts), list(nodes)


def main(argv: Sequence[str] | None = None, fetch: Fetch | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.reservation:
        from drover.cli import reservation
        from drover.cli.common import client

        return reservation.sinfo_main(client())
    fetch = fetch or fetch_all
    from drover.cli.squeue import api_errors, describe_error

    while True:
        try:
            partitions, nodes = fetch()
        except api_errors() as exc:
            print(f"slurm_load_partitions: {describe_error(exc)}", file=sys.stderr)
            return 1
        if args.json or args.yaml:
            sys.stdout.write(render_json(partitions, nodes))
            return 0
        lines, errors = render(args, partitions, nodes)
        for e in errors:
            print(e, file=sys.stderr)
        if lines:
            sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        if not args.iterate:
            return 0
        try:
            time.sleep(max(args.iterate, 1))
            print()
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
