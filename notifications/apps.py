from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Confirmations and reminders"

    def ready(self):
        from notifications.services import on_appointment_changed, on_reminder_call_ended
        from scheduling.services import appointment_changed
        from voiceagent.outbound import reminder_call_ended

        appointment_changed.connect(on_appointment_changed, dispatch_uid="notifications.appointment_changed")
        reminder_call_ended.connect(on_reminder_call_ended, dispatch_uid="notifications.reminder_call_ended")
