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
        digits = "".join(ch for ch in word if ch.isdigit())
        if digits and len(digits) >= len(word) - 1:
            # Numbers are stored in E.164; a national "0300..." drops its
            # trunk zero there, so match on the digits after it too.
            qs = qs.filter(Q(phone__contains=digits) | Q(phone__contains=digits.lstrip("0") or digits))
        else:
            qs = qs.filter(full_name__icontains=word)
    return qs.order_by("full_name", "id")


def patients_for_phone(phone: str) -> QuerySet[Patient]:
    """Everyone registered under one number (a parent and their children), newest first."""
    e164 = try_normalize_phone(phone)
    if not e164:
        return Patient.objects.none()
    return Patient.objects.filter(phone=e164).order_by("-updated_at", "id")
