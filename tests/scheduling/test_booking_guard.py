from datetime import datetime, time, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from scheduling.models import Appointment
from tests.factories import AppointmentFactory, PatientFactory, ProviderFactory

pytestmark = pytest.mark.django_db


def next_monday_at(hour: int, minute: int = 0) -> datetime:
    today = timezone.localdate()
    monday = today + timedelta(days=7 - today.weekday())
    return datetime.combine(monday, time(hour, minute), tzinfo=timezone.get_default_timezone())


def test_database_refuses_an_overlapping_appointment_for_the_same_provider():
    first = AppointmentFactory(start=next_monday_at(9), provider__appointment_minutes=45)
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.create(
            patient=PatientFactory(), provider=first.provider,
            start=next_monday_at(9, 30), end=next_monday_at(10),
        )
    assert Appointment.objects.count() == 1


def test_database_allows_overlap_with_a_cancelled_one_or_another_provider():
    first = AppointmentFactory(start=next_monday_at(9), status=Appointment.Status.CANCELLED)
    AppointmentFactory(start=next_monday_at(9), provider=first.provider)
    AppointmentFactory(start=next_monday_at(9), provider=ProviderFactory())
    assert Appointment.objects.count() == 3
