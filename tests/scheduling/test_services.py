"""Booking services: every rule re-checked at write time, refusals that say what to do."""

from datetime import time, timedelta

import pytest
from django.utils import timezone
from django.utils.formats import date_format

from scheduling import services
from scheduling.models import Appointment
from scheduling.services import BookingError, appointment_changed
from tests.factories import AppointmentFactory, ClosureFactory, PatientFactory, ProviderFactory, clinic_profile
from tests.when import local_dt

pytestmark = pytest.mark.django_db
Status = Appointment.Status


@pytest.fixture
def khan():
    return ProviderFactory(name="Dr Khan")


@pytest.fixture
def patient():
    return PatientFactory(full_name="Ali Raza")


def book(provider, patient, start, **kw):
    return services.appointment_book(patient=patient, provider=provider, start=start, **kw)


def refused(fn, **kw) -> BookingError:
    before = list(Appointment.objects.values_list("pk", "status", "start", "provider_id"))
    with pytest.raises(BookingError) as info:
        fn(**kw)
    assert list(Appointment.objects.values_list("pk", "status", "start", "provider_id")) == before
    return info.value


def test_books_a_free_slot_for_the_providers_length(khan, patient, monday):
    appt = book(khan, patient, local_dt(monday, 9, 30), reason="  Fever ")
    appt.refresh_from_db()
    assert appt.status == Status.BOOKED
    assert appt.end - appt.start == timedelta(minutes=30)
    assert appt.reason == "Fever"
    assert appt.source == Appointment.Source.DASHBOARD


def test_sunday_is_refused_with_the_next_free_times(khan, patient, monday):
    sunday = monday - timedelta(days=1)
    err = refused(book, provider=khan, patient=patient, start=local_dt(sunday, 9))
    assert err.message.startswith("Dr Khan is not in on Sundays.")
    assert "The nearest free times are" in err.message
    assert f"Monday {monday.day}" in err.message and "9:00, 9:30, 10:00" in err.message
    assert [timezone.localtime(s.start).time() for s in err.alternatives] == [time(9), time(9, 30), time(10)]


def test_taken_slot_offers_the_nearest_same_day_times(khan, patient, monday):
    book(khan, patient, local_dt(monday, 11))
    err = refused(book, provider=khan, patient=PatientFactory(), start=local_dt(monday, 11))
    assert err.code == "taken"
    assert err.message.startswith(f"Dr Khan is already booked at 11:00 on Monday {monday.day}")
    assert "10:30, 11:30" in err.message
    assert all(timezone.localtime(s.start).date() == monday for s in err.alternatives)


def test_overlapping_a_longer_appointment_is_refused(patient, monday):
    physio = ProviderFactory(name="Bilal", appointment_minutes=45)
    book(physio, patient, local_dt(monday, 9))
    assert refused(book, provider=physio, patient=patient, start=local_dt(monday, 9, 30), off_grid=True).code == "taken"


def test_lunch_break_and_after_hours_are_outside_hours(khan, patient, monday):
    err = refused(book, provider=khan, patient=patient, start=local_dt(monday, 13, 15))
    assert err.message.startswith("Dr Khan sees patients on Mondays 09:00-13:00 and 14:00-17:00; 13:15 is outside")
    assert refused(book, provider=khan, patient=patient, start=local_dt(monday, 16, 45)).code == "outside_hours"


def test_past_and_short_notice_are_refused(khan, patient, monday):
    at_ten = local_dt(monday, 10)
    err = refused(book, provider=khan, patient=patient, start=local_dt(monday, 9), now=at_ten)
    assert err.message.startswith(f"Monday {monday.day} ")
    assert "at 9:00 has already passed. The nearest free times are" in err.message
    clinic_profile(min_notice_minutes=120)
    err = refused(book, provider=khan, patient=patient, start=local_dt(monday, 11, 30), now=at_ten)
    assert err.message.startswith("Bookings need at least 2 hours notice, so 11:30 today is too soon.")
    assert book(khan, patient, local_dt(monday, 12), now=at_ten).pk


