"""The backfill plan's one-node families, kept in one flat store.

A family (see :class:`scheduler.core.backfill._Family`) is the shapes on the same
candidates with the same per-candidate thresholds, differing only in duration;
its answers are one segment tree per duration of each candidate's earliest start
(:func:`scheduler.core.kernels.single_query`). Here every one-node family of a
cycle lives in the same few arrays, family ``f``'s part of each found through
offsets (``cptr`` for its candidates, ``lptr`` for its durations, ``tptr`` for
its trees, ``gptr`` for its gres requests). One compiled call can then answer,
and reserve for, a whole run of one-node jobs in queue order
(:func:`scheduler.core.kernels.family_batch`) without coming back to Python for
each: most of a queue is one-node jobs, and Python's cost per job was most of a
cycle's.

Families and durations are added while the plan is prepared; the arrays are
built at the first question. One added after that rebuilds them (every family
is then filled afresh): correct, only slower, and the plan's ``prepare`` makes
it not happen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from scheduler.core import kernels
from scheduler.core.nodes import I64, Mask
from scheduler.core.timeline import Timeline

if TYPE_CHECKING:
    from scheduler.core.backfill import Fit


class Store(NamedTuple):
    """The flat arrays, in :func:`scheduler.core.kernels.family_first`'s order."""

    cptr: I64  # family -> its candidates' offset
    cols: I64  # the candidates (node columns, preference order), then their thresholds:
    need_c: I64
    need_m: I64
    ok: Mask
    ver: I64  # each candidate's node version when last computed (-1: never)
    excl: Mask  # family -> exclusive
    gptr: I64  # family -> its gres requests' offset
    gmask: Mask  # [request, gres column]
    gcount: I64
    lptr: I64  # family -> its durations' offset
    lengths: I64
    size: I64  # family -> leaves per tree
    tptr: I64  # family -> its trees' offset (one tree per duration)
    trees: I64
    filled: Mask  # family -> trees computed


def _offsets(counts: Sequence[int]) -> I64:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


class SingleNodeFamilies:
    def __init__(self, timeline: Timeline) -> None:
        self.tl = timeline
        self.fits: list[Fit] = []
        self.by_key: dict[tuple[object, ...], int] = {}
        #: Per family: each duration (slots) -> its position in the family.
        self.positions: list[dict[int, int]] = []
        self.built = False
        self.arrays: Store | None = None

    def family(self, fit: Fit) -> int:
        """The family of ``fit`` (one-node), added if new."""
        f = self.by_key.get(fit.family)
        if f is None:
            f = self.by_key[fit.family] = len(self.fits)
            self.fits.append(fit)
            self.positions.append({})
            self.built = False
        return f

    def index(self, f: int, length: int) -> int:
        """The position of duration ``length`` in family ``f``, adding it."""
        positions = self.positions[f]
        found = positions.get(length)
        if found is None:
            found = positions[length] = len(positions)
            self.built = False
        return found

    def first(self, f: int, which: int) -> tuple[int, int]:
        """Family ``f``'s earliest start for its duration ``which`` and the candidate
        position (``(slots, -1)``: none in the plan)."""
        return kernels.family_first(f, which, *self.store(), *self.tl.plan_arrays())

    def store(self) -> Store:
        if self.arrays is None or not self.built:
            self.arrays = self._build()
            self.built = True
        return self.arrays

    def _build(self) -> Store:
        fits, gres_cols = self.fits, self.tl.no_gres.size
        counts = [fit.cols.size for fit in fits]
        sizes = [1 << max(0, c - 1).bit_length() for c in counts]
        n_len = [len(p) for p in self.positions]

        def flat(parts: list[I64]) -> I64:
            return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

        gmask = (np.concatenate([fit.gmask for fit in fits]) if fits
                 else np.zeros((0, gres_cols), dtype=np.bool_))
        tptr = _offsets([n * 2 * s for n, s in zip(n_len, sizes, strict=True)])
        return Store(
            _offsets(counts), flat([fit.cols for fit in fits]),
            flat([fit.need_c for fit in fits]), flat([fit.need_m for fit in fits]),
            (np.concatenate([fit.ok for fit in fits]) if fits
             else np.zeros(0, dtype=np.bool_)),
            np.full(sum(counts), -1, dtype=np.int64),
            np.array([fit.max_jobs == 0 for fit in fits], dtype=np.bool_),
            _offsets([fit.gmask.shape[0] for fit in fits]),
            np.ascontiguousarray(gmask, dtype=np.bool_), flat([fit.gcount for fit in fits]),
            _offsets(n_len),
            flat([np.fromiter(p, dtype=np.int64, count=len(p)) for p in self.positions]),
            np.array(sizes, dtype=np.int64), tptr, np.zeros(int(tptr[-1]), dtype=np.int64),
            np.zeros(len(fits), dtype=np.bool_))
