"""The backfill plan's inner loops, compiled (numba).

Each function here is one loop of :mod:`scheduler.core.backfill` or
:mod:`scheduler.core.timeline` over plain arrays: a node's change points
(``pts``, and the free ``cpus``/``mem``/``jobs``/``gres`` at each, as the
timeline keeps them) and a request shape's per-candidate thresholds. Python
calls them once per question; a question touches a few nodes' change points,
so compiled scalar loops beat vectorised numpy calls on small arrays (each of
which costs microseconds before it does any work).

A shape's one-node answers live in a segment tree of per-candidate earliest
starts: a leaf is exact while its node's version is the one it was computed
at, and a lower bound after (the plan only fills up within a cycle, so starts
only move later). The leftmost minimum is the answer once it is exact; a stale
minimum is recomputed and the search repeats (lazy evaluation of monotone
keys).

Compiled on first use and cached next to this file (``cache=True``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

from scheduler.core.nodes import I64, Mask

F = TypeVar("F", bound=Callable[..., Any])


def _compiled(f: F) -> F:
    """``numba.njit`` with the on-disk cache, keeping ``f``'s signature for mypy."""
    return cast(F, numba.njit(cache=True, nogil=True)(f))


@_compiled
def fits(i: int, j: int, need_c: int, need_m: int, exclusive: bool, gmask: Mask,
         gcount: I64, cpus: I64, mem: I64, jobs: I64, gres: I64) -> bool:
    """Whether one share fits on node ``i`` at its change point ``j``."""
    if cpus[i, j] < need_c or mem[i, j] < need_m:
        return False
    if exclusive and jobs[i, j] > 0:
        return False
    for g in range(gcount.shape[0]):
        have = 0
        for col in range(gmask.shape[1]):
            if gmask[g, col]:
                have += gres[i, j, col]
        if have < gcount[g]:
            return False
    return True


@_compiled
def first_start(i: int, need_c: int, need_m: int, exclusive: bool, gmask: Mask,
                gcount: I64, length: int, pts: I64, npts: I64, cpus: I64, mem: I64,
                jobs: I64, gres: I64, slots: int) -> int:
    """The earliest start on node ``i``: the first run of fitting segments lasting
    ``length`` slots or reaching the end of the plan (``slots``: none)."""
    run = -1
    for j in range(npts[i]):
        if fits(i, j, need_c, need_m, exclusive, gmask, gcount, cpus, mem, jobs, gres):
            if run < 0:
                run = pts[i, j]
        elif run >= 0:
            if pts[i, j] - run >= length:
                return run
            run = -1
    return run if run >= 0 else slots


@_compiled
def _set_leaf(tree: I64, size: int, pos: int, value: int) -> None:
    k = size + pos
    tree[k] = value
    k //= 2
    while k >= 1:
        tree[k] = min(tree[2 * k], tree[2 * k + 1])
        k //= 2


@_compiled
def single_init(tree: I64, size: int, ver: I64, cols: I64, need_c: I64, need_m: I64,
                ok: Mask, exclusive: bool, gmask: Mask, gcount: I64, length: int,
                pts: I64, npts: I64, cpus: I64, mem: I64, jobs: I64, gres: I64,
                version: I64, slots: int) -> None:
    """Fill a shape's tree with every candidate's exact earliest start."""
    tree[:] = slots
    for c in range(cols.shape[0]):
        i = cols[c]
        ver[c] = version[i]
        if ok[c]:
            tree[size + c] = first_start(i, need_c[c], need_m[c], exclusive, gmask, gcount,
                                         length, pts, npts, cpus, mem, jobs, gres, slots)
    for k in range(size - 1, 0, -1):
        tree[k] = min(tree[2 * k], tree[2 * k + 1])


@_compiled
def single_query(tree: I64, size: int, ver: I64, cols: I64, need_c: I64, need_m: I64,
                 ok: Mask, exclusive: bool, gmask: Mask, gcount: I64, length: int,
                 pts: I64, npts: I64, cpus: I64, mem: I64, jobs: I64, gres: I64,
                 version: I64, slots: int) -> tuple[int, int]:
    """The earliest start over a shape's candidates and the candidate's position
    (ties: the lower position); ``(slots, -1)`` when none starts in the plan."""
    while tree[1] < slots:
        k = 1
        while k < size:  # down to the leftmost minimum
            k = 2 * k if tree[2 * k] <= tree[2 * k + 1] else 2 * k + 1
        c = k - size
        i = cols[c]
        if ver[c] == version[i]:
            return tree[k], c
        ver[c] = version[i]
        value = slots
        if ok[c]:
            value = first_start(i, need_c[c], need_m[c], exclusive, gmask, gcount, length,
                                pts, npts, cpus, mem, jobs, gres, slots)
        _set_leaf(tree, size, c, value)
    return slots, -1