def test_beyond_the_booking_horizon_is_refused(khan, patient, monday):
    clinic_profile(booking_horizon_days=3)
    err = refused(book, provider=khan, patient=patient, start=local_dt(monday, 9))
    last = timezone.localdate() + timedelta(days=3)
    assert err.message.startswith(f"{date_format(monday, 'l j F Y')} is too far ahead: the clinic books up to "
                                  f"{date_format(last, 'l j F Y')} (3 days ahead). The last free times before "
                                  f"then with Dr Khan are ")
    assert err.alternatives and all(timezone.localtime(s.start).date() <= last for s in err.alternatives)


def test_clinic_closure_and_provider_leave(khan, patient, monday):
    ClosureFactory(start_date=monday, end_date=monday, reason="Quaid-e-Azam Day")
    err = refused(book, provider=khan, patient=patient, start=local_dt(monday, 10))
    assert err.message.startswith(f"The clinic is closed on Monday {monday.day}")
    assert "(Quaid-e-Azam Day)" in err.message
    assert all(timezone.localtime(s.start).date() > monday for s in err.alternatives)

    tuesday = monday + timedelta(days=1)
    ClosureFactory(provider=khan, start_date=tuesday, end_date=tuesday, reason="Annual leave")
    assert refused(book, provider=khan, patient=patient, start=local_dt(tuesday, 10)).message.startswith(
        f"Dr Khan is away on Tuesday {tuesday.day}")


def test_inactive_provider_is_refused(khan, patient, monday):
    khan.is_active = False
    khan.save()
    err = refused(book, provider=khan, patient=patient, start=local_dt(monday, 10))
    assert err.message == "Dr Khan is not taking appointments at the moment."


def test_naive_datetimes_are_a_programming_error(khan, patient, monday):
    with pytest.raises(ValueError):
        book(khan, patient, local_dt(monday, 10).replace(tzinfo=None))


def test_reschedule_moves_frees_the_old_slot_and_holds_the_new(khan, patient, monday):
    appt = book(khan, patient, local_dt(monday, 9))
    moved = services.appointment_reschedule(appointment=appt, start=local_dt(monday, 15))
    assert moved.pk == appt.pk and moved.status == Status.RESCHEDULED
    # The old time is free again; the new one is held even though it is "rescheduled".
    book(khan, PatientFactory(), local_dt(monday, 9))
    assert refused(book, provider=khan, patient=PatientFactory(), start=local_dt(monday, 15)).code == "taken"


def test_reschedule_to_the_same_provider_overlapping_itself_is_allowed(patient, monday):
    physio = ProviderFactory(appointment_minutes=45)
    appt = book(physio, patient, local_dt(monday, 9))
    moved = services.appointment_reschedule(appointment=appt, start=local_dt(monday, 9, 45))
    assert timezone.localtime(moved.start).time() == time(9, 45)


def test_reschedule_refusal_leaves_the_appointment_where_it_was(khan, patient, monday):
    appt = book(khan, patient, local_dt(monday, 9))
    err = refused(services.appointment_reschedule, appointment=appt, start=local_dt(monday - timedelta(days=1), 9))
    assert "Sundays" in err.message
    appt.refresh_from_db()
    assert appt.status == Status.BOOKED and timezone.localtime(appt.start).time() == time(9)


def test_cancel_keeps_the_row_and_frees_the_slot(khan, patient, monday):
    appt = book(khan, patient, local_dt(monday, 9))
    services.appointment_cancel(appointment=appt)
    appt.refresh_from_db()
    assert appt.status == Status.CANCELLED and appt.cancelled_at is not None
    book(khan, PatientFactory(), local_dt(monday, 9))
    assert refused(services.appointment_cancel, appointment=appt).message == "This appointment is already cancelled."
    with pytest.raises(BookingError, match="cancelled and cannot be moved"):
        services.appointment_reschedule(appointment=appt, start=local_dt(monday, 10))


