"""The agent's durable memory, in ``<spool>/journal.jsonl``.

It holds what must survive a restart of the agent: events the controller has
not acked yet, the ids of orders already applied (so a re-sent order is
applied once), the jobs running (pid and start, to re-adopt them) and the next
event sequence number. It is an append-only journal of JSON lines, replayed on
open and rewritten compactly from time to time; a torn last line (a crash
mid-write) is skipped. Written without fsync: it survives the agent, not the
machine, which is what the controller's node-failure handling is for.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, TypedDict

from nodeagent.protocol import Event

log = logging.getLogger(__name__)

APPLIED_KEPT = 20_000
COMPACT_AFTER = 5_000


class JobRecord(TypedDict):
    job_id: int
    pid: int
    start_time: float
    create_time: float
    time_limit_s: float | None
    kill_wait_s: float
    mem_mb: int | None
    cgroup: str | None
    job_dir: str


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(mode=0o755, parents=True, exist_ok=True)
        self._path = directory / "journal.jsonl"
        self._lock = threading.Lock()
        self.events: dict[int, Event] = {}
        self.jobs: dict[int, JobRecord] = {}
        self._applied: OrderedDict[int, None] = OrderedDict()
        self._next_seq = 1
        self._appended = 0
        self._replay()
        self._compact()
        self._file = open(self._path, "a", encoding="utf-8")  # noqa: SIM115

    def close(self) -> None:
        with self._lock:
            self._file.close()

    # ---- events -------------------------------------------------------------

    def add_event(self, event: dict[str, Any]) -> Event:
        """Give ``event`` the next seq and keep it until acked."""
        with self._lock:
            event["seq"] = self._next_seq
            self._next_seq += 1
            ev: Event = event  # type: ignore[assignment]
            self.events[ev["seq"]] = ev
            self._append({"e": ev})
            return ev

    def pending_events(self) -> list[Event]:
        with self._lock:
            return list(self.events.values())

    def ack_events(self, seqs: list[int]) -> None:
        with self._lock:
            acked = [s for s in seqs if self.events.pop(s, None) is not None]
            if acked:
                self._append({"a": acked})

    # ---- orders -------------------------------------------------------------

    def applied(self, order_id: int) -> bool:
        with self._lock:
            return order_id in self._applied

    def mark_applied(self, order_id: int) -> bool:
        """Record ``order_id``; False when it was applied already."""
        with self._lock:
            if order_id in self._applied:
                return False
            self._remember(order_id)
            self._append({"o": order_id})
            return True

    def _remember(self, order_id: int) -> None:
        self._applied[order_id] = None
        while len(self._applied) > APPLIED_KEPT:
            self._applied.popitem(last=False)

    # ---- jobs ---------------------------------------------------------------

    def add_job(self, record: JobRecord) -> None:
        with self._lock:
            self.jobs[record["job_id"]] = record
            self._append({"j": record})

    def remove_job(self, job_id: int) -> None:
        with self._lock:
            if self.jobs.pop(job_id, None) is not None:
                self._append({"g": job_id})

    # ---- the journal ----------------------------------------------------------

    def _append(self, record: dict[str, Any]) -> None:
        """Lock held."""
        if self._file.closed:  # the agent is stopping; the next one replays the rest
            return
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()
        self._appended += 1
        if self._appended > COMPACT_AFTER:
            self._file.close()
            self._compact()
            self._file = open(self._path, "a", encoding="utf-8")  # noqa: SIM115

    def _replay(self) -> None:
        try:
            lines = self._path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        for line in lines:
            try:
                rec = json.loads(line)
                self._apply(rec)
            except (ValueError, KeyError, TypeError):
                log.warning("spool %s: skipping a damaged line", self._path)

    def _apply(self, rec: dict[str, Any]) -> None:
        if "e" in rec:
            ev: Event = rec["e"]
            self.events[ev["seq"]] = ev
            self._next_seq = max(self._next_seq, ev["seq"] + 1)
        elif "a" in rec:
            for seq in rec["a"]:
                self.events.pop(seq, None)
        elif "o" in rec:
            self._remember(int(rec["o"]))
        elif "j" in rec:
            self.jobs[rec["j"]["job_id"]] = rec["j"]
        elif "g" in rec:
            self.jobs.pop(rec["g"], None)
        elif "seq" in rec:
            self._next_seq = max(self._next_seq, int(rec["seq"]))

    def _compact(self) -> None:
        records: list[dict[str, Any]] = [{"seq": self._next_seq}]
        records += [{"o": oid} for oid in self._applied]
        records += [{"j": job} for job in self.jobs.values()]
        records += [{"e": ev} for ev in self.events.values()]
        tmp = self._path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
        os.replace(tmp, self._path)
        self._appended = 0
