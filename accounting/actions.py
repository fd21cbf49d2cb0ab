"""The only writers of accounts, users (associations) and QOS: sacctmgr's add, modify, delete.

Settings arrive as sacctmgr writes them (``GrpTRES=cpu=10``, ``MaxJobs=5``,
``MaxWall=1-00:00:00``, ``-1`` clears a limit) and are parsed here, so the
command line and the portal share one set of rules. Writes need an operator;
an account coordinator may add, modify and delete users of the accounts it
coordinates. Reads (the ``*_records`` functions) are plain data for the API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from accounting import tres
from accounting.models import Account, Association, Limits, Qos


@dataclass(frozen=True)
class Actor:
    """Who asks: the caller (portal) decides whether the user is an operator."""

    username: str
    operator: bool = False


@dataclass
class AccountingError(Exception):
    """A refusal: ``name`` is a Slurm errno name (scheduler.actions.errors.ERRORS), as
    SlurmError takes it; the API turns one into the other (accounting imports no scheduler)."""

    name: str
    detail: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join([self.name, *self.detail])


def _error(name: str, *detail: str) -> AccountingError:
    return AccountingError(name, [d for d in detail if d])

LIMIT_FIELDS = ("grp_tres", "grp_jobs", "grp_submit_jobs", "grp_wall_min", "max_tres_per_job",
                "max_tres_per_node", "max_tres_per_user", "max_jobs_per_user",
                "max_submit_jobs_per_user", "max_wall_min")
#: sacctmgr's names (lower-cased, with its abbreviations) -> model fields.
LIMIT_NAMES = {
    "grptres": "grp_tres", "grpjobs": "grp_jobs", "grpsubmitjobs": "grp_submit_jobs",
    "grpsubmit": "grp_submit_jobs", "grpwall": "grp_wall_min",
    "maxtres": "max_tres_per_job", "maxtresperjob": "max_tres_per_job",
    "maxtrespj": "max_tres_per_job", "maxtrespernode": "max_tres_per_node",
    "maxtrespn": "max_tres_per_node", "maxtresperuser": "max_tres_per_user",
    "maxtrespu": "max_tres_per_user", "maxjobs": "max_jobs_per_user",
    "maxjobsperuser": "max_jobs_per_user", "maxjobspu": "max_jobs_per_user",
    "maxsubmitjobs": "max_submit_jobs_per_user", "maxsubmit": "max_submit_jobs_per_user",
    "maxsubmitjobsperuser": "max_submit_jobs_per_user", "maxsubmitpu": "max_submit_jobs_per_user",
    "maxwall": "max_wall_min", "maxwalldurationperjob": "max_wall_min",
}
OTHER_NAMES = {
    "account": {"description": "description", "organization": "organization",
                "parent": "parent", "fairshare": "shares", "share": "shares",
                "shares": "shares"},
    "user": {"defaultaccount": "default_account", "defaultqos": "default_qos",
             "qos": "qos", "qos+": "qos_add", "qos-": "qos_remove", "fairshare": "shares",
             "share": "shares", "shares": "shares",
             "partition": "partition", "account": "account"},
    "qos": {"priority": "priority", "description": "description", "flags": "flags",
            "usagefactor": "usage_factor", "preemptmode": "preempt_mode",
            "preempt": "preempt"},
}
#: Slurm 22.05's QOS flags (man sacctmgr), by lower-cased name.
QOS_FLAGS = {f.lower(): f for f in (
    "DenyOnLimit", "EnforceUsageThreshold", "NoDecay", "NoReserve", "OverPartQOS",
    "PartitionMaxNodes", "PartitionMinNodes", "PartitionTimeLimit", "RequiresReservation",
    "UsageFactorSafe")}
TRES_FIELDS = ("grp_tres", "max_tres_per_job", "max_tres_per_node", "max_tres_per_user")
WALL_FIELDS = ("grp_wall_min", "max_wall_min")


def _bad(text: str) -> AccountingError:
    return _error("REST_FAIL_PARSING", text)


def parse_settings(kind: str, items: dict[str, str], old: Limits | None = None
                   ) -> dict[str, Any]:
    """``{"MaxJobs": "5", "GrpTRES": "cpu=10"}`` -> model attr values (``-1`` -> cleared)."""
    out: dict[str, Any] = {}
    for key, value in items.items():
        name = key.strip().lower()
        value = str(value).strip()
        attr = LIMIT_NAMES.get(name) or OTHER_NAMES[kind].get(name)
        if attr is None:
            raise _bad(f"Unknown option: {key}={value}")
        if attr in TRES_FIELDS:
            try:
                base = getattr(old, attr) if old is not None else ""
                out[attr] = tres.merge(base, value) if value != "-1" else ""
            except tres.TresError as err:
                raise _bad(str(err)) from None
        elif attr in WALL_FIELDS:
            out[attr] = _wall(value)
        elif attr in ("grp_jobs", "grp_submit_jobs", "max_jobs_per_user",
                       "max_submit_jobs_per_user", "shares", "priority"):
            out[attr] = _count(key, value)
        elif attr == "flags":
            out[attr] = _qos_flags(value)
        elif attr == "usage_factor":
            try:
                out[attr] = float(value)
            except ValueError:
                raise _bad(f"invalid {key}: {value}") from None
        else:
            out[attr] = value
    return out


def _count(key: str, value: str) -> int | None:
    if value == "-1":
        return None
    if not value.isdigit():
        raise _bad(f"invalid {key}: {value}")
    return int(value)


def _qos_flags(value: str) -> str:
    """``DenyOnLimit,NoReserve`` in Slurm's spelling; ``-1`` (or nothing) clears them."""
    if value in ("-1", ""):
        return ""
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n.lower() not in QOS_FLAGS]
    if unknown:
        raise _bad(f"Unknown QOS flag: {unknown[0]} (valid: {', '.join(QOS_FLAGS.values())})")
    return ",".join(dict.fromkeys(QOS_FLAGS[n.lower()] for n in names))


