from datetime import time

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from notifications import texts


def _message_text(kind: str, label: str) -> models.TextField:
    return models.TextField(
        label, blank=True, default=texts.DEFAULTS[kind], validators=[texts.validate_message_text],
        help_text="Empty: the standard text. Placeholders: "
                  + ", ".join("{%s} (%s)" % item for item in texts.PLACEHOLDERS.items()) + ".",
    )


class ClinicProfile(models.Model):
    """The one clinic this installation serves; managers edit it in the admin.

    Booking rules live here rather than in settings because they are business
    decisions that change without a deploy; scheduling.services reads them on
    every write.
    """

    name = models.CharField(max_length=120, default="Our Clinic")
    address = models.CharField(max_length=255, blank=True)
    phone = models.CharField("clinic phone", max_length=20, blank=True)
    transfer_phone = models.CharField(
        "transfer-to-human number",
        max_length=20,
        blank=True,
        help_text="Where the phone agent transfers a caller who asks for a person (E.164).",
    )
    emergency_number = models.CharField(max_length=10, default="1122")
    # The phone agent offers a transfer only while the clinic is open and,
    # when these are set, between them: a desk staffed in the mornings only,
    # say. Outside them it takes a message (voiceagent.tools).
    transfer_from = models.TimeField(
        "transfers answered from", null=True, blank=True,
        help_text="Leave both empty to offer transfers whenever the clinic is open.",
    )
    transfer_until = models.TimeField("transfers answered until", null=True, blank=True)
    min_notice_minutes = models.PositiveIntegerField(
        "minimum notice (minutes)",
        default=60,
        validators=[MaxValueValidator(60 * 24 * 14)],
        help_text="Bookings must start at least this long from now.",
    )
    booking_horizon_days = models.PositiveIntegerField(
        "bookings open (days ahead)",
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    # What patients receive by SMS or email (notifications app).
    booked_text = _message_text("booked", "booking confirmation")
    moved_text = _message_text("moved", "move confirmation")
    cancelled_text = _message_text("cancelled", "cancellation confirmation")
    reminder_text = _message_text("reminder", "reminder")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "clinic profile"
        verbose_name_plural = "clinic profile"

    def __str__(self) -> str:
        return self.name

    def clean(self):
        super().clean()
        if (self.transfer_from is None) != (self.transfer_until is None):
            raise ValidationError("Give both times transfers are answered between, or neither.")
        if self.transfer_from is not None and self.transfer_from >= self.transfer_until:
            raise ValidationError({"transfer_until": "Transfers must end after they start (same day)."})

    def answers_transfers_at(self, moment: time) -> bool:
        """Whether staff take transfers at this time of day (the clinic's own hours are checked apart)."""
        if self.transfer_from is None or self.transfer_until is None:
            return True
        return self.transfer_from <= moment < self.transfer_until

    def save(self, *args, **kwargs):
        self.pk = 1  # one clinic per installation
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> "ClinicProfile":
        profile, _ = cls.objects.get_or_create(pk=1)
        return profile

    @classmethod
    async def aload(cls) -> "ClinicProfile":
        profile, _ = await cls.objects.aget_or_create(pk=1)
        return profile
