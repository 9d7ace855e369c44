from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from simple_history.models import HistoricalRecords


# The longest appointment a provider may have; scheduling.selectors relies on
# it to read only the busy times that can reach into a day.
MAX_APPOINTMENT_MINUTES = 240


class Provider(models.Model):
    """A doctor or other clinician whom patients book."""

    name = models.CharField(max_length=120, help_text='As callers say it, e.g. "Dr Ayesha Khan".')
    specialty = models.CharField(max_length=120, blank=True)
    is_active = models.BooleanField("active", default=True)
    appointment_minutes = models.PositiveIntegerField(
        "appointment length (minutes)",
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(MAX_APPOINTMENT_MINUTES)],
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WorkingHours(models.Model):
    """One interval of a provider's week; a lunch break is the gap between two."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0
        TUESDAY = 1
        WEDNESDAY = 2
        THURSDAY = 3
        FRIDAY = 4
        SATURDAY = 5
        SUNDAY = 6

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.IntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        ordering = ["provider", "weekday", "start_time"]
        verbose_name = "working hours"
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=F("start_time")), name="working_hours_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class Closure(models.Model):
    """Days the whole clinic (provider empty) or one provider does not see patients."""

    provider = models.ForeignKey(
        Provider,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="closures",
        help_text="Leave empty to close the whole clinic.",
    )
    start_date = models.DateField()
    end_date = models.DateField(help_text="Last closed day (inclusive).")
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="closure_end_not_before_start"
            ),
        ]
        indexes = [
            # Availability asks "which closures touch these days?" on every search.
            models.Index(fields=["end_date", "start_date"], name="closure_dates_idx"),
        ]

    def __str__(self) -> str:
        who = self.provider.name if self.provider_id else "Whole clinic"
        return f"{who}: {self.start_date} to {self.end_date} ({self.reason})"


class Appointment(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        PENDING = "pending", "Pending"
        RESCHEDULED = "rescheduled", "Rescheduled"
        ARRIVED = "arrived", "Arrived"
        CANCELLED = "cancelled", "Cancelled"
        COMPLETED = "completed", "Completed"
        NO_SHOW = "no_show", "No-show"

    class Source(models.TextChoices):
        PHONE = "phone", "Phone agent"
        DASHBOARD = "dashboard", "Dashboard"
        ADMIN = "admin", "Admin"

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="appointments"
    )
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="appointments")
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.BOOKED)
    reason = models.CharField("reason for visit", max_length=255, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.DASHBOARD)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # When the patient checked in at the desk; kept once they are seen, so
    # the day's record says how long they waited.
    arrived_at = models.DateTimeField(null=True, blank=True)
    # When the patient said they will come (a reminder call, the desk), and
    # through which interface; a move clears it, since it was for the old time.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # Nullable (empty until confirmed) so that SQLite adds the column in place
    # and keeps the overlap triggers of migration 0002.
    confirmed_via = models.CharField(max_length=20, choices=Source.choices, null=True, blank=True)

    # The audit trail: who booked, moved, cancelled or deleted it, when, and
    # what changed (clinic.audit).
    history = HistoricalRecords()

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="appointment_end_after_start"),
            # The last word against double booking: two appointments that hold
            # a slot may not start together for one provider, whatever races
            # past the checks in scheduling.services. Overlaps that start at
            # different times are refused by a database-specific guard added
            # in migration 0002 (an exclusion constraint on PostgreSQL,
            # triggers on SQLite).
            models.UniqueConstraint(
                fields=["provider", "start"],
                condition=~Q(status="cancelled"),
                name="appointment_one_per_provider_start",
            ),
        ]
        indexes = [
            # Availability reads one provider's busy times over a few days.
            models.Index(fields=["provider", "start"], name="appointment_provider_start_idx"),
            # Lists, overview and the agent's "your upcoming appointments".
            models.Index(fields=["start"], name="appointment_start_idx"),
            models.Index(fields=["patient", "start"], name="appointment_patient_start_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.patient.full_name} with {self.provider.name} at {self.start:%Y-%m-%d %H:%M}"

    def get_absolute_url(self) -> str:
        return reverse("appointment_edit", args=[self.pk])

    @property
    def holds_slot(self) -> bool:
        return self.status in SLOT_HOLDING_STATUSES


# Every status but Cancelled keeps the time taken: a Rescheduled appointment
# sits in its new slot, an Arrived patient is in the waiting room, and
# Completed / No-show ones are history.
SLOT_HOLDING_STATUSES = tuple(s for s in Appointment.Status if s != Appointment.Status.CANCELLED)
# Statuses a patient can still change or cancel (by phone too). Not Arrived:
# once the patient is at the desk, the visit is the desk's to finish.
OPEN_STATUSES = (Appointment.Status.BOOKED, Appointment.Status.PENDING, Appointment.Status.RESCHEDULED)
