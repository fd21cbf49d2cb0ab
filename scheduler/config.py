"""Cluster-wide slurm.conf parameters with Slurm's defaults.

Values are stored as text in ClusterSetting (as slurm.conf writes them); the
typed accessors here are what the rest of the controller reads.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from scheduler.models import ClusterSetting

#: Inside ``cached()``: the stored parameters, read once, by lower-cased key and as stored.
_Stored = tuple[dict[str, str], list[tuple[str, str]]]
_cache: contextvars.ContextVar[_Stored | None] = contextvars.ContextVar(
    "drover_config_cache", default=None)

DEFAULTS: dict[str, str] = {
    "ClusterName": "drover",
    "SlurmctldHost": "localhost",
    "FirstJobId": "1",
    "MaxJobCount": "10000000",
    "MaxArraySize": "1001",
    "MinJobAge": "300",
    "KillWait": "30",
    "SlurmdTimeout": "300",
    "InactiveLimit": "0",
    "OverTimeLimit": "0",
    "EnforcePartLimits": "NO",
    "DefMemPerCPU": "0",
    "DefMemPerNode": "0",
    "MaxMemPerNode": "0",
    "SchedulerType": "sched/backfill",
    "SelectType": "select/cons_tres",
    "SelectTypeParameters": "CR_Core_Memory",
    "PriorityType": "priority/basic",
    "SchedulerParameters": "",
    "AccountingStorageEnforce": "",
    "JobRequeue": "1",
    "GresTypes": "",
    "ReturnToService": "1",
}


def settings_map() -> dict[str, str]:
    """Every parameter, stored values over defaults, keyed as slurm.conf spells them."""
    merged = dict(DEFAULTS)
    lower = {k.lower(): k for k in merged}
    for key, value in _rows():
        merged[lower.get(key.lower(), key)] = value
    return merged


def _rows() -> list[tuple[str, str]]:
    stored = _cache.get()
    if stored is not None:
        return stored[1]
    return list(ClusterSetting.objects.values_list("key", "value"))


@contextlib.contextmanager
def cached() -> Iterator[None]:
    """Read the parameters once for the block (one request: a submission reads
    ten of them); writes inside the block are not seen by ``get``."""
    rows = list(ClusterSetting.objects.values_list("key", "value"))
    token = _cache.set(({k.lower(): v for k, v in rows}, rows))
    try:
        yield
    finally:
        _cache.reset(token)


def get(key: str) -> str:
    stored = _cache.get()
    if stored is not None:
        value = stored[0].get(key.lower())
        return value if value is not None else DEFAULTS.get(key, "")
    row = ClusterSetting.objects.filter(key__iexact=key).values_list("value", flat=True).first()
    if row is not None:
        return row
    return DEFAULTS.get(key, "")


def get_int(key: str) -> int:
    return int(get(key) or 0)


def scheduler_parameters() -> dict[str, str]:
    """SchedulerParameters as a dict.

    ``bf_window=1440,bf_continue`` -> {"bf_window": "1440", "bf_continue": ""}.
    """
    out: dict[str, str] = {}
    for item in filter(None, get("SchedulerParameters").split(",")):
        key, _, value = item.partition("=")
        out[key.strip().lower()] = value.strip()
    return out
