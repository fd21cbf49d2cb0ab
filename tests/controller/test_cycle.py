"""The scheduling cycle against the database: starts, reasons, arrays, launch orders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from scheduler import kick, snapshot
from scheduler.cycle import run_cycle_once
from scheduler.models import AgentOrder, Job, JobIdCounter, Node
from tests.api.builders import make_cluster, make_job, make_running, set_param

pytestmark = pytest.mark.django_db(transaction=True)


def reason(job: Job) -> str:
    job.refresh_from_db()
    return job.reason


def state(job: Job) -> str:
    job.refresh_from_db()
    return job.state


def test_it_starts_a_pending_job_and_writes_a_launch_order() -> None:
    make_cluster()
    job = make_job(name="envdump", account="root", submit_host="vm",
                   environment={"PATH": "/usr/bin", "SLURM_JOB_ID": "stale"})
    result = run_cycle_once()
    assert result.ran and result.started == [job.id]
    job.refresh_from_db()
    assert job.state == "RUNNING" and job.nodes == "n1" and job.batch_host == "n1"
    assert job.alloc == {"n1": {"cpus": 1, "mem_mb": 100, "ntasks": 1}}
    node = Node.objects.get(name="n1")
    assert (node.alloc_cpus, node.alloc_memory_mb, node.state) == (1, 100, "MIXED")
    order = AgentOrder.objects.get(job=job)
    assert order.kind == "launch" and order.node.name == "n1"
    p = order.payload
    assert p["cpus"] == 1 and p["mem_mb"] == 100 and p["gpus"] == []
    assert p["time_limit_s"] == 3600 and p["kill_wait_s"] == 30
    assert p["stdout"] == f"/tmp/slurm-{job.id}.out" and p["stderr"] == ""
    env = p["env"]
    assert env["PATH"] == "/usr/bin"
    assert env["SLURM_JOB_ID"] == env["SLURM_JOBID"] == str(job.id)
    assert env["SLURM_JOB_NODELIST"] == env["SLURM_NODELIST"] == "n1"
    assert env["SLURM_JOB_NUM_NODES"] == env["SLURM_NNODES"] == "1"
    assert env["SLURM_JOB_CPUS_PER_NODE"] == "1" and env["SLURM_TASKS_PER_NODE"] == "1"
    assert env["SLURM_MEM_PER_CPU"] == "100"
    assert env["SLURM_JOB_NAME"] == "envdump" and env["SLURM_JOB_ACCOUNT"] == "root"
    assert env["SLURM_SUBMIT_HOST"] == "vm" and env["SLURMD_NODENAME"] == "n1"
    assert env["SLURM_CLUSTER_NAME"] == "drover" and env["ENVIRONMENT"] == "BATCH"
    assert "SLURM_CPUS_PER_TASK" not in env and "SLURM_ARRAY_JOB_ID" not in env
    assert env["SLURM_NODE_ALIASES"] == "(null)"
    assert env["SLURM_WORKING_CLUSTER"] == "drover:localhost:6817:9728:109"


def test_slurm_working_cluster_names_the_controllers_address_port_and_select_plugin() -> None:
    make_cluster()
    # golden 139: SlurmctldHost=vm(127.0.0.1), SlurmctldPort=18801, cons_tres
    for key, value in (("ClusterName", "anchor"), ("SlurmctldHost", "vm(127.0.0.1)"),
                       ("SlurmctldPort", "18801")):
        set_param(key, value)
    job = make_job()
    run_cycle_once()
    env = AgentOrder.objects.get(job=job).payload["env"]
    assert env["SLURM_WORKING_CLUSTER"] == "anchor:127.0.0.1:18801:9728:109"


def test_a_multi_node_job_gets_every_node_and_slurm_counts() -> None:
    make_cluster()
    job = make_job(nodes_min=2, nodes_max=2, ntasks=4, ntasks_set=True, mem_per_cpu_mb=200,
                   stdout="%x_%j.out", stderr="/var/tmp/err-%j")
    run_cycle_once()
    job.refresh_from_db()
    assert job.nodes == "n[1-2]" and set(job.alloc) == {"n1", "n2"}
    env = AgentOrder.objects.get(job=job).payload["env"]
    assert env["SLURM_JOB_CPUS_PER_NODE"] == "2(x2)" and env["SLURM_TASKS_PER_NODE"] == "2(x2)"
    assert env["SLURM_NTASKS"] == "4" and env["SLURM_MEM_PER_CPU"] == "200"
    payload = AgentOrder.objects.get(job=job).payload
    assert payload["stdout"] == f"/tmp/job_{job.id}.out"
    assert payload["stderr"] == f"/var/tmp/err-{job.id}"


@pytest.mark.parametrize(("fields", "expected"), [
    ({"hold": "user"}, "JobHeldUser"),
    ({"hold": "admin"}, "JobHeldAdmin"),
    ({"begin_time_in": 3600}, "BeginTime"),
    ({"partition": "short", "time_limit_min": 30}, "PartitionTimeLimit"),
    ({"cpus_per_task": 64}, "PartitionConfig"),
    ({"nodes_min": 10}, "PartitionConfig"),
    ({"constraint": "nosuchfeature"}, "BadConstraints"),
    ({"dependency": "afterok:999999"}, None),  # unknown id: satisfied, so it starts
])
def test_pending_reasons(fields: dict[str, object], expected: str | None) -> None:
    make_cluster()
    begin = fields.pop("begin_time_in", None)
    if begin is not None:
        fields["begin_time"] = timezone.now() + timedelta(seconds=int(str(begin)))
    job = make_job(**fields)
    run_cycle_once()
    job.refresh_from_db()
    if expected is None:
        assert job.state == "RUNNING"
    else:
        assert (job.state, job.reason) == ("PENDING", expected)


def test_dependencies_wait_then_start_or_never() -> None:
    make_cluster()
    first = make_job(state="RUNNING", start_time=timezone.now())
    ok = make_job(dependency=f"afterok:{first.id}")
    notok = make_job(dependency=f"afternotok:{first.id}")
    either = make_job(dependency=f"afterok:{first.id}?afterany:{first.id}")
    run_cycle_once()
    assert [reason(j) for j in (ok, notok, either)] == ["Dependency"] * 3
    Job.objects.filter(pk=first.pk).update(state="COMPLETED", end_time=timezone.now())
    run_cycle_once()
    ok.refresh_from_db()
    either.refresh_from_db()
    assert ok.state == "RUNNING" and either.state == "RUNNING"
    assert reason(notok) == "DependencyNeverSatisfied"


def test_a_dependency_on_one_array_task_follows_that_task_alone() -> None:
    """``afterok:12_0`` is task 0 of array 12, not the whole array (failed tasks 1, 2 do
    not matter); a task still in the array's pending rest is waited for."""
    make_cluster()
    base = make_job(state="COMPLETED", array_task_id=0, start_time=timezone.now(),
                    end_time=timezone.now())
    Job.objects.filter(pk=base.pk).update(array_job_id=base.pk)
    for task in (1, 2):
        make_job(state="FAILED", array_job_id=base.pk, array_task_id=task,
                 start_time=timezone.now(), end_time=timezone.now(), exit_code=1)
    rest = make_job(array_job_id=base.pk, array_pending="3-5", hold="user")  # tasks 3-5
    ok = make_job(dependency=f"afterok:{base.pk}_0")
    notok = make_job(dependency=f"afternotok:{base.pk}_0")
    whole = make_job(dependency=f"afterok:{base.pk}")
    later = make_job(dependency=f"afterany:{base.pk}_4")
    run_cycle_once()
    assert (state(ok), reason(notok)) == ("RUNNING", "DependencyNeverSatisfied")
    assert reason(whole) == reason(later) == "Dependency"  # waiting for the pending rest
    Job.objects.filter(pk=rest.pk).update(state="CANCELLED", end_time=timezone.now())
    run_cycle_once()
    assert (reason(whole), state(later)) == ("DependencyNeverSatisfied", "RUNNING")


