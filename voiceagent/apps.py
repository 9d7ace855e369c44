from django.apps import AppConfig


class VoiceagentConfig(AppConfig):
    name = "voiceagent"
    verbose_name = "Voice agent"

    def ready(self):
        from patients.services import patient_deleted
        from scheduling.services import appointment_changed
        from voiceagent.livecalls import on_appointment_changed, on_patient_deleted

        appointment_changed.connect(on_appointment_changed, dispatch_uid="livecalls.appointment_changed")
        patient_deleted.connect(on_patient_deleted, dispatch_uid="livecalls.patient_deleted")
