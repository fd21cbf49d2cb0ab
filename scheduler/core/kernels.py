"""The backfill plan's inner loops, compiled (numba).

Each function here is one loop of :mod:`scheduler.core.backfill` or
:mod:`scheduler.core.timeline` over plain arrays: a node's change points
(``pts``, and the free ``cpus``/``mem``/``jobs``/``gres`` at each, as the
timeline keeps them) and a request shape's per-candidate thresholds. Python
calls them once per question; a question touches a few nodes' change points,
so compiled scalar loops beat vectorised numpy calls on small arrays (each of
which costs microseconds before it does any work).

A family's one-node answers live in a segment tree per duration of the
candidates' earliest starts: a leaf is exact while its node's version is the
one it was computed at, and a lower bound after (the plan only fills up within
a cycle, so starts only move later). The leftmost minimum is the answer once it
is exact; a stale minimum is recomputed and the search repeats (lazy
evaluation of monotone keys). Multi-node answers use the same fact the other
way round: a stale node's good start ranges are only too wide.

Compiled on first use and cached next to this file (``cache=True``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np

from scheduler.core.nodes import I64, Mask

F = TypeVar("F", bound=Callable[..., Any])


def _compiled(f: F) -> F:
    """``numba.njit`` with the on-disk cache, keeping ``f``'s signature for mypy."""
    return cast(F, numba.njit(cache=True, nogil=True)(f))