def test_after_with_minutes_waits_that_long_from_the_targets_start() -> None:
    make_cluster()
    first = make_job(state="RUNNING", start_time=timezone.now() - timedelta(minutes=4))
    soon = make_job(dependency=f"after:{first.id}+3")
    late = make_job(dependency=f"after:{first.id}+10")
    run_cycle_once()
    assert (state(soon), reason(late)) == ("RUNNING", "Dependency")


def test_singleton_waits_for_the_earlier_job_of_the_same_name() -> None:
    make_cluster()
    make_job(name="one", state="RUNNING", start_time=timezone.now())
    later = make_job(name="one", dependency="singleton")
    other = make_job(name="two", dependency="singleton")
    run_cycle_once()
    assert reason(later) == "Dependency"
    other.refresh_from_db()
    assert other.state == "RUNNING"


def test_busy_cluster_gives_resources_then_priority_and_a_planned_start() -> None:
    nodes = make_cluster()
    for n in nodes:
        make_running(n, cpus=2)
    big = make_job(nodes_min=4, nodes_max=4, cpus_per_task=2)
    small = make_job()
    run_cycle_once()
    assert reason(big) == "Resources" and reason(small) == "Priority"
    big.refresh_from_db()
    assert big.sched_start_time is not None and big.sched_nodes == "n[1-4]"


