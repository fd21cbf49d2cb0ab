"""Read side of sacctmgr: accounts, users, associations (in tree order), QOS, the cluster.

Plain JSON-able dicts for ``/api/accounting/...``; limit fields keep the model's
names (``grp_tres``, ``max_jobs_per_user``, ``max_wall_min`` ...).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib.auth import get_user_model

from accounting.actions import LIMIT_FIELDS
from accounting.models import Account, Association, Limits, Qos


def _limits(row: Limits) -> dict[str, Any]:
    return {f: getattr(row, f) for f in LIMIT_FIELDS}


def account_records() -> list[dict[str, Any]]:
    rows = Account.objects.select_related("parent").order_by("name")
    return [{"name": a.name, "description": a.description, "organization": a.organization,
             "parent": a.parent.name if a.parent else "", "shares": a.shares, **_limits(a)}
            for a in rows]


def association_records() -> list[dict[str, Any]]:
    """Account rows and their users' rows, depth first as ``sacctmgr show assoc`` lists them."""
    accounts = list(Account.objects.order_by("name"))
    children: dict[int | None, list[Account]] = defaultdict(list)
    ids = {a.pk for a in accounts}
    for a in accounts:
        children[a.parent_id if a.parent_id in ids else None].append(a)
    users: dict[int, list[Association]] = defaultdict(list)
    for assoc in Association.objects.prefetch_related("qos").order_by("user", "partition"):
        users[assoc.account_id].append(assoc)
    out: list[dict[str, Any]] = []

    def walk(account: Account, depth: int, parent: str) -> None:
        qos = sorted({q.name for u in users[account.pk] for q in u.qos.all()}) or ["normal"]
        out.append({"account": account.name, "user": "", "partition": "",
                    "parent_account": parent, "shares": account.shares, "is_default": False,
                    "qos": qos, "default_qos": "", "depth": depth, **_limits(account)})
        for u in users[account.pk]:
            out.append({"account": account.name, "user": u.user, "partition": u.partition,
                        "parent_account": "", "shares": u.shares, "is_default": u.is_default,
                        "qos": sorted(q.name for q in u.qos.all()),
                        "default_qos": u.default_qos, "depth": depth + 1,
                        "coordinator": u.is_coordinator, **_limits(u)})
        for child in children.get(account.pk, []):
            walk(child, depth + 1, account.name)

    for top in children.get(None, []):
        walk(top, 0, "")
    return out


def user_records() -> list[dict[str, Any]]:
    defaults: dict[str, str] = {}
    coord: dict[str, list[str]] = defaultdict(list)
    for assoc in Association.objects.select_related("account").order_by("user", "id"):
        if assoc.is_default or assoc.user not in defaults:
            defaults[assoc.user] = assoc.account.name
        if assoc.is_coordinator:
            coord[assoc.user].append(assoc.account.name)
    staff = set(get_user_model().objects.filter(is_staff=True).values_list(
        "username", flat=True))
    return [{"name": name, "default_account": defaults[name],
             "admin": "Administrator" if name == "root" or name in staff else "None",
             "coordinators": coord.get(name, [])} for name in sorted(defaults)]


def qos_records() -> list[dict[str, Any]]:
    rows = Qos.objects.prefetch_related("preempt").order_by("id")
    return [{"name": q.name, "priority": q.priority, "description": q.description,
             "preempt": sorted(p.name for p in q.preempt.all()),
             "preempt_mode": q.preempt_mode, "flags": q.flags,
             "usage_factor": q.usage_factor, **_limits(q)} for q in rows]


def cluster_record(settings: dict[str, str]) -> dict[str, Any]:
    host = settings.get("SlurmctldHost", "localhost")
    return {"name": settings.get("ClusterName", "drover"), "control_host": host,
            "control_port": int(settings.get("SlurmctldPort", "6817").split("-")[0] or 0),
            "rpc": 9728, "shares": 1, "qos": ["normal"], "default_qos": ""}