def test_completed_and_no_show_only_once_started(khan, patient, monday):
    future = book(khan, patient, local_dt(monday, 9))
    err = refused(services.appointment_set_status, appointment=future, status=Status.COMPLETED)
    assert err.message == "This appointment has not started yet, so it cannot be marked completed."
    past = AppointmentFactory(provider=khan, start=timezone.now() - timedelta(days=1))
    assert services.appointment_set_status(appointment=past, status=Status.NO_SHOW).status == Status.NO_SHOW
    assert refused(services.appointment_cancel, appointment=past).message.endswith(
        "only upcoming appointments can be cancelled.")


def test_restoring_a_cancelled_appointment_needs_its_slot(khan, patient, monday):
    appt = book(khan, patient, local_dt(monday, 9))
    services.appointment_cancel(appointment=appt)
    book(khan, PatientFactory(), local_dt(monday, 9))
    assert refused(services.appointment_set_status, appointment=appt, status=Status.BOOKED).code == "taken"


def test_unknown_status_and_rescheduled_by_hand_are_refused(khan, patient, monday):
    appt = book(khan, patient, local_dt(monday, 9))
    assert "'done' is not an appointment status" in refused(
        services.appointment_set_status, appointment=appt, status="done").message
    assert refused(services.appointment_set_status, appointment=appt, status=Status.RESCHEDULED).code == "status"
    assert refused(book, provider=khan, patient=patient, start=local_dt(monday, 10),
                   status=Status.COMPLETED).code == "status"


def test_edit_is_all_or_nothing(khan, patient, monday):
    appt = book(khan, patient, local_dt(monday, 9), reason="Check-up")
    refused(services.appointment_edit, appointment=appt, provider=khan, start=local_dt(monday, 13),
            status=Status.PENDING, reason="Changed")
    appt.refresh_from_db()
    assert (appt.reason, appt.status) == ("Check-up", Status.BOOKED)
    edited = services.appointment_edit(appointment=appt, provider=khan, start=local_dt(monday, 10),
                                       status=Status.BOOKED, reason="Changed")
    assert edited.reason == "Changed" and timezone.localtime(edited.start).time() == time(10)


def test_listeners_hear_each_change_after_commit(khan, patient, monday, django_capture_on_commit_callbacks):
    heard = []

    def listener(sender, appointment, action, **kw):
        heard.append(action)

    appointment_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=False) as pending:
            appt = book(khan, patient, local_dt(monday, 9))
        assert heard == []  # nothing before commit
        for callback in pending:
            callback()
        with django_capture_on_commit_callbacks(execute=True):
            services.appointment_cancel(appointment=appt)
        with django_capture_on_commit_callbacks(execute=True):
            with pytest.raises(BookingError):
                book(khan, patient, local_dt(monday, 13))
    finally:
        appointment_changed.disconnect(listener)
    assert heard == ["booked", "cancelled"]


def test_database_refuses_overlap_even_without_the_services(khan, patient, monday):
    from django.db import IntegrityError, transaction

    AppointmentFactory(provider=khan, start=local_dt(monday, 9))
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentFactory(provider=khan, start=local_dt(monday, 9, 15))
    # A cancelled appointment does not hold its slot.
    AppointmentFactory(provider=khan, start=local_dt(monday, 10), status=Status.CANCELLED)
    AppointmentFactory(provider=khan, start=local_dt(monday, 10))


# --- the slot grid ------------------------------------------------------------------

@pytest.fixture
def khan20():
    """20-minute slots, mornings 09:00-12:00 and afternoons from 13:30: the afternoon grid starts at 13:30."""
    return ProviderFactory(name="Dr Khan", appointment_minutes=20,
                           hours={wd: [(time(9), time(12)), (time(13, 30), time(17))] for wd in range(5)})


def test_an_off_grid_start_is_refused_naming_the_nearest_grid_times(khan20, patient, monday):
    err = refused(book, provider=khan20, patient=patient, start=local_dt(monday, 10, 7))
    assert err.code == "off_grid"
    assert err.message.startswith("10:07 is not on Dr Khan's 20-minute grid; the nearest times are 10:00 and 10:20.")
    assert [timezone.localtime(s.start).time() for s in err.alternatives][:2] == [time(10), time(10, 20)]