def test_array_tasks_split_off_under_the_throttle() -> None:
    make_cluster()
    JobIdCounter.objects.create(pk=1, next_id=100)
    meta = make_job(id=10, name="arr", array_job_id=10, array_pending="0-9", array_max_tasks=2,
                    stdout="arr_%A_%a.out")
    result = run_cycle_once()
    assert len(result.started) == 2
    tasks = list(Job.objects.filter(array_job_id=10, array_task_id__isnull=False)
                 .order_by("array_task_id"))
    assert [(t.id, t.array_task_id, t.state) for t in tasks] == [
        (100, 0, "RUNNING"), (101, 1, "RUNNING")]
    meta.refresh_from_db()
    assert meta.array_pending == "2-9" and meta.reason == "JobArrayTaskLimit"
    env = AgentOrder.objects.get(job_id=101).payload["env"]
    assert env["SLURM_ARRAY_JOB_ID"] == "10" and env["SLURM_ARRAY_TASK_ID"] == "1"
    assert (env["SLURM_ARRAY_TASK_MIN"], env["SLURM_ARRAY_TASK_MAX"],
            env["SLURM_ARRAY_TASK_COUNT"], env["SLURM_ARRAY_TASK_STEP"]) == ("0", "9", "10", "1")
    assert AgentOrder.objects.get(job_id=100).payload["stdout"] == "/tmp/arr_10_0.out"
    run_cycle_once()  # still throttled
    assert Job.objects.filter(array_job_id=10, state="RUNNING").count() == 2


def test_the_last_array_task_keeps_the_meta_id() -> None:
    make_cluster()
    meta = make_job(id=20, array_job_id=20, array_pending="3")
    run_cycle_once()
    meta.refresh_from_db()
    assert (meta.state, meta.array_task_id, meta.array_pending) == ("RUNNING", 3, "")


def test_gpus_get_device_indices_and_cuda_visible_devices() -> None:
    make_cluster(nodes=1, cpus=8, gres="gpu:a100:2,gpu:v100:2")
    a = make_job(gres="gpu:v100:1")
    b = make_job(gres="gpu:2")
    run_cycle_once()
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.alloc["n1"]["gpus"] == [2] and a.alloc["n1"]["gres_key"] == "gpu:v100"
    assert b.alloc["n1"]["gpus"] == [0, 1]
    env = AgentOrder.objects.get(job=b).payload["env"]
    assert env["CUDA_VISIBLE_DEVICES"] == "0,1" and env["SLURM_GPUS_ON_NODE"] == "2"
    node = Node.objects.get(name="n1")
    assert node.alloc_gres == {"gpu:v100": [2], "gpu:a100": [0, 1]}


def test_only_changed_reasons_are_written_and_a_rerun_changes_nothing() -> None:
    nodes = make_cluster()
    for n in nodes:
        make_running(n, cpus=2)
    make_job()
    first = run_cycle_once()
    second = run_cycle_once()
    assert first.updated == 1 and second.updated == 0


def test_a_cancelled_job_is_not_started_by_a_stale_decision() -> None:
    make_cluster()
    job = make_job(state="CANCELLED")
    assert run_cycle_once().started == []
    job.refresh_from_db()
    assert job.state == "CANCELLED"


def test_request_cycle_in_embedded_mode_sets_the_loop_event(settings: object) -> None:
    kick.wake.clear()
    setattr(settings, "EMBEDDED", True)  # noqa: B010
    kick.request_cycle()  # outside a transaction: on_commit runs at once
    assert kick.wake.is_set()
    kick.clear_pending()


