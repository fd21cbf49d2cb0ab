"""Fairshare for a replay: the trace's groups as accounts, its users under them.

Every (group, user) pair met in the trace is an association with one share
under account ``g<group>`` (one share each, under the root). Usage is what the
live controller records (scheduler/priority_load.py): CPU-seconds added when a
job ends, decayed with PriorityDecayHalfLife (:mod:`accounting.core.decay`).
Factors come from :mod:`accounting.core.fairshare` (Fair Tree, or classic with
PriorityFlags=NO_FAIR_TREE) and are recomputed only after usage changed: every
user's usage decays by the same factor between two ends, and both algorithms
read usage only as ratios, so the factors stay put in between.
"""

from __future__ import annotations

from collections.abc import Iterable

from accounting.core import decay
from accounting.core import fairshare as fs
from scheduler.core.types import SchedConfig


def account_of(group: int) -> str:
    return f"g{group}"


class Usage:
    def __init__(self, pairs: Iterable[tuple[int, int]], config: SchedConfig) -> None:
        self.config = config
        self.pairs = sorted(set(pairs))
        self.accounts = [fs.Account(a) for a in sorted({account_of(g) for g, _ in self.pairs})]
        self.usage: dict[tuple[str, str], tuple[float, int]] = {}
        self.version = 0
        self._factors: dict[tuple[str, str], float] = {}
        self._seen = -1

    def add(self, group: int, user: int, cpu_s: float, now: int) -> None:
        key = (account_of(group), str(user))
        old, since = self.usage.get(key, (0.0, now))
        cfg = self.config
        self.usage[key] = (decay.add(old, since, now, cpu_s, cfg.decay_half_life_s,
                                     cfg.usage_reset_period), now)
        self.version += 1

    def factors(self, now: int) -> dict[tuple[str, str], float]:
        """``{(account, user): fairshare factor}`` as of ``now``."""
        if self._seen != self.version:
            cfg = self.config
            users = []
            for g, u in self.pairs:
                key = (account_of(g), str(u))
                used, since = self.usage.get(key, (0.0, now))
                users.append(fs.User(key[0], key[1], 1,
                                     decay.decayed(used, since, now, cfg.decay_half_life_s,
                                                   cfg.usage_reset_period)))
            tree = "NO_FAIR_TREE" not in cfg.priority_flags
            self._factors = fs.user_factors(fs.compute(self.accounts, users, tree))
            self._seen = self.version
        return self._factors
