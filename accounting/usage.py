"""Recording usage when a job ends: TRES-billing-seconds into its association's raw usage.

A job's usage is ``CPUs x elapsed seconds x its QOS's UsageFactor`` (Slurm's
billing TRES with the default TRESBillingWeights, CPU only). It is added to
the association of (account, user) after decaying the stored value to the end
time (PriorityDecayHalfLife, PriorityUsageResetPeriod: accounting/core/decay.py),
so ``raw_usage`` is always "as of ``usage_time``". No association (a fresh
embedded cluster without sacctmgr setup): nothing is recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import F

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
    return record_jobs_usage([(job, end)], half_life_s=half_life_s,
                             reset_period=reset_period)[0]


def record_jobs_usage(ended: Sequence[tuple[Any, datetime]], *, half_life_s: int,
                      reset_period: str) -> list[float]:
    """``record_job_usage`` for several jobs in a fixed number of queries; the amounts.

    The jobs are added in the order given, each exactly as ``record_job_usage``
    would one after the other (an association's usage is decayed to each end in
    turn). The users' associations are locked in primary-key order.
    """
    amounts = [0.0] * len(ended)
    todo = [(i, job, end) for i, (job, end) in enumerate(ended)
            if job.start_time is not None and end > job.start_time]
    if not todo:
        return amounts
    users = sorted({job.user for _, job, _ in todo})
    # of=("self",): the join to the account reads its name; only associations are locked.
    assocs = list(Association.objects.select_for_update(of=("self",))
                  .filter(user__in=users).annotate(account_name=F("account__name"))
                  .order_by("pk"))
    names = {job.qos for _, job, _ in todo if job.qos}
    factors = (dict(Qos.objects.filter(name__in=names).values_list("name", "usage_factor"))
               if names else {})
    changed: dict[int, Any] = {}
    for i, job, end in todo:
        assoc = next((a for a in assocs if a.user == job.user and (
            a.account_name == job.account  # type: ignore[attr-defined]
            if job.account else a.is_default)), None)
        if assoc is None:
            continue
        factor = factors.get(job.qos) if job.qos else None
        amount = billing_seconds(job_cpus(job), (end - job.start_time).total_seconds(),
                                 1.0 if factor is None else factor)
        _add(assoc, amount, end, half_life_s, reset_period)
        changed[assoc.pk] = assoc
        amounts[i] = amount
    if changed:
        Association.objects.bulk_update(list(changed.values()), ["raw_usage", "usage_time"])
    return amounts


def _add(assoc: Any, amount: float, end: datetime, half_life_s: int,
         reset_period: str) -> None:
    now = int(end.timestamp())
    since = None if assoc.usage_time is None else int(assoc.usage_time.timestamp())
    if since is not None and since > now:  # usage already recorded later: add undecayed
        assoc.raw_usage += amount
    else:
        assoc.raw_usage = decay.add(assoc.raw_usage, since, now, amount,
                                    half_life_s, reset_period)
        assoc.usage_time = end
