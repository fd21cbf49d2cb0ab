"""Cluster-wide slurm.conf parameters with Slurm's defaults.

Values are stored as text in ClusterSetting (as slurm.conf writes them); the
typed accessors here are what the rest of the controller reads.
"""

from __future__ import annotations

from scheduler.models import ClusterSetting

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
    for key, value in ClusterSetting.objects.values_list("key", "value"):
        merged[lower.get(key.lower(), key)] = value
    return merged


def get(key: str) -> str:
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
