"""``sreport``: accounting reports, laid out as Slurm 22.05's sreport prints them.

``sreport [-n] [-p|-P] [-t FORMAT] [-T TRES] cluster Utilization|AccountUtilizationByUser|
UserUtilizationByAccount``, ``user TopUsage``, ``job SizesByAccount``, each with
``start= end= format= accounts= users= tree TopCount= Group Grouping= PrintJobCount
FlatView``. The controller computes the figures in TRES-seconds
(``/api/accounting/reports/<report>/``); this command picks the window, as
``slurmdb_report_set_start_end_time`` does (yesterday 00:00 to today 00:00 by
default; a given time rounded to the nearest hour, an end not past now, an hour
at least), and prints the banner, the header and the rows as
``src/sreport/*_reports.c`` do (see :mod:`drover.cli.formats.report`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from drover.cli.formats import report as fr
from drover.cli.slurmargs import SlurmArgumentParser, add_version

PROG = "sreport"
DASHES = "-" * 80
#: (entity, report, least letters of its name, API report, default format, with -T)
REPORTS = (
    ("cluster", "Utilization", 2, "utilization", "Cl,al,d,planned,i,res,rep",
     "Cl,TresName,al,d,planned,i,res,rep"),
    ("cluster", "AccountUtilizationByUser", 1, "account-by-user",
     "Cluster,Ac,Login,Proper,Used,Energy", "Cluster,Ac,Login,Proper,TresName,Used"),
    ("cluster", "UserUtilizationByAccount", 2, "user-by-account",
     "Cluster,Login,Proper,Ac,Used,Energy", "Cluster,Login,Proper,Ac,TresName,Used"),
    ("user", "TopUsage", 1, "top-users", "Cl,L,P,A,U,Energy", "Cl,L,P,A,TresName,Used"),
    ("job", "SizesByAccount", 1, "job-sizes", "Cl,a", "Cl,a"),
)
TITLES = {"account-by-user": "Cluster/Account/User Utilization",
          "user-by-account": "Cluster/User/Account Utilization"}


class Ctl(Protocol):
    def get(self, path: str, params: dict[str, Any] | None = None) -> Any: ...


class Usage(Exception):
    """A request sreport refuses, with its message."""


def build_parser() -> SlurmArgumentParser:
    p = SlurmArgumentParser(PROG, add_help=False)
    p.add_argument("--help", action="help")
    p.add_argument("-a", "--all_clusters", action="store_true")
    p.add_argument("-M", "--cluster")
    p.add_argument("-n", "--noheader", action="store_true")
    p.add_argument("-p", "--parsable", action="store_true")
    p.add_argument("-P", "--parsable2", action="store_true")
    p.add_argument("-t", "--time", default="minutes")
    p.add_argument("-T", "--tres")
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.add_argument("-Q", "--quiet", action="store_true")
    p.add_argument("words", nargs="*")
    add_version(p)
    return p


def _which(words: list[str], tres: bool) -> tuple[str, str]:
    """The API report and its default format."""
    if len(words) < 2:
        raise Usage("sreport: error: no report given: try cluster Utilization")
    for entity, name, least, api, default, with_tres in REPORTS:
        if fr.match(words[0], ((entity, 1),)) and fr.match(words[1], ((name, least),)):
            return api, with_tres if tres else default
    raise Usage(f"sreport: error: unknown report: {words[0]} {words[1]}")


def _window(start: str | None, end: str | None, now: float) -> tuple[int, int]:
    """``slurmdb_report_set_start_end_time``, in local time."""
    from datetime import datetime, timedelta

    from drover.timefmt import parse_timestamp

    here = datetime.fromtimestamp(now).astimezone()
    midnight = here.replace(hour=0, minute=0, second=0, microsecond=0)

    def rounded(when: datetime) -> datetime:
        when += timedelta(minutes=1) if when.second >= 30 else timedelta()
        when += timedelta(hours=1) if when.minute >= 30 else timedelta()
        return when.replace(minute=0, second=0)

    # sanity_check_endtime: an end past now is now, before the rounding.
    last = rounded(min(parse_timestamp(end, here), here)) if end else midnight
    first = rounded(parse_timestamp(start, here)) if start else midnight - timedelta(days=1)
    lo, hi = int(first.timestamp()), int(last.timestamp())
    return lo, max(hi, lo + 3600)


def _conditions(words: list[str]) -> dict[str, Any]:
    """``key=value`` words and flags, by Slurm's least prefixes; the rest are users."""
    cond: dict[str, Any] = {"users": [], "accounts": [], "format": [], "grouping": []}
    keys = (("start", (("Start", 1),)), ("end", (("End", 1),)),
            ("format", (("Format", 1),)), ("accounts", (("Accounts", 2), ("Acct", 4))),
            ("users", (("Users", 1),)), ("clusters", (("Clusters", 1),)),
            ("top", (("TopCount", 1),)), ("grouping", (("grouping", 2),)))
    flags = (("tree", (("Tree", 4),)), ("group", (("group", 1),)),
             ("jobcount", (("PrintJobCount", 2),)), ("flat", (("FlatView", 2),)),
             ("all_clusters", (("all_clusters", 1),)))
    for word in words:
        key, eq, value = word.partition("=")
        table = keys if eq else flags
        name = next((k for k, names in table if fr.match(key, names)), None)
        if name is None:
            if eq:
                raise Usage(f" Unknown condition: {word}\nUse keyword set to modify value")
            cond["users"].extend(v for v in word.split(",") if v)
        elif not eq:
            cond[name] = True
        elif isinstance(cond.get(name), list):
            cond[name].extend(v for v in value.split(",") if v)
        else:
            cond[name] = value
    return cond


