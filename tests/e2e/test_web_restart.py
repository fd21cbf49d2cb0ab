"""Production: a stop of ``drover web`` is not held by the agents' long polls, and the
agents carry on with the next web process (a restart of the web tier alone)."""

from __future__ import annotations

import pytest

from portal.agentapi import MAX_WAIT_S
from tests.livecluster import production_available, running_cluster

pytestmark = pytest.mark.skipif(not production_available(),
                                reason="needs PostgreSQL and Redis")


def test_a_web_restart_cuts_the_parked_long_polls_and_the_agents_come_back() -> None:
    with running_cluster(nodes=1, mode="production") as cluster:
        cluster.wait_state(cluster.sbatch("--wrap", "true"), "COMPLETED")
        # The agent is now parked in a long poll that would last up to MAX_WAIT_S.
        took = cluster.stop_one("web")
        assert took < MAX_WAIT_S - 10, f"drover web took {took:.1f} s to stop"
        cluster.restart("web")
        cluster.wait_http()
        job = cluster.sbatch("--wrap", "echo after the restart")
        record = cluster.wait_state(job, {"COMPLETED", "FAILED"})
        assert record["state"] == "COMPLETED"
        assert cluster.procs["agent-n1"].poll() is None  # the agent rode it out
