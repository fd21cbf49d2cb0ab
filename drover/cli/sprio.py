"""``sprio``: pending jobs' priority factors (Slurm 22.05's options and output).

The controller computes the factors (``GET /api/priority/``, the same pure
function the scheduler uses); this command only lays them out. Formats, as
Slurm's ``sprio.c`` builds them:

* default: ``%.15i %9r %.10Y %.10S`` then ``%.10A %.10B %.10F %.10J %.10P %.10Q
  %.20T`` for each factor whose weight is set (age, assoc, fairshare, job size,
  partition, QOS, TRES);
* ``-l``: ``%.15i %9r %.8u %.10Y %.10S %.10A %.10B %.10F %.10J %.10P %.10Q %.11N %.20T``;
* ``-n``: the normalised (unweighted) letters instead of the weighted ones;
* ``-w``: one ``Weights`` line with the configured weights.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from drover.cli.formats.engine import Field, Layout, parse_percent
from drover.cli.slurmargs import SlurmArgumentParser, add_version, split_list

Record = Mapping[str, Any]
MULTIFACTOR = "priority/multifactor"


class Ctl(Protocol):
    def get(self, path: str, params: dict[str, Any] | None = None) -> Any: ...


def _w(key: str) -> Any:
    def get(r: Record) -> str:
        if r.get("_weights"):
            return str(r["_weights"].get(key, ""))
        value = (r.get("weighted") or {}).get(key, 0.0)
        return f"{float(value):.0f}"
    return get


def _n(key: str) -> Any:
    def get(r: Record) -> str:
        if r.get("_weights"):
            return str(r["_weights"].get(key, ""))
        return f"{float((r.get('norm') or {}).get(key, 0.0)):.7f}"
    return get


def _tres(normalised: bool) -> Any:
    def get(r: Record) -> str:
        if r.get("_weights"):
            tw = r["_weights"].get("tres") or {}
            return ",".join(f"{k.upper() if k in ('cpu', 'mem') else k}={v}"
                            for k, v in sorted(tw.items()))
        values = r.get("tres_norm" if normalised else "tres") or {}
        fmt = "{:.2f}" if normalised else "{:.0f}"
        return ",".join(f"{k}={fmt.format(float(v))}" for k, v in sorted(values.items()))
    return get


def _plain(key: str) -> Any:
    def get(r: Record) -> str:
        if r.get("_weights"):
            return "Weights" if key == "job_id" else ""
        value = r.get(key)
        if key == "job_id" and r.get("array_task_id") is not None:
            return f"{value}_{r['array_task_id']}"
        return "" if value is None else str(value)
    return get


def _priority_norm(r: Record) -> str:
    if r.get("_weights"):
        return ""
    # Slurm prints the priority as a fraction of the largest possible one (2^32 - 1).
    return f"{int(r.get('priority') or 0) / 4294967295:.10f}"


def _site(r: Record) -> str:
    if r.get("_weights"):
        return str(r["_weights"].get("site", 1))
    return str(int(r.get("site") or 0))


def _nice(r: Record) -> str:
    return "" if r.get("_weights") else str(int(r.get("nice") or 0))


LETTERS: dict[str, Field] = {
    "a": Field("AGE", _n("age")), "A": Field("AGE", _w("age")),
    "b": Field("ASSOC", _n("assoc")), "B": Field("ASSOC", _w("assoc")),
    "c": Field("CLUSTER", lambda r: "" if r.get("_weights") else str(r.get("cluster") or "")),
    "f": Field("FAIRSHARE", _n("fairshare")), "F": Field("FAIRSHARE", _w("fairshare")),
    "i": Field("JOBID", _plain("job_id")),
    "j": Field("JOBSIZE", _n("job_size")), "J": Field("JOBSIZE", _w("job_size")),
    "n": Field("QOSNAME", _plain("qos")), "N": Field("NICE", _nice),
    "o": Field("ACCOUNT", _plain("account")),
    "p": Field("PARTITION", _n("partition")), "P": Field("PARTITION", _w("partition")),
    "q": Field("QOS", _n("qos")), "Q": Field("QOS", _w("qos")),
    "r": Field("PARTITION", _plain("partition")),
    "S": Field("SITE", _site),
    "t": Field("TRES", _tres(True)), "T": Field("TRES", _tres(False)),
    "u": Field("USER", _plain("user")),
    "y": Field("PRIORITY", _priority_norm), "Y": Field("PRIORITY", _plain("priority")),
}

LONG = "%.15i %9r %.8u %.10Y %.10S %.10A %.10B %.10F %.10J %.10P %.10Q %.11N %.20T"


def default_format(weights: Mapping[str, Any], long: bool, normalised: bool) -> str:
    """Slurm's format: every factor in ``-l``, else only those with a weight."""
    fmt = LONG
    if not long:
        parts = ["%.15i", "%9r", "%.10Y", "%.10S"]
        for key, letter in (("age", "A"), ("assoc", "B"), ("fairshare", "F"),
                            ("job_size", "J"), ("partition", "P"), ("qos", "Q")):
            if weights.get(key):
                parts.append(f"%.10{letter}")
        if weights.get("tres"):
            parts.append("%.20T")
        fmt = " ".join(parts)
    if normalised:
        for letter in "YABFJPQT":
            fmt = fmt.replace(f"0{letter}", f"0{letter.lower()}")
    return fmt


