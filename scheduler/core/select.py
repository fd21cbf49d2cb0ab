"""Fit one job on nodes: consumable CPUs, memory and generic resources.

Everything works on *free views*: arrays of free CPUs, memory, gres and a
running-job count whose last axis is the node, for one instant (shape ``[N]``)
or for every slot of the backfill plan (``[T, N]``), so the same test serves the
main pass and the timeline. A node's *task capacity* is how many of the job's
tasks it can host; selection turns capacities into nodes, preferring lower
Weight, then name.

Two request forms:

* uniform: every node gets ``tasks_per_node`` tasks on exactly ``node_count``
  nodes (``--ntasks-per-node``, ``-N n`` with ``min == max``, or a job that
  fits one node);
* spread: ``ntasks`` over ``nodes_min..nodes_max`` nodes, packed onto the
  preferred nodes first (plain ``-n 8`` on small nodes), one task at least on each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scheduler.core.nodes import I64, Mask, NodeTable, gres_name
from scheduler.core.types import NodeGrant, PendingJob

BIG = np.int64(1 << 40)


@dataclass(frozen=True, slots=True)
class FreeView:
    cpus: I64
    mem: I64
    gres: I64  # [..., N, G]
    jobs: I64


@dataclass(frozen=True, slots=True)
class Request:
    """A job's resource request, resolved against one partition."""

    cpus_per_task: int
    ntasks: int
    nodes_min: int
    nodes_max: int
    tasks_per_node: int | None  # set: uniform
    mem_node: int | None  # MB per node; 0 = the whole node
    mem_cpu: int | None
    gres: tuple[tuple[tuple[int, ...], int], ...]  # (columns, count) per requested name
    gres_req: tuple[tuple[str, int], ...]
    exclusive: bool

    @property
    def uniform(self) -> bool:
        return self.tasks_per_node is not None

    @property
    def node_count(self) -> int:
        """Nodes a uniform request takes."""
        assert self.tasks_per_node is not None
        return max(self.nodes_min, -(-self.ntasks // self.tasks_per_node))

    def single_node(self) -> Request:
        """The same request packed onto one node."""
        return Request(self.cpus_per_task, self.ntasks, 1, 1, self.ntasks, self.mem_node,
                       self.mem_cpu, self.gres, self.gres_req, self.exclusive)


def make_request(job: PendingJob, table: NodeTable, exclusive: bool) -> Request:
    cpt = max(1, job.cpus_per_task)
    nmin = max(1, job.nodes_min)
    ntasks = max(job.ntasks, nmin)
    nmax = job.nodes_max if job.nodes_max is not None else max(ntasks, nmin)
    nmax = max(nmax, nmin)
    tpn: int | None = None
    if job.ntasks_per_node:
        tpn = job.ntasks_per_node
        ntasks = max(ntasks, tpn * nmin)
    elif nmin == nmax:
        tpn = -(-ntasks // nmin)
    mem_node = job.mem_per_node_mb
    mem_cpu = job.mem_per_cpu_mb if mem_node is None else None
    return Request(cpt, ntasks, nmin, nmax, tpn, mem_node, mem_cpu,
                   _gres_columns(job.gres, table), tuple(sorted(job.gres.items())), exclusive)


def _gres_columns(req: Mapping[str, int], table: NodeTable
                  ) -> tuple[tuple[tuple[int, ...], int], ...]:
    out = []
    for key, count in sorted(req.items()):
        if count <= 0:
            continue
        if ":" in key:
            cols = tuple(i for i, k in enumerate(table.gres_keys) if k == key)
        else:
            cols = tuple(i for i, k in enumerate(table.gres_keys) if gres_name(k) == key)
        out.append((cols, count))
    return tuple(out)


def task_capacity(req: Request, view: FreeView, cap_cpus: I64, cap_mem: I64) -> I64:
    """Tasks of ``req`` each node of ``view`` can host (any leading shape, nodes last)."""
    cpt = req.cpus_per_task
    if req.exclusive:
        ok = view.jobs == 0
        k = np.where(ok, np.broadcast_to(cap_cpus // cpt, view.cpus.shape), 0)
    else:
        k = view.cpus // cpt
    if req.mem_node == 0:
        k = np.where(view.mem >= cap_mem, k, 0)
    elif req.mem_node is not None:
        k = np.where(view.mem >= req.mem_node, k, 0)
    elif req.mem_cpu and req.exclusive:
        # An exclusive job holds every CPU of the node, and memory for each of them.
        k = np.where(view.mem >= cap_cpus * req.mem_cpu, k, 0)
    elif req.mem_cpu:
        k = np.minimum(k, view.mem // (cpt * req.mem_cpu))
    for cols, count in req.gres:
        if not cols:
            return np.zeros_like(k)
        have = view.gres[..., list(cols)].sum(axis=-1)
        k = np.where(have >= count, k, 0)
    return np.asarray(k, dtype=np.int64)


def choose(req: Request, capacity: I64, rank: I64) -> list[tuple[int, int]] | None:
    """Nodes and task counts for ``req`` given per-node capacities ``[N]``, or None."""
    if req.uniform:
        assert req.tasks_per_node is not None
        fits = np.flatnonzero(capacity >= req.tasks_per_node)
        need = req.node_count
        if fits.size < need:
            return None
        best = fits[np.argsort(rank[fits], kind="stable")[:need]]
        best = best[np.argsort(rank[best], kind="stable")]
        tasks = uniform_tasks(req, need)
        return [(int(i), t) for i, t in zip(best, tasks, strict=True)]
    return _choose_spread(req, capacity, rank)


def uniform_tasks(req: Request, count: int) -> list[int]:
    assert req.tasks_per_node is not None
    left, out = req.ntasks, []
    for i in range(count):
        t = min(req.tasks_per_node, left - (count - 1 - i)) if left > 0 else 0
        t = max(t, 1)
        out.append(t)
        left -= t
    return out


def _choose_spread(req: Request, capacity: I64, rank: I64) -> list[tuple[int, int]] | None:
    if req.nodes_min <= 1:
        whole = np.flatnonzero(capacity >= req.ntasks)
        if whole.size:
            i = int(whole[np.argmin(rank[whole])])
            return [(i, req.ntasks)]
    fits = np.flatnonzero(capacity >= 1)
    if fits.size < req.nodes_min:
        return None
    fits = fits[np.argsort(rank[fits], kind="stable")]
    caps = np.minimum(capacity[fits], req.ntasks)
    total = np.cumsum(caps)
    reach = int(np.searchsorted(total, req.ntasks)) + 1  # nodes needed in preference order
    if reach > fits.size:
        return None
    count = max(reach, req.nodes_min)
    if count > req.nodes_max:
        return None
    chosen = fits[:count]
    tasks = np.ones(count, dtype=np.int64)
    left = req.ntasks - count
    for j in range(count):
        if left <= 0:
            break
        extra = min(int(caps[j]) - 1, left)
        tasks[j] += extra
        left -= extra
    return [(int(i), int(t)) for i, t in zip(chosen, tasks, strict=True)]


@dataclass(frozen=True, slots=True)
class Amounts:
    """What a choice takes from each chosen node (arrays aligned with ``nodes``)."""

    nodes: npt.NDArray[np.intp]
    cpus: I64
    mem: I64
    gres: I64  # [k, G]


def amounts(req: Request, table: NodeTable, choice: list[tuple[int, int]],
            free_gres: I64) -> tuple[Amounts, Amounts]:
    """(granted, reserved): the grant, and what the plan must hold (a whole node if exclusive).

    ``free_gres`` is ``[k, G]``, the free gres of each chosen node (rows aligned with
    ``choice``) while the job runs; untyped requests take the lowest-sorted types first.
    """
    idx = np.fromiter((i for i, _ in choice), dtype=np.intp, count=len(choice))
    tasks = np.fromiter((t for _, t in choice), dtype=np.int64, count=len(choice))
    cpus = table.cpus[idx].copy() if req.exclusive else tasks * req.cpus_per_task
    if req.mem_node == 0:
        mem = table.mem[idx].copy()
    elif req.mem_node is not None:
        mem = np.full(len(idx), req.mem_node, dtype=np.int64)
    elif req.mem_cpu:
        mem = cpus * req.mem_cpu
    elif req.exclusive:
        mem = table.mem[idx].copy()
    else:
        mem = np.zeros(len(idx), dtype=np.int64)
    gres = np.zeros((len(idx), len(table.gres_keys)), dtype=np.int64)
    for r in range(len(idx)):
        for cols, count in req.gres:
            left = count
            for c in cols:
                take = min(left, int(free_gres[r, c]) - int(gres[r, c]))
                if take > 0:
                    gres[r, c] += take
                    left -= take
    granted = Amounts(idx, cpus, mem, gres)
    if not req.exclusive:
        return granted, granted
    return granted, Amounts(idx, table.cpus[idx].copy(), table.mem[idx].copy(),
                            table.gres[idx].copy())


def to_grants(table: NodeTable, a: Amounts, choice: list[tuple[int, int]]
              ) -> tuple[NodeGrant, ...]:
    out = []
    for r, (i, t) in enumerate(choice):
        g = {table.gres_keys[c]: int(v) for c, v in enumerate(a.gres[r]) if v}
        out.append(NodeGrant(table.names[i], int(a.cpus[r]), int(a.mem[r]), g, t))
    # The batch host is the first node in name order, as in Slurm.
    return tuple(sorted(out, key=lambda g: table.index[g.node]))


def candidates(table: NodeTable, partition: str, feature_mask: Mask,
               req_nodes: Mask | None, exc_nodes: Mask | None) -> Mask:
    m = table.partition_mask(partition) & feature_mask
    if exc_nodes is not None:
        m = m & ~exc_nodes
    if req_nodes is not None:
        m = m & req_nodes
    return m


def fits_required(choice: list[tuple[int, int]], req_nodes: Mask | None) -> bool:
    """A job with ``--nodelist`` must get every listed node."""
    if req_nodes is None:
        return True
    chosen = {i for i, _ in choice}
    return all(int(i) in chosen for i in np.flatnonzero(req_nodes))


def static_capacity(req: Request, table: NodeTable, only_available: bool) -> I64:
    """Task capacity of empty nodes (could the job ever fit?)."""
    view = FreeView(table.cpus, table.mem, table.gres, np.zeros(table.size, dtype=np.int64))
    k = task_capacity(req, view, table.cpus, table.mem)
    if only_available:
        k = np.where(table.available, k, 0)
    return k


def zero_view(n: int, g: int) -> FreeView:
    z = np.zeros(n, dtype=np.int64)
    return FreeView(z, z, np.zeros((n, g), dtype=np.int64), z)


def restrict(capacity: I64, mask: Mask) -> I64:
    return np.where(mask, capacity, 0)


__all__ = ["BIG", "Amounts", "FreeView", "Request", "amounts", "candidates", "choose",
           "fits_required", "make_request", "restrict", "static_capacity", "task_capacity",
           "to_grants", "uniform_tasks", "zero_view"]
