from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "clinic"

    def ready(self):
        from clinic import audit  # noqa: F401 - connects the audit trail's author to simple-history