def _wall(value: str) -> int | None:
    if value == "-1":
        return None
    from drover.timefmt import parse_time_limit

    try:
        return parse_time_limit(value)
    except ValueError:
        raise _bad(f"invalid time {value}") from None


def _check_admin(actor: Actor, accounts: list[str] | None = None) -> None:
    """Operators may do anything; a coordinator may touch users of its own accounts."""
    if actor.operator:
        return
    if accounts:
        coordinated = set(Association.objects.filter(
            user=actor.username, is_coordinator=True).values_list(
                "account__name", flat=True))
        if set(accounts) <= coordinated:
            return
    raise _error("ACCESS_DENIED")


def _limits(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in LIMIT_FIELDS}


def _root() -> Account:
    root, _ = Account.objects.get_or_create(
        name="root", defaults={"description": "default root account", "organization": "root"})
    return root


@transaction.atomic
def do_add_accounts(actor: Actor, names: list[str], settings: dict[str, str]) -> list[str]:
    """Add accounts (under ``Parent=``, default root); existing names are skipped."""
    _check_admin(actor)
    values = parse_settings("account", settings)
    parent_name = values.pop("parent", "") or "root"
    parent = _root() if parent_name == "root" else Account.objects.filter(
        name=parent_name).first()
    if parent is None:
        raise _error("INVALID_ACCOUNT", f"parent account {parent_name} does not exist")
    added = []
    for name in names:
        if Account.objects.filter(name=name).exists():
            continue
        org = values.get("organization") or (parent_name if parent_name != "root" else name)
        Account.objects.create(
            name=name, parent=None if name == "root" else parent,
            description=values.get("description") or name, organization=org,
            shares=values.get("shares") or 1, **_limits(values))
        added.append(name)
    return added


