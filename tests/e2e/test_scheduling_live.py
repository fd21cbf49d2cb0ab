"""Scheduling features through the real controller and agents: arrays with a % throttle,
dependencies, holds, reservations. Jobs sleep a second or less."""

from __future__ import annotations

import time
from pathlib import Path

from tests.livecluster import LiveCluster

FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
            "PREEMPTED"}


def _tasks(cluster: LiveCluster, array_id: int) -> list[dict[str, object]]:
    jobs = cluster.api("GET", f"/api/jobs/?job={array_id}&all_states=1")["jobs"]
    return [j for j in jobs if j.get("array_job_id") == array_id]


def test_a_throttled_array_runs_at_most_two_tasks_and_each_knows_its_id(
        live_cluster: LiveCluster, tmp_path: Path) -> None:
    script = ("#!/bin/bash\necho task=$SLURM_ARRAY_TASK_ID job=$SLURM_ARRAY_JOB_ID "
              "count=$SLURM_ARRAY_TASK_COUNT\ndate +%s.%N > $SLURM_ARRAY_TASK_ID.start\n"
              "sleep 1\ndate +%s.%N > $SLURM_ARRAY_TASK_ID.end\n")
    array_id = live_cluster.sbatch("--array=0-5%2", "-o", "out_%A_%a.txt", input=script,
                                   cwd=tmp_path)
    most = 0
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        tasks = _tasks(live_cluster, array_id)
        running = [t for t in tasks if t["state"] == "RUNNING"]
        most = max(most, len(running))
        done = [t for t in tasks if t["state"] in FINISHED and t["array_task_id"] is not None]
        if len(done) == 6:
            break
        time.sleep(0.1)
    assert most <= 2
    tasks = _tasks(live_cluster, array_id)
    assert sorted(t["array_task_id"] for t in tasks) == list(range(6))  # type: ignore[type-var]
    assert {t["state"] for t in tasks} == {"COMPLETED"}
    for i in range(6):
        text = (tmp_path / f"out_{array_id}_{i}.txt").read_text()
        assert f"task={i} job={array_id} count=6" in text
    spans = [(float((tmp_path / f"{i}.start").read_text()),
              float((tmp_path / f"{i}.end").read_text())) for i in range(6)]
    for t0, _ in spans:  # at every task's start, at most two were running
        assert sum(1 for s, e in spans if s <= t0 < e) <= 2


def test_dependencies_afterok_afternotok_afterany(live_cluster: LiveCluster,
                                                  tmp_path: Path) -> None:
    # Long enough that the dependants are still waiting when first looked at, under load.
    failing = live_cluster.sbatch("--wrap", "sleep 3; exit 3", cwd=tmp_path)
    ok = live_cluster.sbatch(f"--dependency=afterok:{failing}", "--wrap", "true", cwd=tmp_path)
    notok = live_cluster.sbatch(f"--dependency=afternotok:{failing}", "--wrap", "true",
                                cwd=tmp_path)
    anyway = live_cluster.sbatch(f"--dependency=afterany:{failing}", "--wrap", "true",
                                 cwd=tmp_path)
    assert live_cluster.job(ok)["reason"] in ("Dependency", "None")  # type: ignore[index]
    first = live_cluster.wait_state(failing, FINISHED)
    assert first["state"] == "FAILED"
    for job_id in (notok, anyway):
        rec = live_cluster.wait_state(job_id, FINISHED)
        assert rec["state"] == "COMPLETED"
        assert rec["start_time"] >= first["end_time"]
    deadline = time.monotonic() + 30
    while live_cluster.job(ok)["reason"] != "DependencyNeverSatisfied":  # type: ignore[index]
        assert time.monotonic() < deadline, live_cluster.job(ok)
        time.sleep(0.2)
    assert live_cluster.job(ok)["state"] == "PENDING"  # type: ignore[index]
    assert live_cluster.run(["scancel", str(ok)]).returncode == 0
    live_cluster.wait_state(ok, "CANCELLED")


def test_a_success_releases_afterok(live_cluster: LiveCluster, tmp_path: Path) -> None:
    first = live_cluster.sbatch("--wrap", "sleep 0.5", cwd=tmp_path)
    then = live_cluster.sbatch(f"--dependency=afterok:{first}", "--wrap", "true", cwd=tmp_path)
    a = live_cluster.wait_state(first, FINISHED)
    b = live_cluster.wait_state(then, FINISHED)
    assert (a["state"], b["state"]) == ("COMPLETED", "COMPLETED")
    assert b["start_time"] >= a["end_time"]


