from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Confirmations and reminders"

    def ready(self):
        from notifications.services import on_appointment_changed
        from scheduling.services import appointment_changed

        appointment_changed.connect(on_appointment_changed, dispatch_uid="notifications.appointment_changed")
