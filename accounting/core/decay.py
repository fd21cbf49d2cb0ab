"""Usage decay (PriorityDecayHalfLife) and usage resets (PriorityUsageResetPeriod).

Source: Slurm's *Multifactor Priority Plugin* page, "Fairshare Factor" and the
PriorityDecayHalfLife / PriorityUsageResetPeriod entries of ``slurm.conf(5)``.
Past usage counts less the older it is: usage recorded ``t`` seconds ago
weighs ``0.5 ** (t / half_life)``; a half-life of 0 means no decay. A reset
period clears all usage at the start of each period (midnight, Sunday 00:00,
the first of the month, of the quarter, of the year; UTC here, Slurm uses the
controller's local time). ``NONE`` never resets; ``NOW`` is Slurm's one-off
reset at controller start and is treated as ``NONE`` by these pure functions.

Pure: numbers in, numbers out. :func:`decay_many` is the numpy form.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

PERIODS = ("NONE", "NOW", "DAILY", "WEEKLY", "MONTHLY", "QUARTERLY", "YEARLY")


def factor(elapsed_s: float, half_life_s: int) -> float:
    """The weight of usage ``elapsed_s`` old: ``0.5 ** (elapsed / half_life)`` (1 if no decay)."""
    if half_life_s <= 0 or elapsed_s <= 0:
        return 1.0
    return float(0.5 ** (elapsed_s / half_life_s))


def reset_boundary(now: int, period: str) -> int | None:
    """The start (epoch seconds, UTC) of the reset period containing ``now``; None: no reset."""
    period = period.strip().upper()
    if period in ("", "NONE", "NOW"):
        return None
    t = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "DAILY":
        start = t
    elif period == "WEEKLY":  # Slurm: back to Sunday (tm_mday -= tm_wday)
        start = datetime.fromtimestamp(int(t.timestamp()) - ((t.weekday() + 1) % 7) * 86_400,
                                       UTC)
    elif period == "MONTHLY":
        start = t.replace(day=1)
    elif period == "QUARTERLY":
        start = t.replace(day=1, month=(t.month - 1) // 3 * 3 + 1)
    elif period == "YEARLY":
        start = t.replace(day=1, month=1)
    else:
        raise ValueError(f"invalid PriorityUsageResetPeriod: {period}")
    return int(start.timestamp())


def decayed(usage: float, since: int | None, now: int, half_life_s: int,
            reset_period: str = "NONE") -> float:
    """``usage`` recorded at ``since``, as it counts at ``now`` (0 if a reset came between)."""
    if since is None:
        return usage
    boundary = reset_boundary(now, reset_period)
    if boundary is not None and since < boundary:
        return 0.0
    return usage * factor(now - since, half_life_s)


def add(usage: float, since: int | None, now: int, amount: float, half_life_s: int,
        reset_period: str = "NONE") -> float:
    """Decay ``usage`` to ``now`` and add ``amount`` (the new value is as of ``now``)."""
    return decayed(usage, since, now, half_life_s, reset_period) + amount


def decay_many(usage: npt.NDArray[np.float64], since: npt.NDArray[np.int64], now: int,
               half_life_s: int, reset_period: str = "NONE") -> npt.NDArray[np.float64]:
    """:func:`decayed` over arrays (``since`` < 0 means "never recorded": kept as is)."""
    elapsed = np.maximum(now - since, 0).astype(np.float64)
    out = usage * (np.power(0.5, elapsed / half_life_s) if half_life_s > 0 else 1.0)
    out = np.where(since < 0, usage, out)
    boundary = reset_boundary(now, reset_period)
    if boundary is not None:
        out = np.where((since >= 0) & (since < boundary), 0.0, out)
    return np.asarray(out, dtype=np.float64)
