"""Writes for patients. Every interface (dashboard, admin, phone agent) comes here."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone

from clinic import hygiene
from patients.models import Patient
from patients.phone import InvalidPhoneNumber, normalize_phone


# Sent after commit with patient_id: their appointments went with them, so
# open dashboards must refresh (voiceagent.livecalls listens).
patient_deleted = Signal()


class PatientError(Exception):
    """A refused patient change; `message` is meant for the person who asked."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def clean_name(raw: str) -> str:
    # NUL, zero-width and bidi controls are invisible in the dashboard, yet they
    # make "Ali" and "A\u200bli" two patients, or reverse how a name reads.
    try:
        return hygiene.clean_name(raw)
    except hygiene.Refused as exc:
        raise PatientError(exc.message, field="full_name") from None


def clean_phone(raw: str) -> str:
    if not isinstance(raw, str):
        raise PatientError("Please give the phone number as digits.", field="phone")
    try:
        return normalize_phone(raw)
    except InvalidPhoneNumber as exc:
        raise PatientError(exc.messages[0], field="phone") from None


def _check_birth_date(value: date | None) -> None:
    if value and value > timezone.localdate():
        raise PatientError("The date of birth cannot be in the future.", field="date_of_birth")
    if value and value < hygiene.FIRST_DAY:
        raise PatientError(f"Enter a date of birth from {hygiene.FIRST_DAY.year} on.", field="date_of_birth")


def _check_contact(preference: str, email: str) -> None:
    if preference not in Patient.ContactPreference.values:
        raise PatientError("Choose how the patient gets confirmations and reminders.", field="contact_preference")
    if preference == Patient.ContactPreference.EMAIL and not email:
        raise PatientError("Add the patient's email address to send them email.", field="email")


def _save(patient: Patient, *, update_fields: list[str] | None = None) -> Patient:
    try:
        patient.full_clean(validate_constraints=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise PatientError(messages[0], field=field) from None
    try:
        with transaction.atomic():
            patient.save(update_fields=update_fields)
    except IntegrityError:
        raise PatientError(
            f"A patient named {patient.full_name} with this phone number already exists.",
            field="full_name",
        ) from None
    return patient


def patient_find_or_create(
    *,
    full_name: str,
    phone: str,
    date_of_birth: date | None = None,
    email: str = "",
) -> tuple[Patient, bool]:
    """The patient with this name and phone, created if new. Returns (patient, created).

    Name matching ignores case and spacing: "ali raza" on the phone is the
    "Ali Raza" the receptionist typed.
    """
    name, e164 = clean_name(full_name), clean_phone(phone)
    _check_birth_date(date_of_birth)
    existing = Patient.objects.filter(phone=e164, full_name__iexact=name).first()
    if existing:
        return existing, False
    try:
        return _save(Patient(full_name=name, phone=e164, date_of_birth=date_of_birth, email=email)), True
    except PatientError:
        # Another request created the same patient between our read and write.
        existing = Patient.objects.filter(phone=e164, full_name__iexact=name).first()
        if existing:
            return existing, False
        raise


def patient_create(
    *,
    full_name: str,
    phone: str,
    date_of_birth: date | None = None,
    email: str = "",
    notes: str = "",
    contact_preference: str | None = None,
) -> Patient:
    _check_birth_date(date_of_birth)
    contact_preference = contact_preference or Patient.ContactPreference.SMS
    _check_contact(contact_preference, email)
    return _save(
        Patient(
            full_name=clean_name(full_name),
            phone=clean_phone(phone),
            date_of_birth=date_of_birth,
            email=email,
            notes=notes,
            contact_preference=contact_preference,
        )
    )


def patient_update(
    *,
    patient: Patient,
    full_name: str,
    phone: str,
    date_of_birth: date | None = None,
    email: str = "",
    notes: str = "",
    contact_preference: str | None = None,
) -> Patient:
    """Rewrite the patient's details; `contact_preference` None keeps the one they have."""
    _check_birth_date(date_of_birth)
    contact_preference = contact_preference or patient.contact_preference
    _check_contact(contact_preference, email)
    patient.contact_preference = contact_preference
    patient.full_name = clean_name(full_name)
    patient.phone = clean_phone(phone)
    patient.date_of_birth = date_of_birth
    patient.email = email
    patient.notes = notes
    return _save(patient)


def patient_correct(*, patient: Patient, full_name: str | None = None, phone: str | None = None) -> Patient:
    """A patient's own correction of how their name is spelt, or of their phone number (the phone agent).

    Only the fields given are written, so an edit a receptionist makes to the
    same patient meanwhile (notes, email) is not overwritten with what the
    call read earlier. An audit trail of patient changes belongs here, with
    the other writes of this module.
    """
    fields = []
    if full_name is not None:
        patient.full_name = clean_name(full_name)
        fields.append("full_name")
    if phone is not None:
        patient.phone = clean_phone(phone)
        fields.append("phone")
    if not fields:
        raise PatientError("Nothing to change: give the corrected name or the new phone number.")
    return _save(patient, update_fields=[*fields, "updated_at"])


# Wrong identity answers for one patient, across calls, in one day before the
# phone agent stops identifying them (issue: date-of-birth guessing).
PHONE_FAILURES_PER_DAY = 5


def patient_identity_failed(*, patient_id: int) -> bool:
    """Count a failed identity check by phone against the patient; True when their phone access is (now) locked."""
    today = timezone.localdate()
    with transaction.atomic():
        patient = Patient.objects.select_for_update().filter(pk=patient_id).first()
        if patient is None:
            return False
        if patient.phone_check_failed_on != today:
            patient.phone_check_failures, patient.phone_check_failed_on = 0, today
        patient.phone_check_failures += 1
        if patient.phone_check_failures >= PHONE_FAILURES_PER_DAY and patient.phone_locked_at is None:
            patient.phone_locked_at = timezone.now()
        # An update, not a save: a caller's guess is no edit of the patient's record (no history entry).
        Patient.objects.filter(pk=patient.pk).update(
            phone_check_failures=patient.phone_check_failures, phone_check_failed_on=today,
            phone_locked_at=patient.phone_locked_at,
        )
        return patient.phone_locked_at is not None


def patient_phone_unlock(*, patient: Patient) -> Patient:
    """Staff have checked who the caller is: the phone agent may identify this patient again."""
    patient.phone_locked_at, patient.phone_check_failures = None, 0
    patient.save(update_fields=["phone_locked_at", "phone_check_failures", "updated_at"])
    return patient


def patient_delete(*, patient: Patient) -> None:
    """Delete the patient and their appointments (interfaces ask first when any are upcoming)."""
    patient_id = patient.pk
    with transaction.atomic():
        patient.delete()
        transaction.on_commit(lambda: patient_deleted.send(sender=Patient, patient_id=patient_id))
