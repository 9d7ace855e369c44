"""Patient flow: check-in (Arrived), completed, no-show, cancel, their Undo, and what Arrived means elsewhere."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from scheduling import selectors, services
from scheduling.models import Appointment
from scheduling.services import TRANSITIONS, BookingError
from tests.factories import AppointmentFactory, PatientFactory, ProviderFactory, UserFactory
from tests.when import local_dt

pytestmark = pytest.mark.django_db
Status = Appointment.Status
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def khan():
    today = timezone.localdate()
    # Works every day around the clock, so "today" tests do not depend on the hour they run.
    return ProviderFactory(name="Dr Khan", hours={d: [(local_dt(today, 0).time(), local_dt(today, 23, 59).time())]
                                                  for d in range(7)})


def visit(khan, *, minutes_from_now: int, **kw) -> Appointment:
    start = (timezone.now() + timedelta(minutes=minutes_from_now)).replace(second=0, microsecond=0)
    return AppointmentFactory(provider=khan, patient=PatientFactory(full_name="Ali Raza"), start=start,
                              end=start + timedelta(minutes=30), **kw)


def post_status(desk, appointment, status, **extra):
    return desk.post(reverse("appointment_status", args=[appointment.pk]), {"status": status, **extra}, **HTMX)


def event(response, name="clinic:changed") -> dict:
    return json.loads(response.headers["HX-Trigger"])[name]


def same_day(khan, minutes):
    """Today, `minutes` from now, unless that crosses midnight (then the nearest same-day time)."""
    now = timezone.localtime()
    target = now + timedelta(minutes=minutes)
    if target.date() != now.date():
        target = now.replace(hour=23, minute=58) if minutes > 0 else now.replace(hour=0, minute=1)
    return int((target - now).total_seconds() // 60)


# --- the table ----------------------------------------------------------------------

def test_every_status_has_a_row_and_no_status_leads_to_itself():
    assert set(TRANSITIONS) == set(Status.values)
    for current, targets in TRANSITIONS.items():
        assert current not in targets and targets <= set(Status.values)


def test_check_in_on_the_day_sets_the_time_and_holds_the_slot(khan):
    appt = visit(khan, minutes_from_now=same_day(khan, 20))
    now = timezone.now()
    arrived = services.appointment_set_status(appointment=appt, status=Status.ARRIVED, now=now)
    assert (arrived.status, arrived.arrived_at) == (Status.ARRIVED, now)
    # Its slot stays taken: nobody can be booked over an arrived patient.
    free = selectors.free_slots_for_day(provider=khan, day=selectors.local(appt.start).date())
    assert appt.start not in free


def test_check_in_only_on_the_day(khan):
    tomorrow = visit(khan, minutes_from_now=24 * 60 + 60)
    with pytest.raises(BookingError, match="patients check in on the day"):
        services.appointment_set_status(appointment=tomorrow, status=Status.ARRIVED)
    yesterday = visit(khan, minutes_from_now=-24 * 60 - 60)
    with pytest.raises(BookingError, match="mark it completed instead"):
        services.appointment_set_status(appointment=yesterday, status=Status.ARRIVED)
    assert Appointment.objects.filter(status=Status.ARRIVED).count() == 0


def test_an_arrived_patient_is_seen_any_time_but_is_never_a_no_show(khan):
    appt = visit(khan, minutes_from_now=same_day(khan, 30), status=Status.ARRIVED, arrived_at=timezone.now())
    with pytest.raises(BookingError, match="cannot be marked no-show"):
        services.appointment_set_status(appointment=appt, status=Status.NO_SHOW)
    # Seen early: completed before the booked time is fine once they are here.
    done = services.appointment_set_status(appointment=appt, status=Status.COMPLETED)
    assert done.status == Status.COMPLETED and done.arrived_at is not None
    # Undoing "completed" puts them back in the waiting room with the time they came.
    back = services.appointment_set_status(appointment=done, status=Status.ARRIVED)
    assert back.arrived_at == appt.arrived_at


def test_undo_check_in_clears_the_time(khan):
    appt = visit(khan, minutes_from_now=same_day(khan, 30), status=Status.PENDING)
    services.appointment_set_status(appointment=appt, status=Status.ARRIVED)
    undone = services.appointment_set_status(appointment=appt, status=Status.PENDING)
    assert (undone.status, undone.arrived_at) == (Status.PENDING, None)


def test_a_no_show_who_turns_up_late_can_still_check_in(khan):
    appt = visit(khan, minutes_from_now=same_day(khan, -10), status=Status.NO_SHOW)
    assert services.appointment_set_status(appointment=appt, status=Status.ARRIVED).status == Status.ARRIVED


def test_the_phone_agent_cannot_move_cancel_or_even_see_an_arrived_visit(khan):
    appt = visit(khan, minutes_from_now=same_day(khan, 40), status=Status.ARRIVED, arrived_at=timezone.now())
    assert list(selectors.upcoming_for_patient(appt.patient_id)) == []
    with pytest.raises(BookingError, match="already arrived for this appointment, so it can no longer be moved"):
        services.appointment_reschedule(appointment=appt, start=appt.start + timedelta(hours=1))
    with pytest.raises(BookingError, match="already arrived for this appointment, so it can no longer be cancelled"):
        services.appointment_cancel(appointment=appt)
    appt.refresh_from_db()
    assert appt.status == Status.ARRIVED


def test_undoing_a_cancellation_within_the_notice_period_works_while_the_slot_is_free(khan):
    appt = visit(khan, minutes_from_now=same_day(khan, 15))  # inside the default notice
    services.appointment_cancel(appointment=appt)
    restored = services.appointment_set_status(appointment=appt, status=Status.BOOKED)
    assert (restored.status, restored.cancelled_at) == (Status.BOOKED, None)


def test_status_actions_offer_only_what_is_allowed_now(khan):
    now = timezone.now()
    later_today = now + timedelta(minutes=same_day(khan, 60))
    earlier_today = now + timedelta(minutes=same_day(khan, -60))
    next_week = now + timedelta(days=7)

    def labels(status, start):
        return [label for _, label in services.status_actions(status=status, start=start, now=now)]

    assert labels(Status.BOOKED, later_today) == ["Arrived", "Cancel"]
    assert labels(Status.BOOKED, earlier_today) == ["Arrived", "Completed", "No-show", "Cancel"]
    assert labels(Status.BOOKED, next_week) == ["Cancel"]
    assert labels(Status.ARRIVED, later_today) == ["Completed"]
    assert labels(Status.NO_SHOW, earlier_today) == ["Arrived"]  # late after all
    assert labels(Status.COMPLETED, earlier_today) == []  # corrections: Undo or the edit form
    assert labels(Status.CANCELLED, later_today) == []


# --- the one-click view ---------------------------------------------------------------

def test_one_click_check_in_answers_with_a_message_and_the_way_back(desk, khan):
    appt = visit(khan, minutes_from_now=same_day(khan, 30), status=Status.RESCHEDULED)
    response = post_status(desk, appt, Status.ARRIVED)
    assert response.status_code == 204
    detail = event(response)
    assert detail["message"].startswith("Ali Raza has arrived for")
    assert detail["undo"] == {"url": reverse("appointment_status", args=[appt.pk]),
                              "values": {"status": "rescheduled", "undo": "1"}}
    appt.refresh_from_db()
    assert appt.status == Status.ARRIVED and appt.arrived_at

    undone = desk.post(detail["undo"]["url"], detail["undo"]["values"], **HTMX)
    assert undone.status_code == 204 and "undo" not in event(undone)
    assert event(undone)["message"].startswith("Undone: Ali Raza's")
    appt.refresh_from_db()
    assert (appt.status, appt.arrived_at) == (Status.RESCHEDULED, None)


def test_cancel_in_one_click_and_undo(desk, khan, monday):
    appt = AppointmentFactory(provider=khan, start=local_dt(monday, 10))
    response = post_status(desk, appt, Status.CANCELLED)
    assert event(response)["message"].startswith("Cancelled ")
    appt.refresh_from_db()
    assert appt.status == Status.CANCELLED
    desk.post(reverse("appointment_status", args=[appt.pk]), event(response)["undo"]["values"], **HTMX)
    appt.refresh_from_db()
    assert appt.status == Status.BOOKED


@pytest.mark.parametrize("status, start, target, message", [
    (Status.BOOKED, 7 * 24 * 60, Status.ARRIVED, "patients check in on the day"),
    (Status.BOOKED, 7 * 24 * 60, Status.NO_SHOW, "has not started yet"),
    (Status.ARRIVED, 60, Status.CANCELLED, "already arrived"),
    (Status.COMPLETED, -60, Status.CANCELLED, "only upcoming appointments can be cancelled"),
    (Status.BOOKED, 7 * 24 * 60, Status.RESCHEDULED, "Move the appointment to a new time"),
    (Status.BOOKED, 7 * 24 * 60, "checked-in", "is not an appointment status"),
    (Status.BOOKED, 7 * 24 * 60, "", "is not an appointment status"),
    (Status.BOOKED, 7 * 24 * 60, "x" * 10_000, "is not an appointment status"),
])
def test_refused_changes_say_why_and_change_nothing(desk, khan, status, start, target, message):
    appt = visit(khan, minutes_from_now=start if abs(start) > 24 * 60 else same_day(khan, start), status=status)
    response = post_status(desk, appt, target)
    assert response.status_code == 422
    assert message in event(response, "clinic:refused")["message"]
    assert len(event(response, "clinic:refused")["message"]) < 300
    appt.refresh_from_db()
    assert appt.status == status


def test_without_javascript_it_goes_back_to_the_page_it_came_from(desk, khan):
    appt = visit(khan, minutes_from_now=same_day(khan, 30))
    response = desk.post(reverse("appointment_status", args=[appt.pk]),
                         {"status": Status.ARRIVED, "next": "/patients/"})
    assert response.status_code == 302 and response.url == "/patients/"
    appt.refresh_from_db()
    assert appt.status == Status.ARRIVED
    # Never to another site.
    response = desk.post(reverse("appointment_status", args=[appt.pk]),
                         {"status": Status.COMPLETED, "next": "https://evil.example/"})
    assert response.url == reverse("appointment_list")


def test_status_changes_need_a_post_a_login_and_the_role(client, khan):
    appt = visit(khan, minutes_from_now=same_day(khan, 30))
    url = reverse("appointment_status", args=[appt.pk])
    assert client.post(url, {"status": Status.ARRIVED}).status_code == 302  # to sign in
    client.force_login(UserFactory(receptionist=False))
    assert client.post(url, {"status": Status.ARRIVED}).status_code == 403
    client.force_login(UserFactory())
    assert client.get(url).status_code == 405
    assert client.post(reverse("appointment_status", args=[999999]), {"status": "arrived"}).status_code == 404
    appt.refresh_from_db()
    assert appt.status == Status.BOOKED


def test_the_list_and_patient_page_show_the_buttons_that_apply(desk, khan):
    appt = visit(khan, minutes_from_now=same_day(khan, 30))
    day = selectors.local(appt.start).date()
    html = desk.get(reverse("appointment_list"), {"date_from": day, "date_to": day}).content.decode()
    assert 'name="status" value="arrived"' in html and 'name="status" value="cancelled"' in html
    assert 'name="status" value="no_show"' not in html  # not started yet
    page = desk.get(reverse("patient_detail", args=[appt.patient_id])).content.decode()
    assert 'name="status" value="arrived"' in page
