from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

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
        # Outbound reminder calls: the patient confirmed, or nobody (a person) answered.
        CONFIRMED = "confirmed", "Confirmed"
        VOICEMAIL = "voicemail", "Voicemail"
        NO_ANSWER = "no_answer", "No answer"

    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    room = models.CharField(max_length=128, unique=True, help_text="LiveKit room name.")
    # Outbound: the clinic rang the patient (a reminder call); caller_phone is then the number dialled.
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.INBOUND)
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


class Callback(models.Model):
    """A caller waiting for the clinic to ring back: a message the agent took, or a transfer nobody answered.

    One per call (the agent may first fail to transfer, then take a message:
    that is one call-back, not two). Written by voiceagent.callbacks only.
    """

    class Reason(models.TextChoices):
        MESSAGE = "message", "Left a message"
        TRANSFER_FAILED = "transfer_failed", "Transfer failed"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"

    call = models.OneToOneField(Call, on_delete=models.SET_NULL, null=True, blank=True, related_name="callback")
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.SET_NULL, null=True, blank=True, related_name="callbacks"
    )
    caller_name = models.CharField(max_length=120, blank=True)
    phone = models.CharField("number to call back", max_length=20)
    reason = models.CharField(max_length=20, choices=Reason.choices, default=Reason.MESSAGE)
    message = models.TextField(blank=True, help_text="What the caller wants, in their words.")
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    done_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The Call-backs page and the navigation's count read the open ones.
            models.Index(fields=["status", "created_at"], name="callback_status_idx"),
        ]
        constraints = [
            # The page shows "done" by the time it was done: one without the other is a lie.
            models.CheckConstraint(
                condition=models.Q(status="open", done_at__isnull=True)
                | models.Q(status="done", done_at__isnull=False),
                name="callback_done_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Call-back to {self.caller_name or format_phone(self.phone)} ({self.get_status_display()})"

    @property
    def phone_display(self) -> str:
        return format_phone(self.phone)
