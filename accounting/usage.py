"""Recording usage when a job ends: TRES-billing-seconds into its association's raw usage.

A job's usage is ``CPUs x elapsed seconds x its QOS's UsageFactor`` (Slurm's
billing TRES with the default TRESBillingWeights, CPU only). It is added to
the association of (account, user) after decaying the stored value to the end
time (PriorityDecayHalfLife, PriorityUsageResetPeriod: accounting/core/decay.py),
so ``raw_usage`` is always "as of ``usage_time``". No association (a fresh
embedded cluster without sacctmgr setup): nothing is recorded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from accounting.core import decay
from accounting.models import Association, Qos


def job_cpus(job: Any) -> int:
    """The CPUs a job held (its allocation), else what it asked for."""
    held = sum(int(a.get("cpus", 0)) for a in (getattr(job, "alloc", None) or {}).values())
    return held or int(job.ntasks or 1) * int(job.cpus_per_task or 1)


def billing_seconds(cpus: int, elapsed_s: float, usage_factor: float = 1.0) -> float:
    return max(cpus, 0) * max(elapsed_s, 0.0) * max(usage_factor, 0.0)


def record_job_usage(job: Any, end: datetime, *, half_life_s: int,
                     reset_period: str) -> float:
    """Add ``job``'s usage (run from its start to ``end``) to its association; the amount.

    Call inside the transaction that ends the job, before its allocation is
    released, with PriorityDecayHalfLife (seconds) and PriorityUsageResetPeriod.
    Returns 0 when nothing was recorded.
    """
    if job.start_time is None or end <= job.start_time:
        return 0.0
    assocs = Association.objects.select_for_update().filter(user=job.user)
    assocs = (assocs.filter(account__name=job.account) if job.account
              else assocs.filter(is_default=True))
    assoc = assocs.order_by("pk").first()
    if assoc is None:
        return 0.0
    factor = (Qos.objects.filter(name=job.qos).values_list("usage_factor", flat=True).first()
              if job.qos else None)
    amount = billing_seconds(job_cpus(job), (end - job.start_time).total_seconds(),
                             1.0 if factor is None else factor)
    now = int(end.timestamp())
    since = None if assoc.usage_time is None else int(assoc.usage_time.timestamp())
    if since is not None and since > now:  # usage already recorded later: add undecayed
        assoc.raw_usage += amount
    else:
        assoc.raw_usage = decay.add(assoc.raw_usage, since, now, amount,
                                    half_life_s, reset_period)
        assoc.usage_time = end
    assoc.save(update_fields=["raw_usage", "usage_time"])
    return amount