def _proper(user: str) -> str | None:
    import pwd

    try:
        gecos = pwd.getpwnam(user).pw_gecos
    except KeyError:
        return None
    return gecos.split(",")[0] if gecos else None


def _banner(title: str, data: Mapping[str, Any], words: str, secs: bool) -> list[str]:
    from drover.timefmt import format_timestamp

    span = f"{format_timestamp(data['start'])} - {format_timestamp(data['end'] - 1)}"
    tail = f" ({data['end'] - data['start']} secs)" if secs else ""
    return [DASHES, f"{title} {span}{tail}", words, DASHES]


class Printer:
    """print_fields' three modes: padded columns, ``|`` after each, ``|`` between."""

    def __init__(self, args: Any) -> None:
        self.mode = 2 if args.parsable2 else 1 if args.parsable else 0
        self.header = not args.noheader

    def line(self, cols: Sequence[fr.Col], cells: Sequence[str | None]) -> str:
        if self.mode:
            text = "".join((c or "") + "|" for c in cells)
            return text[:-1] if self.mode == 2 else text
        return "".join(fr.cell(text, col.width, col.plus) for col, text in zip(
            cols, cells, strict=True))

    def head(self, cols: Sequence[fr.Col]) -> list[str]:
        if not self.header:
            return []
        names = [c.header for c in cols]
        if self.mode:
            return [self.line(cols, names)]
        top = "".join(fr.cell(n, c.width, plus=False) for c, n in zip(cols, names, strict=True))
        return [top, "".join("-" * abs(c.width) + " " for c in cols)]


def _cells(cols: Sequence[fr.Col], row: Mapping[str, Any], data: Mapping[str, Any],
           fmt: str, tree: bool) -> list[str | None]:
    total = int(data["total"])
    out: list[str | None] = []
    for c in cols:
        if c.kind == "cluster":
            out.append(str(data["cluster"]))
        elif c.kind == "tres":
            out.append(str(data["tres"]))
        elif c.kind == "account":
            indent = " " * int(row.get("depth") or 0) if tree else ""
            out.append(indent + str(row.get("account") or "") if row.get("account") else None)
        elif c.kind == "login":
            out.append(row.get("user") or None)
        elif c.kind == "proper":
            out.append(_proper(str(row["user"])) if row.get("user") else None)
        elif c.kind == "used":
            out.append(fr.usage(int(row["used"]), total, fmt))
        elif c.kind == "energy":
            out.append(fr.usage(0, 0, fmt))
        elif c.kind == "count":
            out.append(str(row.get("count", "")))
        elif c.kind == "reported":
            out.append(fr.usage(int(row["reported"]), int(row["count"]) * (
                int(data["end"]) - int(data["start"])), fmt))
        else:  # allocated, down, idle, planned, planned_down, over: shares of Reported
            out.append(fr.usage(int(row.get(c.kind, 0)), int(row["reported"]), fmt))
    return out


def _size(cols: list[fr.Col], largest: int, fmt: str) -> None:
    """Usage columns take the width their largest figure needs (common.c), whatever
    ``format=`` said, as in Slurm."""
    for c in cols:
        if c.kind in ("used", "allocated", "down", "idle", "planned", "planned_down",
                      "reported"):
            c.width = fr.usage_width(largest if c.kind == "used" else 0, fmt)
        elif c.kind in ("energy", "over"):
            c.width = fr.usage_width(0, fmt)


