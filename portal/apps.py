from django.apps import AppConfig
from django.db.backends.signals import connection_created


class PortalConfig(AppConfig):
    name = "portal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portal.pgtime import use_iso_loader

        connection_created.connect(use_iso_loader, dispatch_uid="portal.pgtime")
