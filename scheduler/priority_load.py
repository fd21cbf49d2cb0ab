"""ORM -> priority inputs: the Priority* parameters, the association tree with decayed
usage, and each pending job's fairshare and QOS factors (scheduler/core/priority.py).

Called from scheduler/snapshot.py (config and pending jobs), the ``/api/priority/``
and ``/api/shares/`` views. Three queries (accounts, associations, QOS), only
under priority/multifactor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from accounting.core import decay
from accounting.core import fairshare as fs
from accounting.models import Account, Association, Qos
from scheduler.core import types as core
from scheduler.core.priority import MULTIFACTOR

DEFAULT_HALF_LIFE_S = 7 * 86_400


def _int(value: str | None) -> int:
    try:
        return int(str(value or "0").strip())
    except ValueError:
        return 0


def _duration_s(text: str | None, default: int) -> int:
    text = (text or "").strip()
    if not text:
        return default
    if text.isdigit():  # PriorityDecayHalfLife=0 disables decay; plain numbers are minutes
        return int(text) * 60
    try:
        from drover.timefmt import parse_time_limit_s

        value = parse_time_limit_s(text)
    except (ImportError, ValueError):
        return default
    return default if value is None else int(value)


def parse_tres_weights(text: str | None) -> dict[str, int]:
    """``PriorityWeightTRES=CPU=1000,Mem=2000,GRES/gpu=3000`` -> {"cpu": 1000, ...}."""
    out: dict[str, int] = {}
    for item in filter(None, (s.strip() for s in (text or "").split(","))):
        key, _, value = item.partition("=")
        key = key.strip().lower()
        if key.startswith("gres/"):
            key = "gres/" + item.split("=", 1)[0].strip()[5:]
        weight = _int(value)
        if key and weight:
            out[key] = weight
    return out


def config_fields(settings: Mapping[str, str]) -> dict[str, Any]:
    """The SchedConfig fields this module owns, from slurm.conf settings."""
    low = {k.lower(): v for k, v in settings.items()}
    flags = frozenset(f.strip().upper() for f in (low.get("priorityflags") or "").split(",")
                      if f.strip())
    favor = (low.get("priorityfavorsmall") or "NO").strip().upper() in ("YES", "1", "TRUE")
    return {
        "weight_fairshare": _int(low.get("priorityweightfairshare")),
        "weight_job_size": _int(low.get("priorityweightjobsize")),
        "weight_qos": _int(low.get("priorityweightqos")),
        "weight_assoc": _int(low.get("priorityweightassoc")),
        "weight_tres": parse_tres_weights(low.get("priorityweighttres")),
        "favor_small": favor,
        "priority_flags": flags,
        "decay_half_life_s": _duration_s(low.get("prioritydecayhalflife"), DEFAULT_HALF_LIFE_S),
        "usage_reset_period": (low.get("priorityusageresetperiod") or "NONE").strip().upper(),
    }


def tree(config: core.SchedConfig, now: int) -> tuple[list[fs.Account], list[fs.User]]:
    """The association tree, each user's usage decayed to ``now``."""
    accounts = [fs.Account(name, parent or "", shares) for name, parent, shares in
                Account.objects.values_list("name", "parent__name", "shares")]
    users = []
    for acct, user, shares, usage, when in Association.objects.values_list(
            "account__name", "user", "shares", "raw_usage", "usage_time"):
        since = None if when is None else int(when.timestamp())
        users.append(fs.User(acct, user, shares,
                             decay.decayed(usage, since, now, config.decay_half_life_s,
                                           config.usage_reset_period)))
    return accounts, users


def shares(config: core.SchedConfig, now: int) -> list[fs.Share]:
    """``sshare``'s rows: Fair Tree unless PriorityFlags has NO_FAIR_TREE."""
    accounts, users = tree(config, now)
    return fs.compute(accounts, users, "NO_FAIR_TREE" not in config.priority_flags)


def annotate(jobs: Sequence[core.PendingJob], config: core.SchedConfig, now: int,
             pending: Iterable[Mapping[str, Any]]) -> list[core.PendingJob]:
    """``jobs`` with account, QOS, fairshare and QOS factors filled in (multifactor only);
    ``pending``: the rows they were read from (``id``, ``account``, ``qos``)."""
    if config.priority_type != MULTIFACTOR or not jobs:
        return list(jobs)
    rows = {r["id"]: (r["account"], r["qos"]) for r in pending}
    factors: dict[tuple[str, str], float] = {}
    defaults: dict[str, str] = {}
    if config.weight_fairshare:
        factors = fs.user_factors(shares(config, now))
        defaults = dict(Association.objects.filter(is_default=True)
                        .values_list("user", "account__name"))
    qos_prio = dict(Qos.objects.values_list("name", "priority"))
    top = max(qos_prio.values(), default=0)
    raw_qos = "NO_NORMAL_QOS" in config.priority_flags
    out = []
    for j in jobs:
        account, qos = rows.get(j.id, ("", ""))
        account = account or defaults.get(j.user, "")
        qp = qos_prio.get(qos or "normal", 0)
        qf = float(qp) if raw_qos else (qp / top if top else 0.0)
        out.append(replace(j, account=account, qos=qos,
                           fairshare=fs.job_factor(factors, account, j.user), qos_factor=qf))
    return out
