"""Reads for patients."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from patients.models import Patient
from patients.phone import try_normalize_phone


def patient_search(query: str) -> QuerySet[Patient]:
    """Patients matching every word of `query`: a piece of the name or digits of the phone.

    Searches all patients, not a recent window: "raza 4567" finds Ali Raza
    whose number ends in 4567, however long ago he registered.
    """
    qs = Patient.objects.all()
    for word in (query or "").split():
        qs = qs.filter(phone_match("phone", word) or Q(full_name__icontains=word))
    return qs.order_by("full_name", "id")


def phone_match(field: str, word: str) -> Q | None:
    """`word` of a search box as part of a phone number stored in E.164 in `field`;
    None when the word is not a number ("0300", "+92", "1234-567" are; "Raza" is not).

    Shared by every search over stored numbers (patients, calls).
    """
    digits = "".join(ch for ch in word if ch.isdigit())
    if not digits or len(digits) < len(word) - 1:
        return None
    # E.164 drops a national number's trunk zero ("0300..." is "+92300..."),
    # so the digits after it match too.
    return Q(**{f"{field}__contains": digits}) | Q(**{f"{field}__contains": digits.lstrip("0") or digits})


def patients_for_phone(phone: str) -> QuerySet[Patient]:
    """Everyone registered under one number (a parent and their children), newest first."""
    e164 = try_normalize_phone(phone)
    if not e164:
        return Patient.objects.none()
    return Patient.objects.filter(phone=e164).order_by("-updated_at", "id")
