"""What a replay measured: wait, bounded slowdown, utilisation, per user.

Definitions (Feitelson, "Metrics for parallel job scheduling and their
convergence", JSSPP 2001):

* wait = start - submit;
* bounded slowdown with tau = 10 s: ``max(1, (wait + run) / max(run, tau))``;
* utilisation = sum(run x procs) / (P x (last end - first submit));
* makespan = last end - first submit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

TAU_S = 10


@dataclass(frozen=True, slots=True)
class JobResult:
    id: int
    user: int
    submit: int
    start: int
    run: int
    procs: int

    @property
    def wait(self) -> int:
        return self.start - self.submit

    @property
    def bsld(self) -> float:
        return max(1.0, (self.wait + self.run) / max(self.run, TAU_S))


def _averages(results: Sequence[JobResult]) -> dict[str, Any]:
    n = len(results)
    return {
        "jobs": n,
        "avg_wait_s": sum(r.wait for r in results) / n if n else 0.0,
        "avg_bsld": sum(r.bsld for r in results) / n if n else 0.0,
    }


def summarize(results: Sequence[JobResult], procs: int) -> dict[str, Any]:
    """The figures as a JSON-ready dict (users keyed by their trace id as text)."""
    out = _averages(results)
    if results:
        first = min(r.submit for r in results)
        last = max(r.start + r.run for r in results)
        span = max(1, last - first)
        out["utilization"] = sum(r.run * r.procs for r in results) / (procs * span)
        out["makespan_s"] = last - first
        out["max_wait_s"] = max(r.wait for r in results)
    else:
        out.update(utilization=0.0, makespan_s=0, max_wait_s=0)
    by_user: dict[int, list[JobResult]] = {}
    for r in results:
        by_user.setdefault(r.user, []).append(r)
    out["users"] = {str(u): _averages(rs) for u, rs in sorted(by_user.items())}
    return out
