from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"

    def ready(self):
        from patients.totals import connect_signals

        connect_signals()