def render(api: str, data: Mapping[str, Any], cond: Mapping[str, Any], args: Any,
           fmt: str, fmt_words: str, spec: list[str]) -> tuple[list[str], list[str]]:
    """The lines of one report, and the format items no field matched."""
    out = Printer(args)
    tree = bool(cond.get("tree"))
    unit = "CPU" if data["tres"] == "cpu" else "TRES"
    words = (f"Usage reported in {fmt_words}" if fmt == "percent"
             else f"Usage reported in {unit} {fmt_words}")
    if api == "job-sizes":
        return _render_sizes(data, cond, args, fmt, fmt_words, spec, out)
    table = fr.USER_FIELDS if api == "top-users" else fr.CLUSTER_FIELDS
    cols, unknown = fr.columns(spec, table, fmt, tree)
    if api == "utilization":
        row = data["utilization"]
        for c in cols:
            if c.kind in ("allocated", "down", "idle", "planned", "planned_down", "over",
                          "reported"):
                c.width = fr.usage_width(int(row.get(c.kind, 0)), fmt)
        rows: list[Mapping[str, Any]] = [row]
        title = "Cluster Utilization"
    else:
        rows = data["rows"]
        _size(cols, max((int(r["used"]) for r in rows[:1]), default=0), fmt)
        title = TITLES.get(api) or f"Top {cond.get('top') or 10} Users"
    lines = _banner(title, data, words, api != "utilization") if out.header else []
    lines += out.head(cols)
    lines += [out.line(cols, _cells(cols, r, data, fmt, tree)) for r in rows]
    return lines, unknown


def _render_sizes(data: Mapping[str, Any], cond: Mapping[str, Any], args: Any, fmt: str,
                  fmt_words: str, spec: list[str], out: Printer
                  ) -> tuple[list[str], list[str]]:
    cols, unknown = fr.columns(spec, fr.JOB_FIELDS, fmt)
    unit = "CPUs" if data["tres"] == "cpu" else "TRES"
    width = 20 if fmt in fr.PER else 13
    bins = [fr.Col("bin", f">= {lo} {unit}" if hi is None else f"{lo}-{hi - 1} {unit}",
                   width, plus=False) for lo, hi in data["bins"]]
    total = fr.Col("total", "% of cluster", 12, plus=False)
    count = bool(cond.get("jobcount"))
    lines: list[str] = []
    if out.header:
        lines += _banner("Job Sizes", data, "", True)[:2]
        if args.tres:
            lines.append(f"TRES type is {args.tres}")
        lines.append("Units are in number of jobs ran" if count
                     else f"Time reported in {fmt_words}")
        lines.append(DASHES)
    everything = [*cols, *bins, total]
    lines += out.head(everything)
    for row in data["rows"]:
        cells = [str(data["cluster"]) if c.kind == "cluster" else str(row["account"])
                 for c in cols]
        if count:
            cells += [str(n) for n in row["bin_jobs"]]
            cells.append(fr.usage(row["jobs"], sum(r["jobs"] for r in data["rows"]),
                                  "percent"))
        else:
            cells += [fr.usage(s, row["used"], fmt) for s in row["bins"]]
            cells.append(fr.usage(row["used"], data["total"], "percent"))
        lines.append(out.line(everything, cells))
    return lines, unknown


def _params(api: str, cond: Mapping[str, Any], window: tuple[int, int], tres: str
            ) -> dict[str, Any]:
    params: dict[str, Any] = {"start": window[0], "end": window[1], "tres": tres}
    for key in ("accounts", "users", "grouping"):
        if cond.get(key):
            params[key] = ",".join(cond[key])
    if cond.get("top"):
        params["top"] = cond["top"]
    for flag in ("group", "flat"):
        if cond.get(flag):
            params[flag] = 1
    return params


def main(argv: Sequence[str] | None = None, ctl: Ctl | None = None,
         now: float | None = None) -> int:
    import time

    args = build_parser().parse_intermixed_args(argv)
    chosen = fr.time_format(args.time)
    try:
        if chosen is None:
            raise Usage(f"sreport: error: unknown time format {args.time}")
        tres = (args.tres or "cpu").lower()
        tres = "gres/gpu" if tres == "gpu" else tres
        if "," in tres:
            raise Usage(" Only one --tres type at a time is supported by Drover's sreport")
        api, default = _which(args.words, bool(args.tres))
        cond = _conditions(args.words[2:])
        if not str(cond.get("top") or "0").isdigit():
            raise Usage(f"sreport: error: Invalid value for TopCount ({cond['top']})")
        if not all(g.isdigit() for g in cond["grouping"]):
            raise Usage("sreport: error: Grouping takes CPU counts: Grouping=50,250,500")
        window = _window(cond.get("start"), cond.get("end"),
                         time.time() if now is None else now)
    except Usage as exc:
        print(exc, file=sys.stderr)
        return 1
    except ValueError as exc:  # drover.timefmt.TimeFormatError: a bad start= or end=
        print(f"sreport: error: {exc}", file=sys.stderr)
        return 1
    if ctl is None:
        from drover.cli.common import client

        ctl = client()
    from drover.cli.squeue import api_errors, describe_error

    try:
        data = ctl.get(f"/api/accounting/reports/{api}/",
                       params=_params(api, cond, window, tres))
    except api_errors() as exc:
        print(f"sreport: error: {describe_error(exc)}", file=sys.stderr)
        return 1
    spec = cond["format"] or default.split(",")
    lines, unknown = render(api, data, cond, args, *chosen, spec)
    for name in unknown:
        print(f" Unknown field '{name}'", file=sys.stderr)
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    return 1 if unknown else 0


if __name__ == "__main__":
    sys.exit(main())