def build_parser() -> SlurmArgumentParser:
    p = SlurmArgumentParser("sprio", add_help=False)
    p.add_argument("-h", "--noheader", action="store_true")
    p.add_argument("--help", action="help")
    p.add_argument("-j", "--jobs", action="append")
    p.add_argument("-l", "--long", action="store_true")
    p.add_argument("-n", "--norm", action="store_true")
    p.add_argument("-o", "--format")
    p.add_argument("-p", "--partition", action="append")
    p.add_argument("-u", "--user", "--users", dest="user", action="append")
    p.add_argument("-w", "--weights", action="store_true")
    p.add_argument("-M", "--clusters")
    p.add_argument("-v", "--verbose", action="count", default=0)
    add_version(p)
    return p


def render(args: Any, answer: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """The output lines and the error lines for one ``/api/priority/`` answer."""
    weights = answer.get("weights") or {}
    fmt = args.format or default_format(weights, args.long, args.norm)
    layout: Layout
    layout, bad = parse_percent(fmt, LETTERS)
    errors = [f"sprio: error: Invalid job format specification: {b}" for b in bad]
    if args.weights:
        return layout.render([{"_weights": weights}], header=not args.noheader), errors
    jobs = [j for j in answer.get("jobs") or [] if isinstance(j, dict)]
    parts = set(split_list(args.partition))
    if parts:
        jobs = [j for j in jobs if j.get("partition") in parts]
    return layout.render(jobs, header=not args.noheader), errors


def main(argv: Sequence[str] | None = None, ctl: Ctl | None = None) -> int:
    args = build_parser().parse_args(argv)
    params: dict[str, str] = {}
    if args.jobs:
        params["jobs"] = ",".join(split_list(args.jobs))
    if args.user:
        params["user"] = ",".join(split_list(args.user))
    if ctl is None:
        from drover.cli.common import client

        ctl = client()
    from drover.cli.squeue import api_errors, describe_error

    try:
        answer = ctl.get("/api/priority/", params=params)
    except api_errors() as exc:
        print(f"sprio: error: {describe_error(exc)}", file=sys.stderr)
        return 1
    answer = answer if isinstance(answer, dict) else {}
    kind = str(answer.get("priority_type") or MULTIFACTOR)
    if kind != MULTIFACTOR:  # as sprio.c refuses priority/basic
        sys.stderr.write(f"You are not running a supported priority plugin\n({kind}).\n"
                         f"Only '{MULTIFACTOR}' is supported.\n")
        return 1
    lines, errors = render(args, answer)
    for e in errors:
        print(e, file=sys.stderr)
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
