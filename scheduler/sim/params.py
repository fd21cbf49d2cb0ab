"""slurm.conf-style parameters for a simulation: ``bf_window=1440``, ``PriorityWeightAge=1000``.

Keys are read as slurm.conf spells them (case-insensitive): SchedulerParameters
items (``bf_window`` in minutes, ``bf_resolution`` and ``bf_interval`` in
seconds, ``bf_max_job_user``, ``bf_max_job_test``: jobs the backfill examines,
0 = all, Slurm's default is 500), ``SchedulerType``, ``PriorityType``,
``PriorityMaxAge`` (a Slurm time: ``7-0``), and every ``PriorityWeight<Factor>``
that :class:`SchedConfig` has a ``weight_<factor>`` field for. Any other
``SchedConfig`` field may be given by its own name (``bf_window_s=600``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from drover.slurmconf import SlurmConf
from drover.timefmt import parse_time_limit_s
from scheduler.core.types import SchedConfig


class ParamError(ValueError):
    pass


#: Simulator-only keys (not SchedConfig fields), with their defaults.
SIM_KEYS = {"bf_interval": 30, "bf_max_job_test": 0}


def _int(key: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ParamError(f"{key}={value}: not an integer") from None


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def from_conf(conf: SlurmConf) -> dict[str, str]:
    """The parameters a simulation reads from a parsed slurm.conf."""
    out: dict[str, str] = {}
    for key, value in conf.params.items():
        low = key.lower()
        if low == "schedulerparameters":
            for item in filter(None, (s.strip() for s in value.split(","))):
                k, _, v = item.partition("=")
                if v:
                    out[k.strip()] = v.strip()
        elif low.startswith("priority") or low == "schedulertype":
            out[key] = value
    return out


def build(params: Mapping[str, str], base: SchedConfig | None = None
          ) -> tuple[SchedConfig, dict[str, int]]:
    """(SchedConfig, simulator settings) from ``params``; unknown keys are an error."""
    fields = {f.name: f for f in dataclasses.fields(SchedConfig)}
    changes: dict[str, object] = {}
    sim = dict(SIM_KEYS)
    for key, value in params.items():
        low = key.lower()
        if low in SIM_KEYS:
            sim[low] = _int(key, value)
        elif low == "bf_window":
            changes["bf_window_s"] = _int(key, value) * 60
        elif low == "bf_resolution":
            changes["bf_resolution_s"] = _int(key, value)
        elif low == "schedulertype":
            changes["backfill"] = value.strip().lower() != "sched/builtin"
        elif low == "prioritytype":
            changes["priority_type"] = value.strip()
        elif low in ("prioritymaxage", "prioritydecayhalflife"):
            # Slurm times ([days-]hours:minutes:seconds; a plain number is minutes)
            secs = parse_time_limit_s(value)
            name = "max_age_s" if low == "prioritymaxage" else "decay_half_life_s"
            changes[name] = secs if secs is not None else 0
        elif low == "priorityflags":
            changes["priority_flags"] = frozenset(
                f.strip().upper() for f in value.split(",") if f.strip())
        elif low == "priorityfavorsmall":
            changes["favor_small"] = value.strip().lower() in {"yes", "1", "true"}
        elif low == "priorityusageresetperiod":
            changes["usage_reset_period"] = value.strip().upper()
        elif low == "prioritycalcperiod":
            continue  # usage is recorded at each job's end here
        elif low.startswith("priorityweight"):
            name = "weight_" + _snake(key[len("PriorityWeight"):]) if key[:14] == \
                "PriorityWeight" else "weight_" + low[len("priorityweight"):]
            if name not in fields:
                raise ParamError(f"{key}: no such weight in this core ({name})")
            changes[name] = _int(key, value)
        elif low in fields:
            f = fields[low]
            changes[low] = _convert(key, value, f.type)
        else:
            raise ParamError(f"unknown parameter {key!r}")
    config = dataclasses.replace(base or SchedConfig(), **changes)  # type: ignore[arg-type]
    return config, sim


def _convert(key: str, value: str, kind: object) -> object:
    text = str(kind)
    if "bool" in text:
        return value.strip().lower() in {"1", "yes", "true", "on"}
    if "int" in text:
        return _int(key, value)
    if "float" in text:
        try:
            return float(value)
        except ValueError:
            raise ParamError(f"{key}={value}: not a number") from None
    return value
