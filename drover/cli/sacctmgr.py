"""``sacctmgr``: list, add, modify and delete clusters, accounts, users, associations and QOS.

Syntax as Slurm 22.05's (``sacctmgr [-n] [-p|-P] [-s] [-i] VERB ENTITY [where]
[name=...] [format=...] [set ...]``); layouts and messages as its goldens
124-135: fixed-width fields each followed by one space, a dashes line under the
header, values cut with ``+``; ``-p``/``-P`` ``|``-separated. The controller
does the work (``/api/accounting/...``); settings are sent as written and
parsed there, so the portal and this command follow one set of rules.

Without ``-i`` Slurm asks "Would you like to commit changes? (You have 30
seconds to decide)" and aborts without an answer. Here the question is asked
before anything is sent, and only when stdin is a terminal; scripts (no
terminal) commit as with ``-i``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from drover.cli import sacctmgr_events
from drover.cli.formats.engine import Column, Field, parse_names
from drover.cli.slurmargs import VERSION_LINE
from drover.timefmt import format_hms

Record = Mapping[str, Any]
PROG = "sacctmgr"
VERBS = {"list": "list", "show": "list", "add": "add", "create": "add", "modify": "modify",
         "update": "modify", "delete": "delete", "remove": "delete"}
ENTITIES = {"cluster": "cluster", "clusters": "cluster", "account": "account",
            "accounts": "account", "user": "user", "users": "user", "association": "assoc",
            "associations": "assoc", "assoc": "assoc", "qos": "qos", "event": "event",
            "events": "event"}
NO_PRIVILEGE = " Your user doesn't have privilege to perform this action"
JOBS_ACTIVE = "Job(s) active, cancel job(s) before remove"  # ESLURM_JOBS_RUNNING_ON_ASSOC


class Ctl(Protocol):
    def get(self, path: str, params: dict[str, Any] | None = None) -> Any: ...

    def post(self, path: str, body: Any) -> Any: ...


def _text(key: str) -> Callable[[Record], str]:
    def get(r: Record) -> str:
        value = r.get(key)
        return "" if value is None else str(value)
    return get


def _join(key: str) -> Callable[[Record], str]:
    return lambda r: ",".join(r.get(key) or [])


def _wall(key: str) -> Callable[[Record], str]:
    def get(r: Record) -> str:
        value = r.get(key)
        return "" if value is None else format_hms(int(value) * 60)
    return get


def _account(r: Record) -> str:
    if r.get("_tree"):
        return " " * int(r.get("depth") or 0) + str(r.get("account") or "")
    return str(r.get("account") or "")


def _f(header: str, width: int, get: Callable[[Record], str]) -> Field:
    return Field(header, get, width, True)


FIELDS: dict[str, Field] = {
    "Cluster": _f("Cluster", 10, _text("cluster")),
    "ControlHost": _f("ControlHost", 15, _text("control_host")),
    "ControlPort": _f("ControlPort", 12, _text("control_port")),
    "RPC": _f("RPC", 5, _text("rpc")),
    "Share": _f("Share", 9, _text("shares")),
    "Fairshare": _f("Share", 9, _text("shares")),
    "Priority": _f("Priority", 10, _text("priority")),
    "GrpJobs": _f("GrpJobs", 7, _text("grp_jobs")),
    "GrpTRES": _f("GrpTRES", 13, _text("grp_tres")),
    "GrpSubmit": _f("GrpSubmit", 9, _text("grp_submit_jobs")),
    "GrpSubmitJobs": _f("GrpSubmit", 9, _text("grp_submit_jobs")),
    "GrpWall": _f("GrpWall", 11, _wall("grp_wall_min")),
    "GrpTRESMins": _f("GrpTRESMins", 13, _text("_none")),
    "GrpTRESRunMin": _f("GrpTRESRunMin", 13, _text("_none")),
    "MaxJobs": _f("MaxJobs", 7, _text("max_jobs_per_user")),
    "MaxTRES": _f("MaxTRES", 13, _text("max_tres_per_job")),
    "MaxTRESPerJob": _f("MaxTRES", 13, _text("max_tres_per_job")),
    "MaxTRESPerNode": _f("MaxTRESPerNode", 14, _text("max_tres_per_node")),
    "MaxSubmit": _f("MaxSubmit", 9, _text("max_submit_jobs_per_user")),
    "MaxSubmitJobs": _f("MaxSubmit", 9, _text("max_submit_jobs_per_user")),
    "MaxWall": _f("MaxWall", 11, _wall("max_wall_min")),
    "MaxWallDurationPerJob": _f("MaxWall", 11, _wall("max_wall_min")),
    "MaxTRESMins": _f("MaxTRESMins", 13, _text("_none")),
    "QOS": _f("QOS", 20, _join("qos")),
    "DefaultQOS": _f("Def QOS", 9, _text("default_qos")),
    "Account": _f("Account", 10, _account),
    "User": _f("User", 10, _text("user")),
    "Partition": _f("Partition", 10, _text("partition")),
    "ParentName": _f("Par Name", 10, _text("parent_account")),
    "Description": _f("Descr", 20, _text("description")),
    "Descr": _f("Descr", 20, _text("description")),
    "Organization": _f("Org", 20, _text("organization")),
    "Org": _f("Org", 20, _text("organization")),
    "DefaultAccount": _f("Def Acct", 10, _text("default_account")),
    "Admin": _f("Admin", 9, _text("admin")),
    "AdminLevel": _f("Admin", 9, _text("admin")),
    "Coordinators": _f("Coord Accounts", 20, _join("coordinators")),
    "Name": _f("Name", 10, _text("name")),
    "GraceTime": _f("GraceTime", 10, lambda r: "00:00:00"),
    "Preempt": _f("Preempt", 10, _join("preempt")),
    "PreemptExemptTime": _f("PreemptExemptTime", 19, _text("_none")),
    "PreemptMode": _f("PreemptMode", 11, _text("preempt_mode")),
    "Flags": _f("Flags", 40, _text("flags")),
    "UsageThres": _f("UsageThres", 10, _text("_none")),
    "UsageFactor": _f("UsageFactor", 11,
                      lambda r: f"{float(r.get('usage_factor') or 0):.6f}"),
    "MaxTRESPU": _f("MaxTRESPU", 13, _text("max_tres_per_user")),
    "MaxTRESPerUser": _f("MaxTRESPU", 13, _text("max_tres_per_user")),
    "MaxJobsPU": _f("MaxJobsPU", 9, _text("max_jobs_per_user")),
    "MaxJobsPerUser": _f("MaxJobsPU", 9, _text("max_jobs_per_user")),
    "MaxSubmitPU": _f("MaxSubmitPU", 11, _text("max_submit_jobs_per_user")),
    "MaxSubmitJobsPerUser": _f("MaxSubmitPU", 11, _text("max_submit_jobs_per_user")),
    "MaxTRESPA": _f("MaxTRESPA", 13, _text("_none")),
    "MaxJobsPA": _f("MaxJobsPA", 9, _text("_none")),
    "MaxSubmitPA": _f("MaxSubmitPA", 11, _text("_none")),
    "MinTRES": _f("MinTRES", 13, _text("_none")),
    "MaxNodes": _f("MaxNodes", 8, _text("_none")),
    "MaxCPUs": _f("MaxCPUs", 8, _text("_none")),
    "MaxCPUMins": _f("MaxCPUMins", 10, _text("_none")),
}

DEFAULTS = {
    "cluster": "Cluster,ControlHost,ControlPort,RPC,Share,GrpJobs,GrpTRES,GrpSubmit,MaxJobs,"
               "MaxTRES,MaxSubmit,MaxWall,QOS,DefaultQOS",
    "assoc": "Cluster,Account,User,Partition,Share,Priority,GrpJobs,GrpTRES,GrpSubmit,GrpWall,"
             "GrpTRESMins,MaxJobs,MaxTRES,MaxTRESPerNode,MaxSubmit,MaxWall,MaxTRESMins,QOS,"
             "DefaultQOS,GrpTRESRunMin",
    "qos": "Name,Priority,GraceTime,Preempt,PreemptExemptTime,PreemptMode,Flags,UsageThres,"
           "UsageFactor,GrpTRES,GrpTRESMins,GrpTRESRunMin,GrpJobs,GrpSubmit,GrpWall,MaxTRES,"
           "MaxTRESPerNode,MaxTRESMins,MaxWall,MaxTRESPU,MaxJobsPU,MaxSubmitPU,MaxTRESPA,"
           "MaxJobsPA,MaxSubmitPA,MinTRES",
    "account": "Account,Descr,Org",
    "user": "User,DefaultAccount,Admin",
    "user_assoc": "User,DefaultAccount,Admin,Cluster,Account,Partition,Share,Priority,MaxJobs,"
                  "MaxNodes,MaxCPUs,MaxSubmit,MaxWall,MaxCPUMins,QOS,DefaultQOS",
    "account_assoc": "Account,Descr,Org,Cluster,ParentName,User,Share,Priority,GrpJobs,"
                     "GrpTRES,GrpSubmit,GrpWall,MaxJobs,MaxTRES,MaxSubmit,MaxWall,QOS,"
                     "DefaultQOS",
}


class Usage(Exception):
    """A command line sacctmgr would refuse."""


class Options:
    def __init__(self) -> None:
        self.noheader = self.parsable = self.parsable2 = False
        self.assocs = self.immediate = self.quiet = self.version = False
        self.words: list[str] = []


def parse_argv(argv: Sequence[str]) -> Options:
    opts = Options()
    longs = {"--noheader": "noheader", "--parsable": "parsable", "--parsable2": "parsable2",
             "--associations": "assocs", "--immediate": "immediate", "--quiet": "quiet",
             "--version": "version"}
    shorts = {"n": "noheader", "p": "parsable", "P": "parsable2", "s": "assocs",
              "i": "immediate", "Q": "quiet", "V": "version", "v": "", "r": ""}
    for arg in argv:
        if arg in longs:
            setattr(opts, longs[arg], True)
        elif arg.startswith("-") and len(arg) > 1 and not arg.startswith("--"):
            for ch in arg[1:]:
                if ch not in shorts:
                    raise Usage(f"invalid option -- '{ch}'")
                if shorts[ch]:
                    setattr(opts, shorts[ch], True)
        elif arg.startswith("--"):
            raise Usage(f"unrecognized option '{arg}'")
        else:
            opts.words.append(arg)
    return opts


def split_words(words: Sequence[str]) -> tuple[list[str], dict[str, str], dict[str, str], bool]:
    """(bare names, where conditions, set values, tree) from ``where ... set ...`` words."""
    names: list[str] = []
    where: dict[str, str] = {}
    values: dict[str, str] = {}
    tree = False
    target = where
    for w in words:
        low = w.lower()
        if low == "where":
            target = where
        elif low == "set":
            target = values
        elif low == "tree":
            tree = True
        elif low in ("withassoc", "withcoord", "withdeleted"):
            continue
        elif "=" in w:
            key, _, value = w.partition("=")
            target[key.strip()] = value.strip()
        else:
            names.extend(n for n in w.split(",") if n)
    return names, where, values, tree


# ---- list --------------------------------------------------------------------------------


def _matches(r: Record, where: Mapping[str, str], keys: Mapping[str, str]) -> bool:
    for cond, value in where.items():
        key = keys.get(cond.lower())
        if key is None:
            continue
        if str(r.get(key) or "") not in value.split(","):
            return False
    return True


def fetch_rows(ctl: Ctl, entity: str, opts: Options, names: list[str],
               where: dict[str, str], tree: bool) -> tuple[Sequence[Record], str]:
    """The records to print and the default format for them."""
    cluster = (ctl.get("/api/accounting/cluster/").get("clusters") or [{}])[0]
    cname = str(cluster.get("name") or "")
    if names:
        where = {**where, "name": ",".join(names)}
    if entity == "cluster":
        rows = [{**cluster, "cluster": cname}]
        return [r for r in rows if _matches(r, where, {"name": "cluster",
                                                       "names": "cluster"})], DEFAULTS["cluster"]
    if entity == "qos":
        rows = ctl.get("/api/accounting/qos/").get("qos") or []
        return [r for r in rows if _matches(r, where, {"name": "name", "names": "name"})
                ], DEFAULTS["qos"]
    assocs = [{**a, "cluster": cname, "_tree": tree}
              for a in ctl.get("/api/accounting/associations/").get("associations") or []]
    if entity == "assoc":
        keys = {"user": "user", "users": "user", "account": "account", "accounts": "account",
                "partition": "partition", "name": "account"}
        return [r for r in assocs if _matches(r, where, keys)], DEFAULTS["assoc"]
    if entity == "account":
        accounts = ctl.get("/api/accounting/accounts/").get("accounts") or []
        keys = {"name": "name", "names": "name", "account": "name", "accounts": "name",
                "parent": "parent"}
        chosen = [{**a, "account": a["name"]} for a in accounts if _matches(a, where, keys)]
        if not opts.assocs:
            return chosen, DEFAULTS["account"]
        info = {a["account"]: a for a in chosen}
        rows = [{**info[r["account"]], **r} for r in assocs if r["account"] in info]
        return rows, DEFAULTS["account_assoc"]
    users = ctl.get("/api/accounting/users/").get("users") or []
    keys = {"name": "name", "names": "name", "user": "name", "users": "name"}
    chosen_users = {u["name"]: {**u, "user": u["name"]} for u in users
                    if _matches(u, where, keys)}
    if not opts.assocs:
        return list(chosen_users.values()), DEFAULTS["user"]
    account_keys = {"account": "account", "accounts": "account", "partition": "partition"}
    rows = [{**chosen_users[r["user"]], **r} for r in assocs
            if r.get("user") in chosen_users and _matches(r, where, account_keys)]
    return rows, DEFAULTS["user_assoc"]


def render(rows: Sequence[Record], spec: str, opts: Options,
           table: Mapping[str, Field] = FIELDS) -> tuple[list[str], list[str]]:
    columns, unknown = parse_names(spec, table, width_mark="%", plain_right=True,
                                   overflow="+")
    columns = [_tree_column(c) if c.key == "Account" and rows and rows[0].get("_tree")
               else c for c in columns]
    errors = [f" Unknown field '{u}'" for u in unknown]
    lines: list[str] = []
    if opts.parsable or opts.parsable2:
        end = "" if opts.parsable2 else "|"
        if not opts.noheader:
            lines.append("|".join(c.field.header for c in columns) + end)
        lines.extend("|".join(c.field.get(r) for c in columns) + end for r in rows)
        return lines, errors
    if not opts.noheader:
        lines.append("".join(c.cell(c.field.header) + " " for c in columns))
        lines.append("".join("-" * c.width + " " for c in columns))
    lines.extend("".join(c.cell(c.field.get(r)) + " " for c in columns) for r in rows)
    return lines, errors


def _tree_column(c: Column) -> Column:
    """``tree``: the account column is 20 wide, left-justified, indented by depth."""
    return Column(c.key, c.field, 20 if c.width == 10 else c.width, False, c.suffix, c.overflow)


def _format(values: dict[str, str]) -> str | None:
    for key in list(values):
        if key.lower() == "format":
            return values.pop(key)
    return None


def do_list(ctl: Ctl, entity: str, opts: Options) -> int:
    names, where, _values, tree = split_words(opts.words[2:])
    spec = _format(where)
    if entity == "event":
        return _list_events(ctl, opts, names, where, spec)
    rows, default = fetch_rows(ctl, entity, opts, names, where, tree)
    return _print(*render(rows, spec or default, opts))


def _list_events(ctl: Ctl, opts: Options, names: list[str], where: dict[str, str],
                 spec: str | None) -> int:
    cluster = str(((ctl.get("/api/accounting/cluster/").get("clusters") or [{}])[0]
                   ).get("name") or "")
    try:
        rows = sacctmgr_events.fetch(ctl, names, where, cluster, datetime.now().astimezone())
    except sacctmgr_events.EventUsage as exc:
        raise Usage("\n".join(exc.args)) from None
    except ValueError as exc:  # drover.timefmt.TimeFormatError: a bad Start= or End=
        raise Usage(f" {exc}") from None
    return _print(*render(rows, spec or sacctmgr_events.DEFAULT, opts, sacctmgr_events.FIELDS))


def _print(lines: list[str], errors: list[str]) -> int:
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        return 1
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")
    return 0


# ---- add / modify / delete ------------------------------------------------------------------


def _assoc_line(cluster: str, account: str, user: str, partition: str = "") -> str:
    line = f"  C = {cluster:<10.10} A = {account:<20.20} U = {user:<9.9}"
    return line + (f" P = {partition}" if partition else "")


def do_add(ctl: Ctl, entity: str, opts: Options, cluster: str) -> int:
    names, where, values, _tree = split_words(opts.words[2:])
    settings = {**where, **values}
    if not names:
        for key in list(settings):
            if key.lower() in ("name", "names"):
                names = [n for n in settings.pop(key).split(",") if n]
    if not names:
        raise Usage(f" Need name of {entity} to add.")
    path = {"account": "accounts", "user": "users", "qos": "qos"}.get(entity)
    if path is None:
        raise Usage(f" Adding a {entity} is not supported.")
    answer = ctl.post(f"/api/accounting/{path}/", {"names": names, "settings": settings})
    added = answer.get("added") or []
    if not added:
        print(" Nothing new added.")
        return 1
    lower = {k.lower(): v for k, v in settings.items()}
    if entity == "account":
        print(" Adding Account(s)")
        for n in added:
            print(f"  {n}")
        print(" Settings")
        print(f"  Description     = {lower.get('description') or _named(added)}")
        org = lower.get("organization") or ("Parent/Account Name" if len(added) > 1
                                             else _org(lower, added[0]))
        print(f"  Organization    = {org}")
        print(" Associations")
        for n in added:
            print(f"  A = {n:<10.10} C = {cluster:<10.10}")
        print(" Settings")
        print(f"  Parent        = {lower.get('parent') or 'root'}")
        _print_limits(settings, skip={"description", "organization", "parent"})
    elif entity == "user":
        print(" Associations =")
        for a in added:
            line = f"  U = {a['user']:<9.9} A = {a['account']:<10.10} C = {cluster:<10.10}"
            print(line + (f" P = {a['partition']}" if a.get("partition") else ""))
        print(" Non Default Settings")
        _print_limits(settings, skip={"account", "defaultaccount", "partition"})
    else:
        print(" Adding QOS(s)")
        for n in added:
            print(f"  {n}")
        print(" Settings")
        _print_limits(settings, skip=set())
    return 0


def _named(added: list[str]) -> str:
    return "Account Name" if len(added) > 1 else added[0]


def _org(lower: Mapping[str, str], name: str) -> str:
    parent = lower.get("parent") or "root"
    return parent if parent != "root" else name


def _print_limits(settings: Mapping[str, str], skip: set[str]) -> None:
    for key, value in settings.items():
        if key.lower() not in skip:
            print(f"  {key:<13} = {value}")


def do_modify(ctl: Ctl, entity: str, opts: Options, cluster: str) -> int:
    names, where, values, _tree = split_words(opts.words[2:])
    if names:
        where = {**where, "name": ",".join(names)}
    answer = ctl.post("/api/accounting/modify/", {"kind": entity, "where": where,
                                                  "settings": values})
    changed = answer.get("modified") or []
    if not changed:
        print(" Nothing modified")
        return 1
    if entity == "user":
        print(" Modified user associations...")
        for c in changed:
            print(_assoc_line(cluster, c["account"], c["user"], c.get("partition") or ""))
    elif entity == "account":
        print(" Modified account associations...")
        for c in changed:
            print(f"  C = {cluster:<10.10} A = {c['name']:<20.20}")
    else:
        print(" Modified qos...")
        for c in changed:
            print(f"  {c['name']}")
    return 0


def do_delete(ctl: Ctl, entity: str, opts: Options, cluster: str) -> int:
    names, where, _values, _tree = split_words(opts.words[2:])
    if names:
        where = {**where, "name": ",".join(names)}
    if not where:
        raise Usage(" No conditions given to remove, not executing.")
    answer = ctl.post("/api/accounting/delete/", {"kind": entity, "where": where})
    deleted = answer.get("deleted") or []
    if not deleted:
        print(" Nothing deleted")
        return 1
    if entity == "user" and any(k.lower().startswith("account") for k in where):
        print(" Deleting user associations...")
        for d in deleted:
            print(_assoc_line(cluster, d["account"], d["user"], d.get("partition") or ""))
    elif entity == "user":
        print(" Deleting users...")
        for n in sorted({d["user"] for d in deleted}):
            print(f"  {n}")
    else:
        print(" Deleting accounts..." if entity == "account" else " Deleting QOS(s)...")
        for d in deleted:
            print(f"  {d['name']}")
    return 0


def _confirm(opts: Options) -> bool:
    if opts.immediate or not sys.stdin.isatty():
        return True
    sys.stdout.write("Would you like to commit changes? (You have 30 seconds to decide)\n"
                     "(N/y): ")
    sys.stdout.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        print(" Changes Discarded")
        return False
    return True


def main(argv: Sequence[str] | None = None, ctl: Ctl | None = None) -> int:
    try:
        opts = parse_argv(sys.argv[1:] if argv is None else argv)
        if opts.version or [w.lower() for w in opts.words] == ["version"]:
            print(VERSION_LINE)
            return 0
        if len(opts.words) < 2 or opts.words[0].lower() not in VERBS:
            raise Usage(f"Unknown command: {' '.join(opts.words) or '(none)'}")
        verb = VERBS[opts.words[0].lower()]
        entity = ENTITIES.get(opts.words[1].lower())
        if entity is None:
            raise Usage(f"Unknown entity: {opts.words[1]}")
    except Usage as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    if ctl is None:
        from drover.cli.common import client

        ctl = client()
    from drover.cli.squeue import api_errors, describe_error

    try:
        if verb == "list":
            return do_list(ctl, entity, opts)
        if entity == "event":
            raise Usage(f" Events can only be listed, not {opts.words[0]}ed.")
        if not _confirm(opts):
            return 1
        cluster = str(((ctl.get("/api/accounting/cluster/").get("clusters") or [{}])[0]
                       ).get("name") or "")
        run = {"add": do_add, "modify": do_modify, "delete": do_delete}[verb]
        return run(ctl, entity, opts, cluster)
    except Usage as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except api_errors() as exc:
        if getattr(exc, "status", None) == 403:
            print(NO_PRIVILEGE, file=sys.stderr)
        elif describe_error(exc) == JOBS_ACTIVE:  # Slurm lists the jobs in its own way
            print(f" Error with request: {JOBS_ACTIVE}", file=sys.stderr)
            for line in getattr(exc, "detail", []) or []:
                print(f"  {line}", file=sys.stderr)
        else:
            for line in getattr(exc, "detail", []) or []:
                print(f" {line}", file=sys.stderr)
            print(f"{PROG}: error: {describe_error(exc)}", file=sys.stderr)
        return 1
    finally:
        sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
