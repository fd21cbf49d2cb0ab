"""Accounts, associations and QOS, as sacctmgr manages them, with their limits and usage."""

from __future__ import annotations

from django.db import models


class Limits(models.Model):
    """Slurm's association/QOS limits. TRES limits are text as sacctmgr writes them
    (``cpu=64,mem=100G,node=4,gres/gpu=2``); None means no limit."""

    grp_tres = models.CharField(max_length=255, blank=True)
    grp_jobs = models.PositiveIntegerField(null=True, blank=True)
    grp_submit_jobs = models.PositiveIntegerField(null=True, blank=True)
    grp_wall_min = models.PositiveIntegerField(null=True, blank=True)
    max_tres_per_job = models.CharField(max_length=255, blank=True)
    max_tres_per_node = models.CharField(max_length=255, blank=True)
    max_tres_per_user = models.CharField(max_length=255, blank=True)
    max_jobs_per_user = models.PositiveIntegerField(null=True, blank=True)
    max_submit_jobs_per_user = models.PositiveIntegerField(null=True, blank=True)
    max_wall_min = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        abstract = True


class Account(Limits):
    name = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=255, blank=True)
    organization = models.CharField(max_length=255, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children")
    shares = models.PositiveIntegerField(default=1)
    # Decayed usage of the account's own subtree is the sum of its users' usage;
    # only users' usage is stored (see accounting/core/fairshare.py).

    def __str__(self) -> str:
        return self.name


class Qos(Limits):
    name = models.CharField(max_length=64, unique=True)
    priority = models.PositiveIntegerField(default=0)
    description = models.CharField(max_length=255, blank=True)
    preempt = models.ManyToManyField("self", symmetrical=False, blank=True,
                                     related_name="preempted_by")
    # cluster (the cluster-wide PreemptMode), cancel, requeue, off
    preempt_mode = models.CharField(max_length=16, default="cluster")
    usage_factor = models.FloatField(default=1.0)
    flags = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return self.name


class Association(Limits):
    """A user's membership of an account (cluster-wide; one cluster per install)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="users")
    user = models.CharField(max_length=64, db_index=True)
    is_default = models.BooleanField(default=False)
    shares = models.PositiveIntegerField(default=1)
    is_coordinator = models.BooleanField(default=False)
    qos = models.ManyToManyField(Qos, blank=True)
    default_qos = models.CharField(max_length=64, blank=True)
    partition = models.CharField(max_length=64, blank=True)
    # Raw usage in TRES-billing-seconds, decayed to usage_time by PriorityDecayHalfLife.
    raw_usage = models.FloatField(default=0.0)
    usage_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        unique_together = [("account", "user", "partition")]

    def __str__(self) -> str:
        return f"{self.user}@{self.account}"
