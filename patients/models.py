from django.db import models
from django.db.models.functions import Lower, Upper
from django.urls import reverse
from simple_history.models import HistoricalRecords

from patients.phone import format_phone


class Patient(models.Model):
    class ContactPreference(models.TextChoices):
        NONE = "none", "No messages"
        SMS = "sms", "SMS"
        EMAIL = "email", "Email"
        # A reminder call by the phone agent; confirmations of a booking still go by SMS.
        CALL = "call", "Phone call"

    full_name = models.CharField(max_length=120)
    # E.164 only: patients.services normalises every number before it gets
    # here, so equality on this column is how a caller is recognised.
    phone = models.CharField(max_length=20, db_index=True)
    date_of_birth = models.DateField(null=True, blank=True)
    email = models.EmailField(blank=True)
    # How confirmations and reminders reach the patient (notifications app).
    contact_preference = models.CharField(
        "confirmations and reminders by", max_length=10,
        choices=ContactPreference.choices, default=ContactPreference.SMS,
    )
    notes = models.TextField(blank=True)
    # Failed identity checks by phone (a wrong date of birth for this name and
    # number) today; at patients.services.PHONE_FAILURES_PER_DAY the phone
    # agent stops identifying this patient until staff clear the lock.
    phone_check_failures = models.PositiveSmallIntegerField(default=0)
    phone_check_failed_on = models.DateField(null=True, blank=True)
    phone_locked_at = models.DateTimeField("phone changes locked at", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The audit trail: who created, changed or deleted the record, when, and
    # what it was (clinic.audit).
    history = HistoricalRecords()

    class Meta:
        ordering = ["full_name", "id"]
        constraints = [
            # Several patients may share a phone (a parent booking for their
            # children), but name + phone identifies one patient:
            # patient_find_or_create relies on this to stay race-free.
            models.UniqueConstraint(
                Lower("full_name"), "phone", name="patient_unique_name_per_phone"
            ),
        ]
        indexes = [
            # Patient lists sort by name; the search box filters on it.
            models.Index(fields=["full_name"], name="patient_name_idx"),
            # A search's page in the order it is shown (patients.selectors):
            # the database walks it and tests each name or phone inside the
            # index, never reading the table, until the page is full. Without
            # the phone here SQLite walked it for phone searches too, reading
            # the table for every patient (1.7 s at 500,000).
            models.Index(Upper("full_name"), models.F("id"), models.F("full_name"), models.F("phone"),
                         name="patient_search_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.phone_display})"

    def get_absolute_url(self) -> str:
        return reverse("patient_detail", args=[self.pk])

    @property
    def phone_display(self) -> str:
        return format_phone(self.phone)
