"""The backfill plan: free resources per node over a fixed grid of future time slots.

Slots are aligned to multiples of ``res`` in epoch time (so planned start times
stay put from one cycle to the next): slot 0 is ``[now, base + res)`` and slot
``k >= 1`` is ``[base + k*res, base + (k+1)*res)``, with ``base = now - now % res``
and ``T = bf_window / bf_resolution + 1`` slots; the last slot stands for
everything from the end of the window on. Running jobs release their resources from the first
slot that starts at or after their expected end (a job past its end is taken
to release in slot 1); a job without a time limit never releases inside the plan.

A fixed grid (Slurm rounds to ``bf_resolution`` as well) keeps reservations to
slice arithmetic on ``[T, N]`` arrays: no slot is ever inserted. Each node
column carries a version number bumped on every change, so callers can cache
per-node answers and recompute only the columns that changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scheduler.core.nodes import I64, NodeTable
from scheduler.core.select import Amounts, FreeView
from scheduler.core.types import RunningJob


class Timeline:
    def __init__(self, table: NodeTable, running: Sequence[RunningJob], now: int,
                 window_s: int, resolution_s: int) -> None:
        self.now = now
        self.res = max(1, resolution_s)
        self.base = now - now % self.res
        self.slots = max(1, -(-max(0, window_s) // self.res)) + 1
        n, g, t = table.size, len(table.gres_keys), self.slots
        avail = table.available
        free_cpus = np.where(avail, np.maximum(table.cpus - table.used_cpus, 0), 0)
        free_mem = np.where(avail, np.maximum(table.mem - table.used_mem, 0), 0)
        free_gres = np.where(avail[:, None], np.maximum(table.gres - table.used_gres, 0), 0)
        jobs = np.where(avail, table.used_jobs, 1 << 30)
        d_cpus = np.zeros((t, n), dtype=np.int64)
        d_mem = np.zeros((t, n), dtype=np.int64)
        d_gres = np.zeros((t, n, g), dtype=np.int64)
        d_jobs = np.zeros((t, n), dtype=np.int64)
        for job in running:
            if job.end_time is None:
                continue
            k = min(max(1, self.slot_at(job.end_time)), t)
            if k >= t:
                continue
            for grant in job.grants:
                i = table.index.get(grant.node)
                if i is None or not avail[i]:
                    continue
                d_cpus[k, i] += table.cpus[i] if job.exclusive else grant.cpus
                d_mem[k, i] += table.mem[i] if job.exclusive else grant.mem_mb
                for key, v in grant.gres.items():
                    if key in table.gres_keys:
                        d_gres[k, i, table.gres_keys.index(key)] += v
                d_jobs[k, i] += 1
        # A release never frees more than the node has (the node row is the truth).
        self.cpus: I64 = np.minimum(free_cpus + np.cumsum(d_cpus, axis=0), table.cpus)
        self.mem: I64 = np.minimum(free_mem + np.cumsum(d_mem, axis=0), table.mem)
        self.gres: I64 = np.minimum(free_gres + np.cumsum(d_gres, axis=0), table.gres)
        self.jobs: I64 = np.maximum(jobs - np.cumsum(d_jobs, axis=0), 0)
        self.version: I64 = np.zeros(n, dtype=np.int64)

    def slot_at(self, when: int) -> int:
        """The first slot starting at or after ``when``."""
        if when <= self.now:
            return 0
        return int(-(-(when - self.base) // self.res))

    def time_of(self, slot: int) -> int:
        return self.now if slot == 0 else self.base + slot * self.res

    def span(self, duration_s: int | None) -> int:
        """Slots a job of ``duration_s`` occupies (the whole plan when unlimited)."""
        if duration_s is None:
            return self.slots
        # Slot 0 is short when ``now`` is not on the grid: one more slot keeps a job
        # started now covered to its end (later starts are covered with room to spare).
        extra = 1 if self.now != self.base else 0
        return max(1, min(self.slots, -(-duration_s // self.res) + extra))

    def view(self, rows: slice | int, cols: I64 | slice = slice(None)) -> FreeView:
        return FreeView(self.cpus[rows, cols], self.mem[rows, cols], self.gres[rows, cols],
                        self.jobs[rows, cols])

    def window_min(self, start: int, length: int, cols: I64 | slice = slice(None)) -> FreeView:
        """Free resources on nodes ``cols`` throughout ``[start, start + length)``."""
        rows = slice(start, min(self.slots, start + length))
        return FreeView(self.cpus[rows, cols].min(axis=0), self.mem[rows, cols].min(axis=0),
                        self.gres[rows, cols].min(axis=0), self.jobs[rows, cols].max(axis=0))

    def take(self, a: Amounts, start: int, length: int) -> None:
        """Hold ``a`` from slot ``start`` for ``length`` slots."""
        stop = min(self.slots, start + length)
        rows = slice(start, stop)
        idx = a.nodes
        self.cpus[rows, idx] -= a.cpus
        self.mem[rows, idx] -= a.mem
        self.gres[rows, idx] -= a.gres
        self.jobs[rows, idx] += 1
        self.version[idx] += 1