@_compiled
def multi_update(lo: I64, hi: I64, nr: I64, ver: I64, diff: I64, cols: I64, need_c: I64,
                 need_m: I64, ok: Mask, exclusive: bool, gmask: Mask, gcount: I64,
                 length: int, pts: I64, npts: I64, cpus: I64, mem: I64, jobs: I64,
                 gres: I64, version: I64, slots: int) -> int:
    """Recompute the good start ranges of every candidate whose node changed since
    ``ver`` (-1: never looked) and keep ``diff`` (nodes good per slot, as
    differences) in step. A start ``s`` in the segment of change point ``j`` is good when no point
    where a share does not fit lies in ``(s, s + length)``.

    Returns 0, or the number of ranges a row needs when that is more than ``lo``
    holds (nothing of that row changed yet: grow and call again)."""
    width = lo.shape[1]
    for c in range(cols.shape[0]):
        i = cols[c]
        if ver[c] == version[i]:
            continue
        k = npts[i]
        # Count this row's ranges first, so an overflow leaves the row untouched.
        count = 0
        bad = slots
        for j in range(k - 1, -1, -1):
            good = ok[c] and fits(i, j, need_c[c], need_m[c], exclusive, gmask, gcount,
                                  cpus, mem, jobs, gres)
            if not good:
                bad = pts[i, j]
                continue
            end = pts[i, j + 1] if j + 1 < k else slots
            top = min(end, slots) - 1
            if bad < slots:
                top = min(top, bad - length)
            if pts[i, j] < slots and top >= pts[i, j]:
                count += 1
        if count > width:
            return count
        for r in range(nr[c]):
            diff[lo[c, r]] -= 1
            diff[hi[c, r] + 1] += 1
        r = count
        bad = slots
        for j in range(k - 1, -1, -1):
            good = ok[c] and fits(i, j, need_c[c], need_m[c], exclusive, gmask, gcount,
                                  cpus, mem, jobs, gres)
            if not good:
                bad = pts[i, j]
                continue
            end = pts[i, j + 1] if j + 1 < k else slots
            top = min(end, slots) - 1
            if bad < slots:
                top = min(top, bad - length)
            if pts[i, j] < slots and top >= pts[i, j]:
                r -= 1  # filled from the right: ranges stay in ascending order
                lo[c, r] = pts[i, j]
                hi[c, r] = top
                diff[pts[i, j]] += 1
                diff[top + 1] -= 1
        nr[c] = count
        ver[c] = version[i]
    return 0


@_compiled
def multi_answer(lo: I64, hi: I64, nr: I64, diff: I64, need: int, slots: int,
                 chosen: I64) -> int:
    """The first slot at which ``need`` candidates are good, with the first ``need`` of
    them in preference order written to ``chosen`` (``slots``: none in the plan)."""
    count = 0
    slot = slots
    for s in range(slots):
        count += diff[s]
        if count >= need:
            slot = s
            break
    if slot == slots:
        return slots
    got = 0
    for c in range(nr.shape[0]):
        for r in range(nr[c]):
            if lo[c, r] <= slot <= hi[c, r]:
                chosen[got] = c
                got += 1
                break
            if lo[c, r] > slot:
                break
        if got == need:
            break
    return slot


@_compiled
def take(i: int, start: int, stop: int, cpus_held: int, mem_held: int, gres_held: I64,
         pts: I64, npts: I64, cpus: I64, mem: I64, jobs: I64, gres: I64, version: I64,
         slots: int) -> None:
    """Hold resources on node ``i`` over slots ``[start, stop)`` (``stop >= slots``: to
    the end of the plan, padding included). The row needs room for two more points."""
    k = npts[i]
    lo = _insert_point(i, start, 0, k, pts, cpus, mem, jobs, gres)
    if lo < 0:
        lo = -lo - 1
    else:
        k += 1
    if stop < slots:
        hi = _insert_point(i, stop, lo, k, pts, cpus, mem, jobs, gres)
        if hi < 0:
            hi = -hi - 1
        else:
            k += 1
    else:
        hi = pts.shape[1]
    npts[i] = k
    for j in range(lo, hi):
        cpus[i, j] -= cpus_held
        mem[i, j] -= mem_held
        jobs[i, j] += 1
        for g in range(gres_held.shape[0]):
            gres[i, j, g] -= gres_held[g]
    version[i] += 1


@_compiled
def _insert_point(i: int, slot: int, frm: int, k: int, pts: I64, cpus: I64, mem: I64,
                  jobs: I64, gres: I64) -> int:
    """Make ``slot`` a change point of node ``i`` (``k`` points, searching from
    ``frm``), with the values of the point before it. Returns its position, or
    ``-position - 1`` when it already was one."""
    pos = frm
    while pos < k and pts[i, pos] < slot:
        pos += 1
    if pos < k and pts[i, pos] == slot:
        return -pos - 1
    for j in range(k, pos, -1):
        pts[i, j] = pts[i, j - 1]
        cpus[i, j] = cpus[i, j - 1]
        mem[i, j] = mem[i, j - 1]
        jobs[i, j] = jobs[i, j - 1]
        gres[i, j, :] = gres[i, j - 1, :]
    pts[i, pos] = slot
    # The values before ``slot`` hold at it too (``pos >= 1``: point 0 is slot 0).
    cpus[i, pos] = cpus[i, pos - 1]
    mem[i, pos] = mem[i, pos - 1]
    jobs[i, pos] = jobs[i, pos - 1]
    gres[i, pos, :] = gres[i, pos - 1, :]
    return pos
