from django.db import models


class Notification(models.Model):
    """One message to a patient about one appointment: a confirmation or a reminder.

    The row is the truth about what was sent; the task queue only wakes the
    worker up at `due_at`. A duplicated or retried task finds the row already
    claimed (notifications.services.notification_deliver) and sends nothing.
    """

    class Kind(models.TextChoices):
        BOOKED = "booked", "Booking confirmation"
        MOVED = "moved", "Move confirmation"
        CANCELLED = "cancelled", "Cancellation confirmation"
        REMINDER = "reminder", "Reminder"

    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        EMAIL = "email", "Email"
        CALL = "call", "Phone call"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        SENDING = "sending", "Sending"
        # A reminder call was placed; how it ended decides what comes next
        # (notifications.services.reminder_call_ended).
        CALLING = "calling", "Calling"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Not sent"
        # The worker stopped in the middle of sending: the message may have
        # gone out. Never sent again by itself; staff may send it again.
        UNKNOWN = "unknown", "May have been sent"

    appointment = models.ForeignKey(
        "scheduling.Appointment", on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The appointment's start this message is about: a move makes the old
    # reminder stale (it is skipped at send time) and gives the new time its own.
    appointment_start = models.DateTimeField()
    due_at = models.DateTimeField()
    # Chosen at send time from the patient's preference, so a change of mind
    # after booking is honoured; empty until then.
    channel = models.CharField(max_length=10, choices=Channel.choices, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Reminder calls placed for this message (REMINDER_CALL_ATTEMPTS at most);
    # a moved visit's new reminder starts again at 0.
    calls = models.PositiveSmallIntegerField(default=0)
    # Why it failed or was not sent, for the desk; never a phone number or an address.
    detail = models.CharField(max_length=255, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            # Never twice: notification_schedule relies on it to stay race-free
            # when two processes hear of the same booking.
            models.UniqueConstraint(
                fields=["appointment", "kind", "appointment_start"], name="notification_once_per_kind_and_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for appointment {self.appointment_id} ({self.get_status_display()})"