def test_singleton_jobs_of_one_name_run_one_after_another(live_cluster: LiveCluster,
                                                           tmp_path: Path) -> None:
    name = f"single-{time.monotonic_ns()}"
    first = live_cluster.sbatch("-J", name, "--dependency=singleton", "--wrap", "sleep 1",
                                cwd=tmp_path)
    second = live_cluster.sbatch("-J", name, "--dependency=singleton", "--wrap", "true",
                                 cwd=tmp_path)
    rec = live_cluster.wait_state(first, "RUNNING")
    waiting = live_cluster.job(second)
    assert waiting is not None and waiting["state"] == "PENDING"
    assert waiting["reason"] == "Dependency"
    a = live_cluster.wait_state(first, FINISHED)
    b = live_cluster.wait_state(second, FINISHED)
    assert rec["state"] == "RUNNING" and b["state"] == "COMPLETED"
    assert b["start_time"] >= a["end_time"]


def test_hold_then_release(live_cluster: LiveCluster, tmp_path: Path) -> None:
    job_id = live_cluster.sbatch("--hold", "--wrap", "echo released", "-o", "held.out",
                                 cwd=tmp_path)
    time.sleep(1)
    rec = live_cluster.job(job_id)
    assert rec is not None and (rec["state"], rec["reason"]) == ("PENDING", "JobHeldUser")
    assert rec["priority"] == 0
    cp = live_cluster.run(["scontrol", "release", str(job_id)])
    assert cp.returncode == 0, cp.stderr
    assert live_cluster.wait_state(job_id, FINISHED)["state"] == "COMPLETED"
    assert (tmp_path / "held.out").read_text() == "released\n"


def test_scontrol_hold_keeps_a_pending_job_back(live_cluster: LiveCluster,
                                                tmp_path: Path) -> None:
    job_id = live_cluster.sbatch("--begin=now+60", "--wrap", "true", cwd=tmp_path)
    assert live_cluster.run(["scontrol", "hold", str(job_id)]).returncode == 0
    rec = live_cluster.job(job_id)
    assert rec is not None and rec["hold"] and rec["priority"] == 0
    assert live_cluster.run(["scontrol", "release", str(job_id)]).returncode == 0
    rec = live_cluster.job(job_id)
    assert rec is not None and not rec["hold"] and rec["state"] == "PENDING"
    live_cluster.run(["scancel", str(job_id)])
    live_cluster.wait_state(job_id, "CANCELLED")


def test_a_reservation_through_scontrol(live_cluster: LiveCluster, tmp_path: Path) -> None:
    user = live_cluster.username
    name = f"live{time.monotonic_ns() % 100000}"
    cp = live_cluster.run(["scontrol", "create", "reservation", f"ReservationName={name}",
                           "StartTime=now", "Duration=10", f"Users={user}", "Nodes=n2"])
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout == f"Reservation created: {name}\n"
    shown = live_cluster.run(["scontrol", "show", "reservation", name])
    assert f"ReservationName={name} " in shown.stdout and "Nodes=n2 NodeCnt=1" in shown.stdout
    listed = live_cluster.run(["sinfo", "-T"]).stdout.splitlines()
    assert any(line.split()[:2] == [name, "ACTIVE"] and line.endswith("  n2")
               for line in listed), listed
    states = live_cluster.run(["sinfo", "-h", "-N", "-o", "%N %t"]).stdout.split("\n")
    assert "n2 resv" in states, states
    inside = live_cluster.sbatch(f"--reservation={name}", "--wrap", "hostname", cwd=tmp_path)
    outside = live_cluster.sbatch("--wrap", "true", cwd=tmp_path)
    a = live_cluster.wait_state(inside, FINISHED)
    b = live_cluster.wait_state(outside, FINISHED)
    assert (a["nodes"], b["nodes"]) == ("n2", "n1")
    cp = live_cluster.run(["scontrol", "update", f"ReservationName={name}", "Duration=20"])
    assert (cp.returncode, cp.stdout) == (0, "Reservation updated.\n"), cp.stderr
    assert live_cluster.run(["scontrol", "delete", f"ReservationName={name}"]).returncode == 0
    gone = live_cluster.run(["scontrol", "show", "reservation", name])
    assert gone.returncode == 1 and gone.stdout == f"Reservation {name} not found\n"
