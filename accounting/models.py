"""Accounts, user associations and QOS, as sacctmgr manages them."""

from __future__ import annotations

from django.db import models


class Account(models.Model):
    name = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=255, blank=True)
    organization = models.CharField(max_length=255, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children")
    shares = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return self.name


class Qos(models.Model):
    name = models.CharField(max_length=64, unique=True)
    priority = models.PositiveIntegerField(default=0)
    description = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return self.name


class Association(models.Model):
    """A user's membership of an account (cluster-wide; one cluster per install)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="users")
    user = models.CharField(max_length=64, db_index=True)
    is_default = models.BooleanField(default=False)
    shares = models.PositiveIntegerField(default=1)
    is_coordinator = models.BooleanField(default=False)
    qos = models.ManyToManyField(Qos, blank=True)
    partition = models.CharField(max_length=64, blank=True)

    class Meta:
        unique_together = [("account", "user", "partition")]

    def __str__(self) -> str:
        return f"{self.user}@{self.account}"
