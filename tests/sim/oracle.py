"""An independent textbook simulator to check the replay against: CPU counts only.

The machine is P interchangeable CPUs; the plan is a step function of free CPUs
over time (``[[time, free], ...]``, each value holding until the next time).
Every event (ends, then submits, at one timestamp) runs: the main pass (queue
order while jobs fit), then conservative backfill (each later job takes its
earliest slot in the plan and starts if that is now) or EASY (the first blocked
job reserves; later jobs start only if they fit now without delaying it).
Mu'alem & Feitelson, IEEE TPDS 2001. Deliberately naive: no numpy, no core.
"""

from __future__ import annotations

import heapq

from scheduler.sim.swf import SwfJob

Plan = list[list[int]]


def _earliest(plan: Plan, procs: int, duration: int) -> int:
    for i, (t0, free) in enumerate(plan):
        if free < procs:
            continue
        if all(f >= procs for t, f in plan[i + 1:] if t < t0 + duration):
            return t0
    raise AssertionError("the plan ends with every CPU free")


def _take(plan: Plan, start: int, duration: int, procs: int) -> None:
    for t in (start, start + duration):
        if all(p[0] != t for p in plan):
            k = max(i for i, p in enumerate(plan) if p[0] < t)
            plan.insert(k + 1, [t, plan[k][1]])
    for p in plan:
        if start <= p[0] < start + duration:
            p[1] -= procs


def starts(jobs: list[SwfJob], cpus: int, policy: str) -> dict[int, int]:
    """Each job's start time under ``policy`` (fcfs, backfill, easy), FIFO by submit."""
    todo = sorted(jobs, key=lambda j: (j.submit, j.id))
    pending: list[SwfJob] = []
    running: dict[int, tuple[int, int]] = {}  # id -> (procs, end of its limit)
    ends: list[tuple[int, int]] = []
    out: dict[int, int] = {}
    ai, free = 0, cpus
    while ai < len(todo) or ends:
        now = min(todo[ai].submit if ai < len(todo) else 1 << 62,
                  ends[0][0] if ends else 1 << 62)
        while ends and ends[0][0] <= now:
            free += running.pop(heapq.heappop(ends)[1])[0]
        while ai < len(todo) and todo[ai].submit <= now:
            pending.append(todo[ai])
            ai += 1
        release: dict[int, int] = {}
        for procs, end in running.values():
            release[end] = release.get(end, 0) + procs
        plan: Plan = [[now, free]]
        for t in sorted(release):
            plan.append([t, plan[-1][1] + release[t]])
        started: list[SwfJob] = []
        i = 0
        while i < len(pending) and pending[i].procs <= free:
            started.append(pending[i])
            free -= pending[i].procs
            _take(plan, now, pending[i].limit, pending[i].procs)
            i += 1
        reserved = False
        for job in pending[i:] if policy != "fcfs" else []:
            if policy == "easy" and reserved:
                if job.procs <= free and _earliest(plan, job.procs, job.limit) == now:
                    started.append(job)
                    free -= job.procs
                    _take(plan, now, job.limit, job.procs)
                continue
            t0 = _earliest(plan, job.procs, job.limit)
            _take(plan, t0, job.limit, job.procs)
            if t0 == now:
                started.append(job)
                free -= job.procs
            else:
                reserved = True
        gone = {j.id for j in started}
        pending = [j for j in pending if j.id not in gone]
        for job in started:
            running[job.id] = (job.procs, now + job.limit)
            heapq.heappush(ends, (now + job.run, job.id))
            out[job.id] = now
    return out
