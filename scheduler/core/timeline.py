"""The backfill plan: each node's free resources as a step function of future time.

Time is counted in slots of ``bf_resolution`` seconds, aligned to multiples of
the resolution in epoch time so planned start times stay put from one cycle to
the next: slot 0 is ``[now, base + res)``, slot ``k >= 1`` starts at
``base + k*res`` (``base = now - now % res``), and the plan ends at slot
``T = bf_window / bf_resolution + 1``, which stands for "the end of the window
and later". Running jobs release their resources at the first slot starting at
or after their expected end (one already past it releases in slot 1); a job
without a time limit never releases inside the plan.

Each node keeps only the slots where its free resources change (``pts[n, j]``,
ascending, first 0; unused entries hold ``T`` and repeat the last values), so a
question about every node costs ``N x K`` with ``K`` the busiest node's number
of changes, not ``N x T``; Slurm keeps one time-ordered list for the same reason.
Each node row carries a version number bumped on every change, so callers can
cache per-node answers and recompute only the nodes that changed since.
The writes run in :mod:`scheduler.core.kernels`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from scheduler.core import kernels
from scheduler.core.nodes import I64, NodeTable
from scheduler.core.select import Amounts, FreeView
from scheduler.core.types import RunningJob

BIG = np.int64(1) << 50


class Timeline:
    def __init__(self, table: NodeTable, running: Sequence[RunningJob], now: int,
                 window_s: int, resolution_s: int) -> None:
        self.now = now
        self.res = max(1, resolution_s)
        self.base = now - now % self.res
        self.slots = max(1, -(-max(0, window_s) // self.res)) + 1
        self.table = table
        n, t = table.size, self.slots
        avail = table.available
        node, slot, vals = self._releases(table, running)
        # One change point per (node, slot): sum what is released there.
        key = node * (t + 1) + slot
        uniq, inv = np.unique(key, return_inverse=True)
        u_node, u_slot = uniq // (t + 1), uniq % (t + 1)
        summed = np.zeros((uniq.size, vals.shape[1]), dtype=np.int64)
        np.add.at(summed, inv, vals)
        per_node = np.bincount(u_node, minlength=n)
        width = 1 + int(per_node.max(initial=0)) + 8
        # Position of each point in its node's row (uniq is sorted by node, then slot).
        starts = np.cumsum(per_node) - per_node
        col = 1 + np.arange(uniq.size) - starts[u_node]
        self.pts: I64 = np.full((n, width), t, dtype=np.int64)
        self.pts[:, 0] = 0
        self.pts[u_node, col] = u_slot
        self.npts: I64 = 1 + per_node.astype(np.int64)
        delta = np.zeros((n, width, vals.shape[1]), dtype=np.int64)
        delta[u_node, col] = summed
        delta = np.cumsum(delta, axis=1)  # padding repeats the last point's values
        cpus0 = np.where(avail, np.maximum(table.cpus - table.used_cpus, 0), 0)
        mem0 = np.where(avail, np.maximum(table.mem - table.used_mem, 0), 0)
        gres0 = np.where(avail[:, None], np.maximum(table.gres - table.used_gres, 0), 0)
        jobs0 = np.where(avail, table.used_jobs, 1 << 30)
        # A release never frees more than the node has (the node row is the truth).
        self.cpus: I64 = np.minimum(cpus0[:, None] + delta[:, :, 0], table.cpus[:, None])
        self.mem: I64 = np.minimum(mem0[:, None] + delta[:, :, 1], table.mem[:, None])
        self.jobs: I64 = np.maximum(jobs0[:, None] - delta[:, :, 2], 0)
        self.gres: I64 = np.minimum(gres0[:, None, :] + delta[:, :, 3:], table.gres[:, None, :])
        #: Bumped on every change of a node's row: callers cache per-node answers with
        #: the version they were computed at.
        self.version: I64 = np.zeros(n, dtype=np.int64)
        self.no_gres: I64 = np.zeros(len(table.gres_keys), dtype=np.int64)

    def _releases(self, table: NodeTable, running: Sequence[RunningJob]
                  ) -> tuple[npt.NDArray[np.intp], I64, I64]:
        """Every release inside the plan: node, slot, and (cpus, mem, jobs, gres...)."""
        t, g, avail = self.slots, len(table.gres_keys), table.available
        key_col = {k: i for i, k in enumerate(table.gres_keys)}
        nodes: list[int] = []
        slots: list[int] = []
        rows: list[list[int]] = []
        for job in running:
            if job.end_time is None:
                continue
            k = max(1, self.slot_at(job.end_time))
            if k >= t:
                continue
            for grant in job.grants:
                i = table.index.get(grant.node)
                if i is None or not avail[i]:
                    continue
                row = [int(table.cpus[i]) if job.exclusive else grant.cpus,
                       int(table.mem[i]) if job.exclusive else grant.mem_mb, 1] + [0] * g
                for key, v in grant.gres.items():
                    if key in key_col:
                        row[3 + key_col[key]] += v
                nodes.append(i)
                slots.append(k)
                rows.append(row)
        return (np.array(nodes, dtype=np.intp), np.array(slots, dtype=np.int64),
                np.array(rows, dtype=np.int64).reshape(len(rows), 3 + g))

    # ---- time ----------------------------------------------------------------------------

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

    # ---- reading -------------------------------------------------------------------------

    def plan_arrays(self) -> tuple[I64, I64, I64, I64, I64, I64, I64, int]:
        """The change points and free amounts, as the compiled loops take them."""
        return (self.pts, self.npts, self.cpus, self.mem, self.jobs, self.gres, self.version,
                self.slots)

    def width(self, cols: npt.NDArray[np.intp]) -> int:
        """Change points worth looking at for nodes ``cols`` (the rest is padding)."""
        return int(self.npts[cols].max(initial=1))

    def now_view(self, cols: npt.NDArray[np.intp] | slice) -> FreeView:
        return FreeView(self.cpus[cols, 0], self.mem[cols, 0], self.gres[cols, 0],
                        self.jobs[cols, 0])

    def segment_ends(self, cols: npt.NDArray[np.intp] | slice, k: int | None = None) -> I64:
        """``pts`` shifted left: where each point's segment ends (``T`` for the last)."""
        p = self.pts[cols] if k is None else self.pts[cols, :k]
        out = np.empty_like(p)
        out[:, :-1] = p[:, 1:]
        out[:, -1] = self.slots
        return out

    def window_min(self, start: int, length: int,
                   cols: npt.NDArray[np.intp] | slice = slice(None)) -> FreeView:
        """Free resources on nodes ``cols`` throughout ``[start, start + length)``."""
        stop = min(self.slots, start + length)
        k = self.width(np.arange(self.table.size)[cols])
        p = self.pts[cols, :k]
        covers = (p < stop) & (self.segment_ends(cols, k) > start)

        def low(a: I64) -> I64:
            return np.asarray(np.where(covers, a, BIG).min(axis=1), dtype=np.int64)

        gres = np.where(covers[:, :, None], self.gres[cols, :k], BIG).min(axis=1)
        jobs = np.where(covers, self.jobs[cols, :k], -1).max(axis=1)
        return FreeView(low(self.cpus[cols, :k]), low(self.mem[cols, :k]), gres, jobs)

    # ---- writing -------------------------------------------------------------------------

    def take(self, a: Amounts, start: int, length: int) -> None:
        """Hold ``a`` from slot ``start`` for ``length`` slots."""
        gres = np.ascontiguousarray(a.gres, dtype=np.int64)
        for r, i in enumerate(a.nodes.tolist()):
            self.take_one(i, start, length, int(a.cpus[r]), int(a.mem[r]), gres[r])

    def take_one(self, i: int, start: int, length: int, cpus: int, mem: int,
                 gres: I64) -> None:
        """Hold ``cpus``, ``mem`` and ``gres`` (one per gres column) on node ``i``."""
        if int(self.npts[i]) + 2 > self.pts.shape[1]:
            self.grow()
        kernels.take(i, start, min(self.slots, start + length), cpus, mem, gres, self.pts,
                     self.npts, self.cpus, self.mem, self.jobs, self.gres, self.version,
                     self.slots)

    def grow(self) -> None:
        """Room for more change points in every row."""
        extra = max(8, self.pts.shape[1])

        def widen(a: I64, fill: int | None = None) -> I64:
            tail = np.repeat(a[:, -1:], extra, axis=1)
            if fill is not None:
                tail[:] = fill
            return np.concatenate([a, tail], axis=1)

        self.pts = widen(self.pts, self.slots)
        self.cpus, self.mem, self.jobs = widen(self.cpus), widen(self.mem), widen(self.jobs)
        self.gres = widen(self.gres)
