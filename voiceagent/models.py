from django.db import models
from django.urls import reverse

from patients.phone import format_phone


class Language(models.TextChoices):
    """The languages the receptionist speaks (voiceagent.languages.SUPPORTED)."""

    ENGLISH = "en", "English"
    URDU = "ur", "Urdu"


class Call(models.Model):
    """One phone call, from the moment the agent answers to hang-up."""

    class Outcome(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        BOOKED = "booked", "Booked"
        RESCHEDULED = "rescheduled", "Rescheduled"
        CANCELLED = "cancelled", "Cancelled"
        INFO = "info", "Information only"
        TRANSFERRED = "transferred", "Transferred"
        ABANDONED = "abandoned", "Abandoned"
        FAILED = "failed", "Failed"

    room = models.CharField(max_length=128, unique=True, help_text="LiveKit room name.")
    caller_phone = models.CharField(max_length=20, blank=True)
    caller_name = models.CharField(max_length=120, blank=True)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.SET_NULL, null=True, blank=True, related_name="calls"
    )
    appointment = models.ForeignKey(
        "scheduling.Appointment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="calls",
        help_text="The appointment this call booked, moved or cancelled.",
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.IN_PROGRESS)
    # The language the caller spoke last (the one the next call greets them
    # in: voiceagent.context.profile_from_db reads it back).
    language = models.CharField(max_length=8, choices=Language.choices, blank=True)
    # [{"role": "user"|"assistant", "text": "...", "at": iso8601}], in order.
    transcript = models.JSONField(default=list, blank=True)
    turns = models.PositiveIntegerField(default=0)
    # Medians over the call's turns, in milliseconds (LiveKit's per-message metrics).
    end_of_turn_delay_ms = models.FloatField(null=True, blank=True)
    llm_ttft_ms = models.FloatField("LLM time to first token (ms)", null=True, blank=True)
    tts_ttfb_ms = models.FloatField("TTS time to first byte (ms)", null=True, blank=True)
    usage = models.JSONField(default=dict, blank=True, help_text="Tokens, audio seconds, characters per model.")
    # Left by the caller when no one could take the call (no transfer number,
    # or the transfer failed); staff read it on the call's page.
    message = models.TextField("message for staff", blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            # The Calls page and the overview's "calls today" filter by day.
            models.Index(fields=["started_at"], name="call_started_idx"),
        ]

    def __str__(self) -> str:
        return f"Call {self.room} ({self.get_outcome_display()})"

    def get_absolute_url(self) -> str:
        return reverse("call_detail", args=[self.pk])

    @property
    def caller_phone_display(self) -> str:
        return format_phone(self.caller_phone)

    @property
    def duration_seconds(self) -> int | None:
        if not self.ended_at:
            return None
        return int((self.ended_at - self.started_at).total_seconds())
