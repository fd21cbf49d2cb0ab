"""The HPC2N subset against the reference figures (240 CPUs, age-only priority).

The reference: Slurm-style backfill (every examined job holds a reservation)
3,665 s average wait and 17.42 bounded slowdown; EASY 3,543 s and 16.46; FCFS
5,614 s and 47.31. Exact times (bf_resolution 1 s, backfill at every event) as
the reference simulator used; see bench/RESULTS-sim.md for the other modes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.core.types import SchedConfig
from scheduler.sim import engine, metrics, swf

REFERENCE = {"backfill": (3665, 17.42), "easy": (3543, 16.46), "fcfs": (5614, 47.31)}


def figures(path: Path, policy: str, interval: int = 0, resolution: int = 1
            ) -> dict[str, float]:
    trace = swf.load(path)
    config = engine.SimConfig(nodes=1, cpus_per_node=240, policy=policy,
                              bf_interval_s=interval,
                              sched=SchedConfig(bf_resolution_s=resolution))
    out = metrics.summarize(engine.Simulator(trace.jobs, config).run(), 240)
    return {k: float(out[k]) for k in ("jobs", "avg_wait_s", "avg_bsld", "utilization")}


@pytest.mark.parametrize("policy", ["backfill", "easy", "fcfs"])
def test_hpc2n_lands_within_2_percent_of_the_reference(hpc2n: Path, policy: str) -> None:
    out = figures(hpc2n, policy)
    wait, bsld = REFERENCE[policy]
    assert out["jobs"] == 3145
    assert out["avg_wait_s"] == pytest.approx(wait, rel=0.02)
    assert out["avg_bsld"] == pytest.approx(bsld, rel=0.02)
    if policy == "backfill":
        assert out["utilization"] == pytest.approx(0.397, abs=0.001)


def test_hpc2n_with_slurm_defaults_stays_within_2_percent(hpc2n: Path) -> None:
    # bf_interval 30 s, bf_resolution 60 s: the periodic backfill Slurm runs.
    out = figures(hpc2n, "backfill", interval=30, resolution=60)
    assert out["avg_wait_s"] == pytest.approx(3665, rel=0.02)
    assert out["avg_bsld"] == pytest.approx(17.42, rel=0.02)


@pytest.mark.parametrize("policy", ["fcfs", "backfill", "easy"])
def test_every_hpc2n_start_matches_the_textbook_simulator(hpc2n: Path, policy: str) -> None:
    from tests.sim import oracle

    jobs = list(swf.load(hpc2n).jobs)
    config = engine.SimConfig(nodes=1, cpus_per_node=240, policy=policy, bf_interval_s=0,
                              sched=SchedConfig(bf_resolution_s=1))
    ours = {r.id: r.start for r in engine.Simulator(jobs, config).run()}
    assert ours == oracle.starts(jobs, 240, policy)
