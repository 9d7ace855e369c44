from django.apps import AppConfig
from django.db.backends.signals import connection_created


class ClinicConfig(AppConfig):
    name = "clinic"

    def ready(self):
        from clinic import audit  # noqa: F401 - connects the audit trail's author to simple-history
        from clinic.security import owner_only_sqlite

        connection_created.connect(owner_only_sqlite, dispatch_uid="clinic-owner-only-sqlite")