def test_the_embedded_loop_runs_cycles_on_request(settings: Any) -> None:
    from django.db import transaction

    from scheduler import loop

    settings.EMBEDDED = True
    make_cluster()
    job = make_job()
    loop.start_loop()
    try:
        with transaction.atomic():
            kick.request_cycle()
        deadline = timezone.now() + timedelta(seconds=10)
        while timezone.now() < deadline:
            job.refresh_from_db()
            if job.state == "RUNNING":
                break
    finally:
        loop.stop_loop()
    assert job.state == "RUNNING"


def test_sched_builtin_sets_no_plan() -> None:
    nodes = make_cluster()
    set_param("SchedulerType", "sched/builtin")
    for n in nodes:
        make_running(n, cpus=2)
    job = make_job()
    run_cycle_once()
    job.refresh_from_db()
    assert job.reason == "Resources" and job.sched_start_time is None


def test_a_load_reuses_unchanged_pending_jobs_and_sees_every_change() -> None:
    make_cluster()
    same, changed = make_job(), make_job()
    first = {j.id: j for j in snapshot.load(timezone.now()).snapshot.pending}
    Job.objects.filter(id=changed.id).update(ntasks=2, hold="user")
    second = {j.id: j for j in snapshot.load(timezone.now()).snapshot.pending}
    assert second[same.id] is first[same.id]
    assert (second[changed.id].ntasks, second[changed.id].eligible) == (2, False)
    Job.objects.filter(id=changed.id).update(ntasks=1, hold="")  # back as it was
    third = {j.id: j for j in snapshot.load(timezone.now()).snapshot.pending}
    assert (third[changed.id].ntasks, third[changed.id].eligible) == (1, True)


def test_a_moved_plan_is_written_but_announced_only_with_other_changes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from scheduler import events

    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(events, "_send", sent.extend)
    monkeypatch.setattr(events, "heard_by", lambda prefixes: True)  # a page is open
    nodes = make_cluster()
    set_param("SchedulerParameters", "bf_interval=0")  # every cycle plans
    holders = [make_running(n, cpus=2, time_limit_min=600) for n in nodes]
    big = make_job(nodes_min=4, nodes_max=4, cpus_per_task=2, time_limit_min=60)
    run_cycle_once()
    big.refresh_from_db()
    first = big.sched_start_time
    assert first is not None and reason(big) == "Resources"
    assert big.id in {r["job_id"] for g, m in sent if g == "queue" for r in m["jobs"]}
    sent.clear()
    Job.objects.filter(pk__in=[h.pk for h in holders]).update(time_limit_min=120)
    run_cycle_once()
    big.refresh_from_db()
    assert big.sched_start_time is not None and big.sched_start_time < first  # written
    assert big.id not in {r["job_id"] for g, m in sent if g == "queue" for r in m["jobs"]}


def test_between_backfill_passes_the_main_pass_alone_runs_and_the_plan_stays() -> None:
    nodes = make_cluster()
    holders = [make_running(n, cpus=2, time_limit_min=600) for n in nodes]
    big = make_job(nodes_min=4, nodes_max=4, cpus_per_task=2, time_limit_min=60)
    assert run_cycle_once().planned
    big.refresh_from_db()
    first = big.sched_start_time
    Job.objects.filter(pk__in=[h.pk for h in holders]).update(time_limit_min=120)
    result = run_cycle_once()
    assert not result.planned  # no CPU free: no job could start, the main pass says so
    big.refresh_from_db()
    assert big.sched_start_time == first and reason(big) == "Resources"


def test_free_cpus_behind_a_blocked_job_bring_the_backfill_pass_at_once() -> None:
    nodes = make_cluster()  # 4 nodes of 2 CPUs
    make_running(nodes[0], cpus=2, time_limit_min=600)
    assert run_cycle_once().planned  # the first cycle plans (nothing to plan yet)
    big = make_job(nodes_min=4, nodes_max=4, cpus_per_task=2, time_limit_min=60)
    small = make_job(time_limit_min=10)  # ends before the big job can start
    result = run_cycle_once()
    assert result.planned and result.started == [small.id]
    assert reason(big) == "Resources"


def test_the_backfill_pass_comes_back_after_bf_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from scheduler import passes

    nodes = make_cluster()
    set_param("SchedulerParameters", "bf_interval=5")
    for n in nodes:
        make_running(n, cpus=2, time_limit_min=600)
    make_job(time_limit_min=10)
    assert run_cycle_once().planned
    assert not run_cycle_once().planned
    monkeypatch.setattr(passes, "_last_backfill", time.monotonic() - 5)
    assert run_cycle_once().planned
