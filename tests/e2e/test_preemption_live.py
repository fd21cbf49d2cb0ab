"""QOS preemption through a real controller and agent (its own one-node cluster, configured
with PreemptType=preempt/qos and PreemptMode=REQUEUE)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.livecluster import LiveCluster, running_cluster

FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED"}


@pytest.fixture(scope="module")
def preempt_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCluster]:
    root = tmp_path_factory.mktemp("preempt-cluster")
    with running_cluster(nodes=1, cpus=2, root=root,
                         extra_conf="PreemptType=preempt/qos\nPreemptMode=REQUEUE\n") as c:
        yield c


def test_a_high_qos_job_requeues_a_low_one(preempt_cluster: LiveCluster,
                                           tmp_path: Path) -> None:
    c = preempt_cluster
    for args in (["add", "qos", "low"], ["add", "qos", "high", "Preempt=low"]):
        cp = c.run(["sacctmgr", "-i", *args])
        assert cp.returncode == 0, cp.stdout + cp.stderr
    low = c.sbatch("--qos=low", "-c", "2", "--wrap", "sleep 120", cwd=tmp_path)
    c.wait_state(low, "RUNNING")
    high = c.sbatch("--qos=high", "-c", "2", "--wrap", "echo high", "-o", "high.out",
                    cwd=tmp_path)
    done = c.wait_state(high, FINISHED, timeout=60)
    assert done["state"] == "COMPLETED"
    assert (tmp_path / "high.out").read_text() == "high\n"
    again = c.job(low)
    assert again is not None
    assert again["state"] == "PENDING" and again["restarts"] == 1
    assert again["reason"] == "BeginTime"
    assert c.run(["scancel", str(low)]).returncode == 0