@transaction.atomic
def do_add_users(actor: Actor, names: list[str], settings: dict[str, str]) -> list[dict[str, str]]:
    """Add users to accounts (``Account=a,b``, ``DefaultAccount=``); returns the new pairs."""
    values = parse_settings("user", settings)
    accounts = [a for a in str(values.pop("account", "") or values.get("default_account", "")
                               ).split(",") if a]
    if not accounts:
        raise _bad("You need to specify an account")
    _check_admin(actor, accounts)
    known = {a.name: a for a in Account.objects.filter(name__in=accounts)}
    for a in accounts:
        if a not in known:
            raise _error("INVALID_ACCOUNT", f"account {a} does not exist")
    default = values.pop("default_account", "") or accounts[0]
    qos_names = [q for q in str(values.pop("qos", "") or values.pop("qos_add", "")
                                or "").split(",") if q]
    if values.pop("qos_remove", None) is not None:
        raise _bad("QOS-= needs an existing user")
    partition = values.pop("partition", "") or ""
    added = []
    for user in names:
        has_default = Association.objects.filter(user=user, is_default=True).exists()
        for a in accounts:
            assoc, created = Association.objects.get_or_create(
                account=known[a], user=user, partition=partition,
                defaults={"shares": values.get("shares") or 1,
                          "default_qos": values.get("default_qos", ""), **_limits(values)})
            if not created:
                continue
            if not has_default and a == default:
                assoc.is_default = True
                assoc.save(update_fields=["is_default"])
                has_default = True
            _set_qos(assoc, qos_names)
            added.append({"user": user, "account": a, "partition": partition})
    return added


def _set_qos(assoc: Association, names: list[str]) -> None:
    if not names:
        names = ["normal"] if Qos.objects.filter(name="normal").exists() else []
    assoc.qos.set(_qos_named(names))


def _qos_named(names: list[str]) -> list[Qos]:
    """The QOS of these names; INVALID_QOS when one does not exist."""
    found = list(Qos.objects.filter(name__in=names))
    if len(found) != len(set(names)):
        raise _error("INVALID_QOS")
    return found


@transaction.atomic
def do_add_qos(actor: Actor, names: list[str], settings: dict[str, str]) -> list[str]:
    _check_admin(actor)
    values = parse_settings("qos", settings)
    preempt = [p for p in str(values.pop("preempt", "") or "").split(",") if p]
    added = []
    for name in names:
        if Qos.objects.filter(name=name).exists():
            continue
        row = Qos.objects.create(name=name, **values)
        row.preempt.set(Qos.objects.filter(name__in=preempt))
        added.append(name)
    return added


def _where_accounts(where: dict[str, str]) -> Any:
    rows = Account.objects.all()
    for key, value in where.items():
        k = key.lower()
        if k in ("name", "names", "account", "accounts"):
            rows = rows.filter(name__in=value.split(","))
        elif k == "parent":
            rows = rows.filter(parent__name=value)
        else:
            raise _bad(f"Unknown condition: {key}={value}")
    return rows


def _where_users(where: dict[str, str]) -> Any:
    rows = Association.objects.select_related("account")
    for key, value in where.items():
        k = key.lower()
        if k in ("name", "names", "user", "users"):
            rows = rows.filter(user__in=value.split(","))
        elif k in ("account", "accounts"):
            rows = rows.filter(account__name__in=value.split(","))
        elif k == "partition":
            rows = rows.filter(partition__in=value.split(","))
        else:
            raise _bad(f"Unknown condition: {key}={value}")
    return rows


def _where_qos(where: dict[str, str]) -> Any:
    rows = Qos.objects.all()
    for key, value in where.items():
        if key.lower() not in ("name", "names", "qos"):
            raise _bad(f"Unknown condition: {key}={value}")
        rows = rows.filter(name__in=value.split(","))
    return rows


