"""/api/priority/ (sprio) and /api/shares/ (sshare).

Job rows carry no factors: the factors are computed on demand by the same pure
function the scheduling cycle uses (scheduler.core.priority.compute) over the
current snapshot, so sprio shows what the next cycle will see.
"""

from __future__ import annotations

import math
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounting.core.fairshare import Share
from scheduler import priority_load, snapshot
from scheduler.actions.access import is_operator
from scheduler.actions.errors import SlurmError
from scheduler.core import priority
from scheduler.core.types import SchedConfig
from scheduler.models import Job, JobState

#: Slurm's TRES order in sshare's TRESRunMins.
TRES_ORDER = ("cpu", "mem", "energy", "node", "billing", "fs/disk", "vmem", "pages")


def _csv(request: Request, key: str) -> list[str]:
    return [s.strip() for s in str(request.query_params.get(key) or "").split(",") if s.strip()]


def _weights(config: SchedConfig) -> dict[str, Any]:
    w: dict[str, Any] = dict(priority.weights(config))
    w["tres"] = dict(config.weight_tres)
    return w


class PriorityView(APIView):  # type: ignore[misc]
    @extend_schema(responses=OpenApiTypes.OBJECT,
                   summary="Pending jobs' priority factors (sprio); ?jobs=1,2&user=a,b")
    def get(self, request: Request) -> Response:
        ids: set[int] = set()
        for item in _csv(request, "jobs"):
            base = item.split("_", 1)[0]
            if not base.isdigit():
                raise SlurmError("INVALID_JOB_ID", f"Invalid job id {item}")
            ids.add(int(base))
        users = set(_csv(request, "user"))
        # PrivateData=jobs, as everywhere else: other users' jobs are an operator's to see.
        me = None if is_operator(request.user) else request.user.get_username()
        now = timezone.now()
        loaded = snapshot.load(now)
        config = loaded.config
        pending = [j for j in loaded.snapshot.pending if not j.reason.startswith("JobHeld")]
        parts = {p.name: p for p in loaded.snapshot.partitions}
        factors = priority.compute(pending, parts, config, int(now.timestamp()),
                                   loaded.snapshot.nodes)
        seen: set[int] = set()
        rows = []
        for row in priority.rows(pending, factors, config):
            jid = int(row["job_id"])
            if jid in seen or (ids and jid not in ids) or (users and row["user"] not in users):
                continue
            if me is not None and row["user"] != me:
                continue
            seen.add(jid)
            rows.append(row)
        rows.sort(key=lambda r: int(r["job_id"]))
        return Response({"priority_type": config.priority_type, "weights": _weights(config),
                         "jobs": rows})


def _float(value: float) -> float | str | None:
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "inf"
    return value


def share_record(s: Share) -> dict[str, Any]:
    return {"account": s.account, "user": s.user, "parent": s.parent, "depth": s.depth,
            "raw_shares": s.raw_shares, "norm_shares": s.norm_shares,
            "raw_usage": s.raw_usage, "norm_usage": s.norm_usage,
            "effective_usage": s.effective_usage, "level_fs": _float(s.level_fs),
            "fairshare": _float(s.fairshare)}


def _run_mins(now_s: int) -> dict[tuple[str, str], dict[str, int]]:
    """Per (account, user): the TRES-minutes running jobs have left (TRESRunMins)."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    for acct, user, alloc, start, limit in Job.objects.filter(
            state__in=(JobState.RUNNING, JobState.SUSPENDED)).values_list(
            "account", "user", "alloc", "start_time", "time_limit_min"):
        if start is None or limit is None:
            continue
        left = max(0, limit * 60 - (now_s - int(start.timestamp()))) // 60
        cpus = sum(int(a.get("cpus", 0)) for a in (alloc or {}).values())
        mem = sum(int(a.get("mem_mb", 0)) for a in (alloc or {}).values())
        t = out.setdefault((acct, user), dict.fromkeys(TRES_ORDER, 0))
        t["cpu"] += cpus * left
        t["mem"] += mem * left
        t["node"] += len(alloc or {}) * left
        t["billing"] += cpus * left
    return out


class SharesView(APIView):  # type: ignore[misc]
    @extend_schema(responses=OpenApiTypes.OBJECT,
                   summary="The association tree's shares, usage and fairshare (sshare)")
    def get(self, request: Request) -> Response:
        now = timezone.now()
        now_s = int(now.timestamp())
        config = snapshot.sched_config()
        shares = priority_load.shares(config, now_s)
        run = _run_mins(now_s)
        records = [share_record(s) for s in shares]
        # An account's TRESRunMins is its subtree's: add users into accounts, deepest first.
        totals: dict[int, dict[str, int]] = {}
        index = {(s.account, s.user): i for i, s in enumerate(shares)}
        for i, s in enumerate(shares):
            totals[i] = dict(run.get((s.account, s.user), dict.fromkeys(TRES_ORDER, 0))
                             if s.user else dict.fromkeys(TRES_ORDER, 0))
        for i in sorted(range(len(shares)), key=lambda k: -shares[k].depth):
            s = shares[i]
            parent_key = (s.parent, "") if s.user == "" else (s.account, "")
            p = index.get(parent_key)
            if s.depth > 0 and p is not None:
                for k in TRES_ORDER:
                    totals[p][k] += totals[i][k]
        for i, rec in enumerate(records):
            rec["tres_run_mins"] = ",".join(f"{k}={totals[i][k]}" for k in TRES_ORDER)
            rec["grp_tres_mins"] = ""
        return Response({"fair_tree": "NO_FAIR_TREE" not in config.priority_flags,
                         "shares": records})
