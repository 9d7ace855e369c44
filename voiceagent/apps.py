from django.apps import AppConfig


class VoiceagentConfig(AppConfig):
    name = "voiceagent"
    verbose_name = "Voice agent"

    def ready(self):
        from scheduling.services import appointment_changed
        from voiceagent.livecalls import on_appointment_changed

        appointment_changed.connect(on_appointment_changed, dispatch_uid="livecalls.appointment_changed")
