from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountingConfig(AppConfig):
    name = "accounting"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_default_qos, sender=self)


def _default_qos(using: str = "default", **_: Any) -> None:
    """The QOS every job gets unless it names one, as slurmdbd makes it on first start
    (after every migrate, and after a test's flush, like Django's own permissions)."""
    from accounting.models import Qos

    Qos.objects.using(using).get_or_create(name="normal",
                                           defaults={"description": "Normal QOS default"})
