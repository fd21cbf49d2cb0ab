"""The agent's journal: what survives a restart, and compaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodeagent import spool as spool_mod
from nodeagent.spool import JobRecord, Spool


def record(job_id: int) -> JobRecord:
    return {
        "job_id": job_id, "pid": 1000 + job_id, "start_time": 1.0, "create_time": 2.0,
        "time_limit_s": None, "kill_wait_s": 30.0, "mem_mb": None, "cgroup": None,
        "job_dir": "/x",
    }  # fmt: skip


def test_it_keeps_unacked_events_applied_orders_and_jobs_across_a_restart(tmp_path: Path) -> None:
    s = Spool(tmp_path)
    e1 = s.add_event({"kind": "started", "job_id": 1, "time": 1.0})
    e2 = s.add_event({"kind": "ended", "job_id": 1, "time": 2.0, "exit_code": 0})
    s.ack_events([e1["seq"]])
    assert s.mark_applied(7) and not s.mark_applied(7)
    s.add_job(record(1))
    s.add_job(record(2))
    s.remove_job(1)
    s.close()
    again = Spool(tmp_path)
    assert [e["seq"] for e in again.pending_events()] == [e2["seq"]]
    assert again.applied(7) and not again.applied(8)
    assert list(again.jobs) == [2]
    assert again.add_event({"kind": "started", "job_id": 3, "time": 3.0})["seq"] == e2["seq"] + 1


def test_sequence_numbers_never_go_back_even_when_all_is_acked(tmp_path: Path) -> None:
    s = Spool(tmp_path)
    seq = s.add_event({"kind": "started", "job_id": 1, "time": 1.0})["seq"]
    s.ack_events([seq])
    s.close()
    assert Spool(tmp_path).add_event({"kind": "started", "job_id": 2, "time": 1.0})["seq"] > seq


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    s = Spool(tmp_path)
    s.add_event({"kind": "started", "job_id": 1, "time": 1.0})
    s.close()
    with open(tmp_path / "journal.jsonl", "a") as f:
        f.write('{"e": {"seq": 9')
    assert len(Spool(tmp_path).pending_events()) == 1


def test_the_journal_is_compacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spool_mod, "COMPACT_AFTER", 50)
    s = Spool(tmp_path)
    for i in range(200):
        ev = s.add_event({"kind": "started", "job_id": i, "time": 1.0})
        s.ack_events([ev["seq"]])
    last = s.add_event({"kind": "started", "job_id": 999, "time": 1.0})
    s.close()
    lines = (tmp_path / "journal.jsonl").read_text().splitlines()
    assert len(lines) < 60
    assert [e["seq"] for e in Spool(tmp_path).pending_events()] == [last["seq"]]
