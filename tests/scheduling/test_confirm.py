"""appointment_confirm: the patient said they will come (a reminder call, or the desk)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from scheduling import services
from scheduling.models import Appointment
from scheduling.services import BookingError
from tests.factories import AppointmentFactory, ProviderFactory
from tests.when import local_dt

pytestmark = pytest.mark.django_db
Status = Appointment.Status
Source = Appointment.Source


def test_confirm_records_when_and_how_and_books_a_pending_visit(monday, django_capture_on_commit_callbacks):
    visit = AppointmentFactory(start=local_dt(monday, 9), status=Status.PENDING)
    seen = []
    services.appointment_changed.connect(lambda sender, **kw: seen.append(kw["action"]), weak=False,
                                         dispatch_uid="test-confirm")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            confirmed = services.appointment_confirm(visit.pk, by=Source.PHONE)
    finally:
        services.appointment_changed.disconnect(dispatch_uid="test-confirm")
    assert seen == ["confirmed"]
    visit.refresh_from_db()
    assert visit.status == Status.BOOKED
    assert visit.confirmed_via == Source.PHONE
    assert abs(visit.confirmed_at - timezone.now()) < timedelta(seconds=5)
    assert confirmed.confirmed_at == visit.confirmed_at


def test_confirming_again_keeps_the_first_time(monday):
    visit = AppointmentFactory(start=local_dt(monday, 9))
    first = services.appointment_confirm(visit, by=Source.DASHBOARD).confirmed_at
    again = services.appointment_confirm(visit, by=Source.PHONE, now=first + timedelta(hours=1))
    assert (again.confirmed_at, again.confirmed_via) == (first, Source.DASHBOARD)


@pytest.mark.parametrize("status, words", [
    (Status.CANCELLED, "is cancelled and cannot be confirmed"),
    (Status.ARRIVED, "already arrived"),
    (Status.COMPLETED, "is completed and cannot be confirmed"),
])
def test_closed_visits_are_refused_with_a_message(monday, status, words):
    visit = AppointmentFactory(start=local_dt(monday, 9), status=status)
    with pytest.raises(BookingError, match=words):
        services.appointment_confirm(visit, by=Source.PHONE)
    visit.refresh_from_db()
    assert visit.confirmed_at is None and visit.status == status


def test_a_past_visit_cannot_be_confirmed(monday):
    visit = AppointmentFactory(start=local_dt(monday, 9))
    with pytest.raises(BookingError, match="only upcoming appointments can be confirmed"):
        services.appointment_confirm(visit, by=Source.PHONE, now=local_dt(monday, 9, 5))
    assert Appointment.objects.get().confirmed_at is None


def test_an_unknown_interface_is_a_programming_error(monday):
    visit = AppointmentFactory(start=local_dt(monday, 9))
    with pytest.raises(ValueError):
        services.appointment_confirm(visit, by="sms; drop table")


def test_moving_a_confirmed_visit_asks_for_a_new_confirmation(monday):
    khan = ProviderFactory()
    visit = AppointmentFactory(provider=khan, start=local_dt(monday, 9))
    services.appointment_confirm(visit, by=Source.PHONE)
    moved = services.appointment_reschedule(appointment=visit, start=local_dt(monday, 10))
    moved.refresh_from_db()
    assert (moved.confirmed_at, moved.confirmed_via) == (None, None)
