"""An agent's sync is applied in a fixed number of queries, whatever its number of events,
and its broadcasts carry the records a fresh read would give."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounting.models import Account, Association
from scheduler.actions.agent import do_agent_sync
from scheduler.models import Job, JobStep, Node
from tests.api.builders import make_cluster, make_running

pytestmark = pytest.mark.django_db(transaction=True)


def _sync(node: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    return {"node": node, "running": [], "acks": [], "wait_s": 0, "load": 0.1,
            "free_memory_mb": 1000, "events": events}


def _started_and_ended(jobs: list[Job], seq: int = 1, **end: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for job in jobs:
        assert job.start_time is not None
        t0 = job.start_time.timestamp()
        out.append({"seq": seq, "kind": "started", "job_id": job.id, "time": t0 + 0.5})
        out.append({"seq": seq + 1, "kind": "ended", "job_id": job.id, "time": t0 + 2.0,
                    "exit_code": 0, "signal": 0, "cpu_time_s": 0.5, "max_rss_kb": 1024,
                    **end})
        seq += 2
    return out


def _queries_for(n: int) -> int:
    n1 = Node.objects.get(name="n1")
    jobs = [make_running(n1, user="daemon", cpus=1, mem=10) for _ in range(n)]
    with CaptureQueriesContext(connection) as ctx:
        acked = do_agent_sync("n1", _sync("n1", _started_and_ended(jobs)))
    assert len(acked) == 2 * n
    assert set(Job.objects.filter(id__in=[j.id for j in jobs]).values_list("state", flat=True)) \
        == {"COMPLETED"}
    return len(ctx.captured_queries)


def test_a_sync_with_many_ended_events_costs_a_fixed_number_of_queries() -> None:
    make_cluster(nodes=2, cpus=64, mem=64000)
    acct = Account.objects.create(name="science")
    Association.objects.create(account=acct, user="daemon", is_default=True)
    one, many = _queries_for(1), _queries_for(20)
    assert many == one <= 16  # one by one, 20 jobs took 624
    usage = Association.objects.get(user="daemon").raw_usage
    assert usage == pytest.approx(21 * 2.0, rel=0.01)  # 21 one-CPU jobs of 2 s each



def _fresh_records(ids: list[int], nodes: list[str]) -> list[tuple[str, dict[str, Any]]]:
    from scheduler.events import _job_messages, _node_messages

    return _node_messages(nodes) + _job_messages(ids)


def _without_clock(messages: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    out = []
    for group, message in messages:
        message = dict(message)
        for key in ("job", "node"):
            if key in message:
                message[key] = {k: v for k, v in message[key].items() if k != "run_time_s"}
        out.append((group, message))
    return out


def test_a_syncs_broadcast_carries_what_a_fresh_read_gives(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from scheduler import events

    make_cluster(nodes=2, cpus=4, mem=4000)
    n1 = Node.objects.get(name="n1")
    done = [make_running(n1, cpus=1, mem=100) for _ in range(2)]
    failed = make_running(n1, cpus=1, mem=100)
    still = make_running(n1, cpus=1, mem=100)
    sent: list[list[tuple[str, dict[str, Any]]]] = []
    monkeypatch.setattr(events, "_send", lambda messages: sent.append(list(messages)))
    monkeypatch.setattr(events, "heard_by", lambda prefixes: True)  # a page is open
    evts = (_started_and_ended(done) + _started_and_ended([failed], seq=10, exit_code=3)
            + [{"seq": 20, "kind": "started", "job_id": still.id, "time": 0}])
    assert do_agent_sync("n1", _sync("n1", evts)) == [e["seq"] for e in evts]
    assert len(sent) == 1  # one send for the whole sync
    ids = sorted(j.id for j in [*done, failed, still])
    assert _without_clock(sent[0]) == _without_clock(_fresh_records(ids, ["n1"]))
    states = dict(Job.objects.filter(id__in=ids).values_list("id", "state"))
    assert [states[j.id] for j in [*done, failed, still]] == [
        "COMPLETED", "COMPLETED", "FAILED", "RUNNING"]
    n1.refresh_from_db()
    assert (n1.alloc_cpus, n1.alloc_memory_mb, n1.state) == (1, 100, "MIXED")
    assert JobStep.objects.get(job=failed).exit_code == 3


def test_a_sync_applies_events_in_order_and_skips_what_has_moved_on() -> None:
    make_cluster(nodes=2, cpus=4, mem=4000)
    n1, n2 = Node.objects.get(name="n1"), Node.objects.get(name="n2")
    job = make_running(n1, cpus=1, mem=100)
    elsewhere = make_running(n2, cpus=1, mem=100)
    evts = _started_and_ended([job, elsewhere])
    # the second ended event (seq 5) comes first in the body and is a duplicate
    body = _sync("n1", [{**evts[1], "seq": 5}, *evts])
    assert do_agent_sync("n1", body) == [1, 2, 3, 4, 5]
    job.refresh_from_db()
    elsewhere.refresh_from_db()
    assert (job.state, elsewhere.state) == ("COMPLETED", "RUNNING")  # n1 spoke for n2's job
    assert not JobStep.objects.filter(job=elsewhere).exists()


def test_a_requeue_in_a_sync_pends_the_job_and_its_later_events_change_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from scheduler import events
    from scheduler.actions.agent_events import apply_events

    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(events, "_send", sent.extend)
    monkeypatch.setattr(events, "heard_by", lambda prefixes: True)  # a page is open

    make_cluster(nodes=2, cpus=4, mem=4000)
    n1 = Node.objects.get(name="n1")
    job = make_running(n1, cpus=2, mem=100, kill_requested=True)
    other = make_running(n1, cpus=1, mem=100)
    evts = _started_and_ended([job], terminated_for="requeue", signal=15)
    evts += [{**evts[1], "seq": 3}] + _started_and_ended([other], seq=4)
    assert apply_events("n1", evts) == [True, True, False, True, True]
    job.refresh_from_db()
    assert (job.state, job.restarts, job.alloc) == ("PENDING", 1, {})
    assert JobStep.objects.get(job=job).state == "REQUEUED"
    n1.refresh_from_db()
    assert (n1.alloc_cpus, n1.state) == (0, "IDLE")
    last = {r["job_id"]: r["state"] for g, m in sent if g == "queue" for r in m["jobs"]}
    assert last == {job.id: "PENDING", other.id: "COMPLETED"}


def test_a_bad_event_holds_back_only_itself() -> None:
    make_cluster(nodes=2, cpus=4, mem=4000)
    n1 = Node.objects.get(name="n1")
    job = make_running(n1, cpus=1, mem=100)
    bad = make_running(n1, cpus=1, mem=100)
    evts = _started_and_ended([job])
    evts.append({"seq": 9, "kind": "ended", "job_id": bad.id, "exit_code": "x"})
    assert do_agent_sync("n1", _sync("n1", evts)) == [1, 2]  # 9 is resent by the agent
    assert Job.objects.get(id=job.id).state == "COMPLETED"
    assert Job.objects.get(id=bad.id).state == "RUNNING"


def test_a_heartbeat_of_a_node_in_service_is_one_statement() -> None:
    make_cluster(nodes=2, cpus=4, mem=4000)
    with CaptureQueriesContext(connection) as ctx:
        assert do_agent_sync("n1", _sync("n1", [])) == []
    assert len(ctx.captured_queries) == 1  # was BEGIN, SELECT ... FOR UPDATE, UPDATE, COMMIT
    n1 = Node.objects.get(name="n1")
    assert (n1.cpu_load, n1.free_memory_mb, n1.state) == (0.1, 1000, "IDLE")
    assert n1.last_heartbeat is not None


def test_a_heartbeat_brings_an_unknown_node_into_service_and_refuses_a_stranger() -> None:
    from scheduler.actions.errors import SlurmError

    make_cluster(nodes=2, cpus=4, mem=4000, state="UNKNOWN")
    do_agent_sync("n1", _sync("n1", []))
    assert Node.objects.get(name="n1").state == "IDLE"
    with pytest.raises(SlurmError):
        do_agent_sync("n9", _sync("n9", []))
