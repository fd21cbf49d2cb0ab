"""The running steps' latest usage, as node agents sample it (what ``sstat`` reads).

Each agent heartbeat carries one report per running step (``nodeagent.protocol.
StepUsage``, checked by ``protocol.parse_usage`` before it gets here). A report
overwrites the step's current figures and raises its maxima; it is ignored when
the step no longer runs on that node (it ended, or was requeued elsewhere: its
end carries the final figures) or is older than what is stored. Maxima and CPU
time only grow, so an agent restarted in place (its samples start again from
zero) does not lower them. The owners' open job pages hear of each new sample
(``events.broadcast_step_usage``): at most one message per sync and owner, and none
for a sample already stored (an agent may send the same one again).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.db.models import F

from nodeagent.protocol import StepUsage
from scheduler import events
from scheduler.bulk import update_rows
from scheduler.models import JobState, JobStep

_FIELDS = ["ntasks", "pids", "cpu_time_s", "rss_kb", "max_rss_kb", "vmsize_kb",
           "max_vmsize_kb", "read_bytes", "write_bytes", "usage_time"]


def record_step_usage(node: str, reports: Sequence[StepUsage]) -> int:
    """Store ``reports`` from the agent of ``node``; the number of steps updated."""
    from scheduler.actions.jobs import RUNNING_STATES

    latest = {(r["job_id"], r["step"]): r for r in reports}
    if not latest:
        return 0
    steps = JobStep.objects.filter(
        job_id__in=sorted({job for job, _ in latest}), step__in=sorted({s for _, s in latest}),
        state=JobState.RUNNING, job__state__in=RUNNING_STATES, job__batch_host=node,
    ).annotate(owner=F("job__user")).order_by("pk")
    changed: list[JobStep] = []
    fresh: list[JobStep] = []
    for step in steps:
        report = latest.get((step.job_id, step.step))  # type: ignore[attr-defined]
        if report is None:
            continue
        taken = datetime.fromtimestamp(report["time"], tz=UTC)
        if step.usage_time is not None and step.usage_time > taken:
            continue
        step.ntasks = max(step.ntasks, report["ntasks"])  # srun's count: tasks may start late
        step.pids = report["pids"]
        step.cpu_time_s = max(step.cpu_time_s, float(report["cpu_time_s"]))
        step.rss_kb = report["rss_kb"]
        step.max_rss_kb = max(step.max_rss_kb, report["max_rss_kb"], report["rss_kb"])
        step.vmsize_kb = report["vmsize_kb"]
        step.max_vmsize_kb = max(step.max_vmsize_kb, report["max_vmsize_kb"],
                                 report["vmsize_kb"])
        step.read_bytes = max(step.read_bytes, report["read_bytes"])
        step.write_bytes = max(step.write_bytes, report["write_bytes"])
        if step.usage_time != taken:
            fresh.append(step)
        step.usage_time = taken
        changed.append(step)
    update_rows(JobStep, changed, _FIELDS)
    _announce(fresh)
    return len(changed)


def _announce(steps: list[JobStep]) -> None:
    """The new samples of ``steps`` to their owners' live pages, if anyone listens."""
    from scheduler.records import step_record

    if not steps or not events.heard_by(events.STEP_GROUPS):
        return
    jobs: dict[int, dict[str, Any]] = {}
    for step in steps:
        job_id, owner = step.job_id, step.owner  # type: ignore[attr-defined]
        entry = jobs.setdefault(job_id, {"job_id": job_id, "user": owner, "steps": []})
        entry["steps"].append(step_record(step))
    events.broadcast_step_usage(list(jobs.values()))