def test_an_off_grid_start_chosen_on_purpose_is_booked_and_holds_its_time(khan20, patient, monday):
    appt = book(khan20, patient, local_dt(monday, 10, 7), off_grid=True)
    assert (timezone.localtime(appt.start).time(), timezone.localtime(appt.end).time()) == (time(10, 7), time(10, 27))
    # The grid's 10:00 and 10:20 now overlap it; 10:40 is free.
    assert refused(book, provider=khan20, patient=PatientFactory(), start=local_dt(monday, 10, 20)).code == "taken"
    assert book(khan20, PatientFactory(), local_dt(monday, 10, 40)).pk


def test_the_afternoon_grid_starts_at_its_own_interval(khan20, patient, monday):
    assert book(khan20, patient, local_dt(monday, 13, 50)).pk
    err = refused(book, provider=khan20, patient=patient, start=local_dt(monday, 13, 40))
    assert "the nearest times are 13:30 and 13:50." in err.message


def test_seconds_are_refused_on_the_grid_and_off_it(khan20, patient, monday):
    err = refused(book, provider=khan20, patient=patient, start=local_dt(monday, 10).replace(second=30))
    assert err.message.startswith("10:00:30 is not on Dr Khan's 20-minute grid; the nearest times are 10:00 and 10:20.")
    err = refused(book, provider=khan20, patient=patient, start=local_dt(monday, 10, 7).replace(second=30),
                  off_grid=True)
    assert err.code == "seconds" and "10:07:30 has seconds" in err.message


def test_the_phone_agent_cannot_book_off_the_grid(khan20, patient, monday):
    with pytest.raises(ValueError):
        book(khan20, patient, local_dt(monday, 10, 7), off_grid=True, source=Appointment.Source.PHONE)
    assert not Appointment.objects.exists()


def test_moving_follows_the_grid_and_an_off_grid_appointment_can_still_move_and_cancel(khan20, patient, monday):
    appt = book(khan20, patient, local_dt(monday, 10))
    err = refused(services.appointment_reschedule, appointment=appt, start=local_dt(monday, 11, 5))
    assert err.message.startswith("11:05 is not on Dr Khan's 20-minute grid; the nearest times are 11:00 and 11:20.")
    moved = services.appointment_reschedule(appointment=appt, start=local_dt(monday, 11, 5), off_grid=True)
    assert timezone.localtime(moved.start).time() == time(11, 5)
    # A legacy off-grid appointment moves back onto the grid, keeps its time on
    # an edit of the reason only, is cancelled and restored at its own time.
    moved = services.appointment_edit(appointment=moved, provider=khan20, start=moved.start,
                                      status=moved.status, reason="Follow-up")
    assert timezone.localtime(moved.start).time() == time(11, 5) and moved.reason == "Follow-up"
    services.appointment_cancel(appointment=moved)
    restored = services.appointment_set_status(appointment=moved, status=Status.BOOKED)
    assert restored.status == Status.BOOKED and timezone.localtime(restored.start).time() == time(11, 5)
    back = services.appointment_reschedule(appointment=restored, start=local_dt(monday, 11, 20))
    assert timezone.localtime(back.start).time() == time(11, 20)


def test_past_horizon_says_until_when_and_the_last_free_times_for_one_provider_and_anyone(khan, monday):
    clinic_profile(booking_horizon_days=10)
    ProviderFactory(name="Dr Ali")
    last = timezone.localdate() + timedelta(days=10)
    day = last + timedelta(days=20)
    for provider in (khan, None):
        horizon = services.past_horizon(day=day, provider=provider)
        assert horizon.message.startswith(
            f"{date_format(day, 'l j F Y')} is too far ahead: the clinic books up to {date_format(last, 'l j F Y')} "
            f"(10 days ahead). The last free times before then {'with Dr Khan' if provider else 'with anyone'} are ")
        assert horizon.slots and all(last - timedelta(days=7) < timezone.localtime(s.start).date() <= last
                                     for s in horizon.slots)
    # For anyone, each time says with whom.
    assert " with Dr " in horizon.message.split(" are ", 1)[1]