@transaction.atomic
def do_modify(actor: Actor, kind: str, where: dict[str, str], settings: dict[str, str]
              ) -> list[dict[str, str]]:
    """``modify user|account|qos where ... set ...``: the rows changed, as sacctmgr lists them."""
    if not settings:
        raise _bad("You didn't give me anything to set")
    if kind == "user":
        rows = list(_where_users(where))
        _check_admin(actor, sorted({r.account.name for r in rows}))
    elif kind == "account":
        _check_admin(actor)
        rows = list(_where_accounts(where))
    elif kind == "qos":
        _check_admin(actor)
        rows = list(_where_qos(where))
    else:
        raise _bad(f"cannot modify {kind}")
    changed: list[dict[str, str]] = []
    for row in rows:
        values = parse_settings(kind, settings, row)
        _modify_row(kind, row, values)
        changed.append(_modified(kind, row))
    return changed


def _modify_row(kind: str, row: Any, values: dict[str, Any]) -> None:
    if kind == "user":
        if "default_account" in values:
            name = values.pop("default_account")
            Association.objects.filter(user=row.user).update(is_default=False)
            Association.objects.filter(user=row.user, account__name=name).update(
                is_default=True)
            row.refresh_from_db()
        if "qos" in values:
            _set_qos(row, [q for q in values.pop("qos").split(",") if q])
        for change in ("qos_add", "qos_remove"):  # QOS+=a,b / QOS-=a
            if change in values:
                found = _qos_named([q for q in values.pop(change).split(",") if q])
                (row.qos.add if change == "qos_add" else row.qos.remove)(*found)
        values.pop("account", None)
        values.pop("partition", None)
    if kind == "account" and "parent" in values:
        parent = Account.objects.filter(name=values.pop("parent")).first()
        if parent is None or parent.pk == row.pk:
            raise _error("INVALID_ACCOUNT")
        row.parent = parent
    if kind == "qos" and "preempt" in values:
        row.preempt.set(Qos.objects.filter(name__in=values.pop("preempt").split(",")))
    for attr, value in values.items():
        setattr(row, attr, value)
    row.save()


def _modified(kind: str, row: Any) -> dict[str, str]:
    if kind == "user":
        return {"user": row.user, "account": row.account.name, "partition": row.partition}
    return {"name": row.name}


#: The active jobs of (account, user) associations ("" user: any), as sacctmgr lists
#: them; the caller's (accounting knows no jobs).
Busy = Callable[[list[tuple[str, str]]], list[str]]


@transaction.atomic
def do_delete(actor: Actor, kind: str, where: dict[str, str], busy: Busy | None = None
              ) -> list[dict[str, str]]:
    """``delete user|account|qos where ...`` (or ``delete account NAME``); refused, as
    Slurm does, while jobs of the associations removed are active (``busy``)."""
    if kind == "user":
        rows = list(_where_users(where))
        _check_admin(actor, sorted({r.account.name for r in rows}))
        _refuse_if_busy(busy, [(r.account.name, r.user) for r in rows])
        out = [_modified("user", r) for r in rows]
        for r in rows:
            r.delete()
        return out
    _check_admin(actor)
    if kind == "account":
        accounts = list(_where_accounts(where))
        names = {a.name for a in accounts}
        if Account.objects.filter(parent__in=accounts).exclude(name__in=names).exists():
            raise _error("INVALID_ACCOUNT", "the account has child accounts")
        _refuse_if_busy(busy, [(name, "") for name in sorted(names)])
        for a in sorted(accounts, key=lambda a: -_depth(a)):
            a.delete()
        return [{"name": n} for n in sorted(names)]
    if kind == "qos":
        rows = list(_where_qos(where))
        for q in rows:
            q.delete()
        return [{"name": q.name} for q in rows]
    raise _bad(f"cannot delete {kind}")


def _refuse_if_busy(busy: Busy | None, pairs: list[tuple[str, str]]) -> None:
    lines = busy(pairs) if busy is not None and pairs else []
    if lines:
        raise _error("JOBS_RUNNING_ON_ASSOC", *lines)


def _depth(account: Account) -> int:
    depth, seen = 0, set()
    while account.parent_id is not None and account.pk not in seen:
        seen.add(account.pk)
        account = Account.objects.get(pk=account.parent_id)
        depth += 1
    return depth