@_compiled
def _fits(i: int, j: int, need_c: int, need_m: int, exclusive: bool, gmask: Mask,
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
def _firsts(c: int, after: int, out: I64, n_len: int, lengths: I64, cols: I64,
            need_c: I64, need_m: I64, ok: Mask, exclusive: bool, gmask: Mask, gcount: I64,
            pts: I64, npts: I64, cpus: I64, mem: I64, jobs: I64, gres: I64,
            slots: int) -> None:
    """``out[l]``: the earliest start on candidate ``c``'s node for ``lengths[l]``, the
    first run of fitting segments lasting that long or reaching the end of the plan
    (``slots``: none). One scan answers every length.

    ``after``: a slot no answer lies before (a stale answer: they only move later).
    The scan starts at the last change point at or before it: a start there is
    good only if the remaining run is long enough, which is what the scan checks."""
    out[:n_len] = slots
    if not ok[c]:
        return
    i = cols[c]
    left = n_len
    run = -1
    first = max(0, int(np.searchsorted(pts[i, :npts[i]], after, side="right")) - 1)
    for j in range(first, npts[i]):
        if _fits(i, j, need_c[c], need_m[c], exclusive, gmask, gcount, cpus, mem, jobs, gres):
            if run < 0:
                run = pts[i, j]
        elif run >= 0:
            for m in range(n_len):
                if out[m] == slots and pts[i, j] - run >= lengths[m]:
                    out[m] = run
                    left -= 1
            if left == 0:
                return
            run = -1
    if run >= 0:
        for m in range(n_len):
            if out[m] == slots:
                out[m] = run


@_compiled
def _set_leaf(trees: I64, m: int, size: int, pos: int, value: int) -> None:
    """Set leaf ``pos`` of tree ``m`` (the column ``trees[:, m]``) and the minima above."""
    k = size + pos
    if trees[k, m] == value:
        return
    trees[k, m] = value
    k //= 2
    while k >= 1:
        low = min(trees[2 * k, m], trees[2 * k + 1, m])
        if trees[k, m] == low:  # and so are the nodes above
            return
        trees[k, m] = low
        k //= 2


@_compiled
def single_fill(trees: I64, size: int, ver: I64, n_len: int, lengths: I64, cols: I64,
                need_c: I64, need_m: I64, ok: Mask, exclusive: bool, gmask: Mask,
                gcount: I64, pts: I64, npts: I64, cpus: I64, mem: I64, jobs: I64, gres: I64,
                version: I64, slots: int) -> None:
    """Fill a family's trees with every candidate's exact earliest starts. The trees
    are the columns of ``trees`` (``[2 * size, length]``: a candidate's answers for
    every length lie together, as a recompute writes them)."""
    out = np.empty(n_len, dtype=np.int64)
    trees[:] = slots
    for c in range(cols.shape[0]):
        ver[c] = version[cols[c]]
        _firsts(c, 0, out, n_len, lengths, cols, need_c, need_m, ok, exclusive, gmask, gcount,
                pts, npts, cpus, mem, jobs, gres, slots)
        for m in range(n_len):
            trees[size + c, m] = out[m]
    for k in range(size - 1, 0, -1):
        for m in range(n_len):
            trees[k, m] = min(trees[2 * k, m], trees[2 * k + 1, m])


@_compiled
def single_query(trees: I64, size: int, ver: I64, which: int, n_len: int, lengths: I64,
                 cols: I64, need_c: I64, need_m: I64, ok: Mask, exclusive: bool,
                 gmask: Mask, gcount: I64, pts: I64, npts: I64, cpus: I64, mem: I64,
                 jobs: I64, gres: I64, version: I64, slots: int) -> tuple[int, int]:
    """The earliest start for ``lengths[which]`` over the candidates, and the
    candidate's position (ties: the lower position); ``(slots, -1)``: none.

    A leaf is exact while its node's version is ``ver``'s, a lower bound after;
    a stale minimum is recomputed, for every length at once, and the search goes on."""
    out = np.empty(n_len, dtype=np.int64)
    while trees[1, which] < slots:
        k = 1
        while k < size:  # down to the leftmost minimum
            k = 2 * k if trees[2 * k, which] <= trees[2 * k + 1, which] else 2 * k + 1
        c = k - size
        i = cols[c]
        if ver[c] == version[i]:
            return trees[k, which], c
        ver[c] = version[i]
        after = trees[k, which]
        for m in range(n_len):
            after = min(after, trees[k, m])
        _firsts(c, after, out, n_len, lengths, cols, need_c, need_m, ok, exclusive, gmask, gcount,
                pts, npts, cpus, mem, jobs, gres, slots)
        for m in range(n_len):
            _set_leaf(trees, m, size, c, out[m])
    return slots, -1


@_compiled
def _rows(c: int, lo: I64, hi: I64, nr: I64, diff: I64, ver: I64, n_len: int, lengths: I64,
          cols: I64, need_c: I64, need_m: I64, ok: Mask, exclusive: bool, gmask: Mask,
          gcount: I64, pts: I64, npts: I64, cpus: I64, mem: I64, jobs: I64, gres: I64,
          version: I64, slots: int) -> int:
    """Recompute candidate ``c``'s good start ranges for every length
    (``lo``/``hi`` ``[length, candidate, range]``, ascending) and keep ``diff``
    (nodes good per slot, as differences, per length) in step. A start ``s`` in the
    segment of change point ``j`` is good when no point where a share does not fit
    lies in ``(s, s + length)``.

    Returns 0, or the number of ranges the row needs when that is more than ``lo``
    holds (the row is left as it was: grow and call again)."""
    i = cols[c]
    k = npts[i]
    good = np.empty(k, dtype=np.bool_)
    nxt_bad = np.empty(k, dtype=np.int64)  # for a good point: the next bad one (slots: none)
    bad = slots
    for j in range(k - 1, -1, -1):
        good[j] = ok[c] and _fits(i, j, need_c[c], need_m[c], exclusive, gmask, gcount, cpus,
                                 mem, jobs, gres)
        if not good[j]:
            bad = pts[i, j]
        nxt_bad[j] = bad
    # Count first, so an overflow changes nothing; a row has at most one range per
    # point, so that is needed only when it has more points than ``lo`` has room.
    for writing in (False, True):
        if not writing and k <= lo.shape[2]:
            continue
        for m in range(n_len):
            if writing:
                for r in range(nr[m, c]):
                    diff[m, lo[m, c, r]] -= 1
                    diff[m, hi[m, c, r] + 1] += 1
            count = 0
            for j in range(k):
                if not good[j] or pts[i, j] >= slots:
                    continue
                end = pts[i, j + 1] if j + 1 < k else slots
                top = min(end, slots) - 1
                if nxt_bad[j] < slots:
                    top = min(top, nxt_bad[j] - lengths[m])
                if top < pts[i, j]:
                    continue
                if writing:
                    lo[m, c, count] = pts[i, j]
                    hi[m, c, count] = top
                    diff[m, pts[i, j]] += 1
                    diff[m, top + 1] -= 1
                count += 1
            if writing:
                nr[m, c] = count
            elif count > lo.shape[2]:
                return count
    ver[c] = version[i]
    return 0


#: Searches that may meet a stale row before it is recomputed (a recompute costs
#: about as much as meeting it this many times).
_PATIENCE = 32


@_compiled
def _good_at(lo: I64, hi: I64, nr: I64, c: int, slot: int) -> bool:
    for r in range(nr[c]):
        if lo[c, r] > slot:
            return False
        if slot <= hi[c, r]:
            return True
    return False


@_compiled
def multi_query(lo: I64, hi: I64, nr: I64, diff: I64, ver: I64, waits: I64, which: int,
                need: int, chosen: I64, n_len: int, lengths: I64, cols: I64, need_c: I64,
                need_m: I64, ok: Mask, exclusive: bool, gmask: Mask, gcount: I64, pts: I64,
                npts: I64, cpus: I64, mem: I64, jobs: I64, gres: I64, version: I64,
                slots: int) -> int:
    """The first slot at which ``need`` candidates are good for ``lengths[which]``, with
    the first ``need`` of them in preference order written to ``chosen`` (``slots``:
    none in the plan).

    Ranges of a row whose node changed since ``ver`` are stale but only too wide
    (good starts only disappear as the plan fills), so the counts are upper bounds
    and the first slot they allow is a lower bound: only the stale rows claiming
    that slot are recomputed (for every length), then the search goes on from it
    (the counts before it only went down). Rows never looked at (``ver`` -1), and
    rows found stale by ``_PATIENCE`` searches (``waits``), are computed first. A
    negative answer: a row needs that many ranges (grow and call again)."""
    size = cols.shape[0]
    stale = np.empty(size, dtype=np.int64)
    n_stale = 0
    ranges = 0  # ranges of rows changed since, recomputed if the search reaches them
    for c in range(size):
        if ver[c] == version[cols[c]]:
            continue
        # A row met stale by many searches is recomputed: cheaper than meeting it again.
        if ver[c] >= 0 and waits[c] < _PATIENCE:
            waits[c] += 1
            stale[n_stale] = c
            n_stale += 1
            ranges += nr[which, c]
            continue
        waits[c] = 0
        wanted = _rows(c, lo, hi, nr, diff, ver, n_len, lengths, cols, need_c, need_m, ok,
                       exclusive, gmask, gcount, pts, npts, cpus, mem, jobs, gres, version,
                       slots)
        if wanted:
            return -wanted
    my_lo, my_hi, my_nr, my_diff = lo[which], hi[which], nr[which], diff[which]
    # Bucketed by first slot (a linked list per slot): the search meets them in order.
    head = np.full(slots, -1, dtype=np.int64)
    link = np.empty(ranges, dtype=np.int64)
    row_of = np.empty(ranges, dtype=np.int64)
    x = 0
    for y in range(n_stale):
        c = stale[y]
        for r in range(my_nr[c]):
            row_of[x] = c
            link[x] = head[my_lo[c, r]]
            head[my_lo[c, r]] = x
            x += 1
    reached = 0  # buckets before this one are done with
    count = 0  # after slot s: the rows good at s (their ranges contain it)
    for s in range(slots):
        count += my_diff[s]
        if count < need:
            continue
        # Stale rows claiming s are recomputed; every stale range starting at or before
        # s is then done with (it ended before s, or its row is fresh now).
        while reached <= s:
            x = head[reached]
            while x >= 0:
                c = row_of[x]
                if ver[c] != version[cols[c]] and _good_at(my_lo, my_hi, my_nr, c, s):
                    waits[c] = 0
                    wanted = _rows(c, lo, hi, nr, diff, ver, n_len, lengths, cols, need_c,
                                   need_m, ok, exclusive, gmask, gcount, pts, npts, cpus,
                                   mem, jobs, gres, version, slots)
                    if wanted:
                        return -wanted
                    if not _good_at(my_lo, my_hi, my_nr, c, s):
                        count -= 1
                x = link[x]
            reached += 1
        if count >= need:  # every row good at s is fresh now
            got = 0
            for c in range(size):
                if _good_at(my_lo, my_hi, my_nr, c, s):
                    chosen[got] = c
                    got += 1
                    if got == need:
                        break
            return s
    return slots


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


@_compiled
def family_first(f: int, which: int, cptr: I64, cols: I64, need_c: I64, need_m: I64, ok: Mask,
                 ver: I64, excl: Mask, gptr: I64, gmask: Mask, gcount: I64, lptr: I64,
                 lengths: I64, size: I64, tptr: I64, trees: I64, filled: Mask, pts: I64,
                 npts: I64, cpus: I64, mem: I64, jobs: I64, gres: I64, version: I64,
                 slots: int) -> tuple[int, int]:
    """:func:`single_query` for one-node family ``f`` of a plan's flat store (see
    :class:`scheduler.core.single_node.SingleNodeFamilies`), filling its trees first
    if they are not yet."""
    a, b = cptr[f], cptr[f + 1]
    if a == b:
        return slots, -1
    la, lb = lptr[f], lptr[f + 1]
    n_len, sz = lb - la, size[f]
    tree = trees[tptr[f]:tptr[f + 1]].reshape((2 * sz, n_len))
    fg, fc = gmask[gptr[f]:gptr[f + 1]], gcount[gptr[f]:gptr[f + 1]]
    if not filled[f]:
        single_fill(tree, sz, ver[a:b], n_len, lengths[la:lb], cols[a:b], need_c[a:b],
                    need_m[a:b], ok[a:b], excl[f], fg, fc, pts, npts, cpus, mem, jobs, gres,
                    version, slots)
        filled[f] = True
    return single_query(tree, sz, ver[a:b], which, n_len, lengths[la:lb], cols[a:b],
                        need_c[a:b], need_m[a:b], ok[a:b], excl[f], fg, fc, pts, npts, cpus,
                        mem, jobs, gres, version, slots)


@_compiled
def family_batch(pos: int, end: int, ints: I64, flags: Mask, node_cpus: I64, node_mem: I64,
                 node_gres: I64, cptr: I64, cols: I64, need_c: I64, need_m: I64, ok: Mask, ver: I64,
                 excl: Mask, gptr: I64, gmask: Mask, gcount: I64, lptr: I64, lengths: I64,
                 size: I64, tptr: I64, trees: I64, filled: Mask, pts: I64, npts: I64,
                 cpus: I64, mem: I64, jobs: I64, gres: I64, version: I64, slots: int) -> int:
    """The backfill of one-node jobs ``pos..end-1`` in queue order (``active`` ones).
    A job is a column of ``ints`` (its family, duration's position in it, slots,
    CPUs and memory held; out: its earliest start and candidate position, -1: none
    in the plan) and of ``flags`` (whole node, may reserve, active). Its reservation
    is taken where ``reserve`` allows
    (``hold_c``/``hold_m`` CPUs and memory, -1 memory: the whole node's, and the
    family's gres as :func:`scheduler.core.select.amounts` picks them; ``whole``:
    the whole node, gres included).

    Returns ``end``; or, where Python must act first, the position ``j`` of a job
    that starts now (nothing taken: the caller starts it) or ``-j - 1`` when the
    node's row needs room for a take (the caller grows the plan and calls again
    from ``j``: the answer is the same)."""
    fam, which, span, hold_c, hold_m, out_slot, out_c = ints
    whole, reserve, active = flags
    held = np.zeros(gres.shape[2], dtype=np.int64)
    for j in range(pos, end):
        if not active[j]:
            continue
        f = fam[j]
        slot, c = family_first(f, which[j], cptr, cols, need_c, need_m, ok, ver, excl, gptr,
                               gmask, gcount, lptr, lengths, size, tptr, trees, filled, pts,
                               npts, cpus, mem, jobs, gres, version, slots)
        out_slot[j] = slot
        out_c[j] = c
        if c < 0:
            continue
        if slot == 0:
            return j
        if not reserve[j]:
            continue
        i = cols[cptr[f] + c]
        if npts[i] + 2 > pts.shape[1]:
            return -j - 1
        stop = min(slots, slot + span[j])
        if whole[j]:
            take(i, slot, stop, node_cpus[i], node_mem[i], node_gres[i], pts, npts, cpus, mem,
                 jobs, gres, version, slots)
        else:
            m = hold_m[j] if hold_m[j] >= 0 else node_mem[i]
            _gres_held(i, slot, stop, gptr[f], gptr[f + 1], gmask, gcount, held, pts, npts,
                       gres, slots)
            take(i, slot, stop, hold_c[j], m, held, pts, npts, cpus, mem, jobs, gres, version,
                 slots)
    return end


@_compiled
def _gres_held(i: int, start: int, stop: int, g0: int, g1: int, gmask: Mask, gcount: I64,
               held: I64, pts: I64, npts: I64, gres: I64, slots: int) -> None:
    """``held``: the gres that requests ``g0..g1-1`` take on node ``i`` over slots
    ``[start, stop)``, each from its columns in order, as far as the least free over
    that time allows."""
    held[:] = 0
    k = npts[i]
    for g in range(g0, g1):
        left = gcount[g]
        for col in range(gmask.shape[1]):
            if left == 0:
                break
            if not gmask[g, col]:
                continue
            free = 1 << 62
            for j in range(k):
                end = pts[i, j + 1] if j + 1 < k else slots
                if pts[i, j] < stop and end > start:
                    free = min(free, gres[i, j, col])
            got = min(left, free - held[col])
            if got > 0:
                held[col] += got
                left -= got
