"""The slot grid and the booking horizon in the dashboard and the admin: what the desk sees, what is saved."""

from __future__ import annotations

import html
import re
from datetime import time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from scheduling.models import Appointment
from tests.clinic.test_admin import form as admin_form
from tests.factories import AppointmentFactory, PatientFactory, ProviderFactory, UserFactory, clinic_profile
from tests.scheduling.test_views import HTMX, booking_form
from tests.when import local_dt

pytestmark = pytest.mark.django_db
OFF_GRID = "10:07 is not on Dr Ayesha Khan's 20-minute grid; the nearest times are 10:00 and 10:20."


@pytest.fixture
def desk(client):
    client.force_login(UserFactory())
    return client


@pytest.fixture
def khan():
    """20-minute slots; mornings 09:00-12:00, afternoons from 13:30 (a grid of its own)."""
    return ProviderFactory(name="Dr Ayesha Khan", appointment_minutes=20,
                           hours={wd: [(time(9), time(12)), (time(13, 30), time(17))] for wd in range(5)})


@pytest.fixture
def ali():
    return PatientFactory(full_name="Ali Raza", phone="+923001234567")


def text(response) -> str:
    """The page as a reader sees it: "Khan's", not "Khan&#x27;s"."""
    return html.unescape(response.content.decode())


def starts() -> list[str]:
    return [f"{timezone.localtime(a.start):%H:%M}" for a in Appointment.objects.order_by("start")]


def test_an_accidental_off_grid_time_is_refused_with_the_nearest_grid_times(desk, khan, ali, monday):
    # The list's value or a typed "other time" without the tick: both are slips.
    for extra in ({"time": "10:07"}, {"time": "", "other_time": "10:07"}):
        response = desk.post(reverse("appointment_new"),
                             booking_form(provider=khan, start=local_dt(monday, 10), patient=ali, **extra), **HTMX)
        html = text(response)
        assert response.status_code == 422
        assert OFF_GRID in html and "tick “Other time”" in html
        picks = re.findall(r'data-pick data-provider="\d+" data-date="[\d-]+" data-time="(\d\d:\d\d)"', html)
        assert picks[:2] == ["10:00", "10:20"]
    assert not Appointment.objects.exists()


def test_other_time_ticked_books_off_the_grid_on_purpose(desk, khan, ali, monday):
    data = booking_form(provider=khan, start=local_dt(monday, 10), patient=ali, time="", off_grid="on",
                        other_time="10:07")
    assert desk.post(reverse("appointment_new"), data, **HTMX).status_code == 204
    appointment = Appointment.objects.get()
    assert (starts(), f"{timezone.localtime(appointment.end):%H:%M}") == (["10:07"], "10:27")
    # The other time wins over the list's choice: it is the one typed last, on purpose.
    data = booking_form(provider=khan, start=local_dt(monday, 11), patient=ali, off_grid="on", other_time="11:05")
    assert desk.post(reverse("appointment_new"), data, **HTMX).status_code == 204
    assert starts() == ["10:07", "11:05"]


@pytest.mark.parametrize("extra, error", [
    ({"time": "10:00:30"}, "Enter the time as HH:MM, without seconds: 10:00:30 is not a slot start."),
    ({"off_grid": "on", "other_time": "10:07:30"}, "without seconds: 10:07:30"),
    ({"off_grid": "on", "other_time": ""}, "Type the other time as HH:MM."),
    ({"off_grid": "on", "other_time": "ten past"}, "Enter the other time as HH:MM"),
])
def test_seconds_and_a_missing_other_time_are_explained(desk, khan, ali, monday, extra, error):
    data = booking_form(provider=khan, start=local_dt(monday, 10), patient=ali, **extra)
    response = desk.post(reverse("appointment_new"), data, **HTMX)
    assert response.status_code == 422 and error in text(response)
    assert not Appointment.objects.exists()


def test_whole_seconds_are_normalised(desk, khan, ali, monday):
    data = booking_form(provider=khan, start=local_dt(monday, 10), patient=ali, time="10:20:00")
    assert desk.post(reverse("appointment_new"), data, **HTMX).status_code == 204
    assert starts() == ["10:20"]


def test_a_legacy_off_grid_appointment_shows_keeps_its_time_and_moves_by_the_same_rule(desk, khan, ali, monday):
    appointment = AppointmentFactory(provider=khan, patient=ali, start=local_dt(monday, 10, 7),
                                     end=local_dt(monday, 10, 27), reason="Fever")
    form = text(desk.get(reverse("appointment_edit", args=[appointment.pk]), **HTMX))
    assert '<option value="10:07" selected>' in form
    url = reverse("appointment_edit", args=[appointment.pk])
    # Only the reason changes: it stays at 10:07.
    data = booking_form(provider=khan, start=local_dt(monday, 10, 7), status="booked", reason="Fever, cough")
    assert desk.post(url, data, **HTMX).status_code == 204
    appointment.refresh_from_db()
    assert (starts(), appointment.reason) == (["10:07"], "Fever, cough")
    # A new off-grid time needs the tick, as for a booking.
    data = booking_form(provider=khan, start=local_dt(monday, 10, 7), status="booked", reason="x", other_time="11:05")
    response = desk.post(url, data, **HTMX)
    assert response.status_code == 422
    assert "11:05 is not on Dr Ayesha Khan's 20-minute grid; the nearest times are 11:00 and 11:20." in text(response)
    appointment.refresh_from_db()
    assert (starts(), appointment.reason) == (["10:07"], "Fever, cough")
    data["off_grid"] = "on"
    assert desk.post(url, data, **HTMX).status_code == 204
    assert starts() == ["11:05"]
    # Back onto the grid from the list.
    data = booking_form(provider=khan, start=local_dt(monday, 11, 20), status="booked", reason="x")
    assert desk.post(url, data, **HTMX).status_code == 204
    assert starts() == ["11:20"]
    # And cancelled with one click.
    assert desk.post(reverse("appointment_status", args=[appointment.pk]), {"status": "cancelled"},
                     **HTMX).status_code == 204


def test_a_calendar_move_off_the_grid_is_refused_with_the_nearest_grid_times(desk, khan, ali, monday):
    appointment = AppointmentFactory(provider=khan, patient=ali, start=local_dt(monday, 10), end=local_dt(monday, 10, 20))
    url = reverse("appointment_move", args=[appointment.pk])
    response = desk.post(url, {"provider": khan.pk, "date": monday.isoformat(), "time": "10:07"}, **HTMX)
    assert OFF_GRID in response.headers["HX-Trigger"]
    assert starts() == ["10:00"]
    response = desk.post(url, {"provider": khan.pk, "date": monday.isoformat(), "time": "13:50"}, **HTMX)
    assert response.status_code == 204 and starts() == ["13:50"]


def test_the_dialog_offers_other_time_as_an_unticked_choice(desk, khan, monday):
    html = text(desk.get(reverse("appointment_slots"), {"provider": khan.pk, "date": monday}))
    assert re.search(r'<input type="checkbox" name="off_grid" id="appt_off_grid">', html)
    assert "Other time, off the 20-minute grid" in html
    assert 'value="13:30"' in html and 'value="13:40"' not in html and 'value="13:50"' in html


# --- the booking horizon ---------------------------------------------------------

def test_a_day_past_the_horizon_says_until_when_with_the_last_free_times(desk, khan, monday):
    clinic_profile(booking_horizon_days=10)
    ProviderFactory(name="Dr Bilal Ahmed")
    last = timezone.localdate() + timedelta(days=10)
    day = last + timedelta(days=14)
    until = (f"{date_format(day, 'l j F Y')} is too far ahead: the clinic books up to "
             f"{date_format(last, 'l j F Y')} (10 days ahead).")

    html = text(desk.get(reverse("appointment_slots"), {"provider": khan.pk, "date": day}))
    assert f"{until} The last free times before then with Dr Ayesha Khan are " in html
    picks = re.findall(r'data-pick data-provider="(\d+)" data-date="([\d-]+)"', html)
    assert picks and {p for p, _ in picks} == {str(khan.pk)}
    assert all(last - timedelta(days=7) < timezone.datetime.fromisoformat(d).date() <= last for _, d in picks)

    html = text(desk.get(reverse("appointment_next_free"), {"date": day}, **HTMX))
    assert f"{until} The last free times before then with anyone are " in html
    assert re.search(r"\d:\d\d with Dr ", html)  # each time says with whom
    assert "No one has a free time" not in html

    html = text(desk.get(reverse("calendar"), {"date": day}))
    assert f"{until} The last free times before then with anyone are " in html
    html = text(desk.get(reverse("calendar"), {"date": day, "view": "week", "provider": khan.pk}))
    assert "The last free times before then with Dr Ayesha Khan are " in html
    assert "too far ahead" not in text(desk.get(reverse("calendar"), {"date": last}))


# --- the admin ---------------------------------------------------------------------

@pytest.fixture
def manager(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_the_admin_refuses_an_accidental_off_grid_time_and_books_a_ticked_one(manager, khan, ali, monday):
    url = reverse("admin:scheduling_appointment_add")
    response = manager.post(url, admin_form(ali, khan, monday, 10, 7))
    assert response.status_code == 200 and OFF_GRID in text(response)
    assert not Appointment.objects.exists()
    response = manager.post(url, admin_form(ali, khan, monday, 10, 7, start_1="10:07:30", off_grid="on"))
    assert "10:07:30 has seconds" in text(response) and not Appointment.objects.exists()
    assert manager.post(url, admin_form(ali, khan, monday, 10, 7, off_grid="on")).status_code == 302
    appointment = Appointment.objects.get()
    assert starts() == ["10:07"]
    # Moving it in the admin follows the same rule.
    change = reverse("admin:scheduling_appointment_change", args=[appointment.pk])
    response = manager.post(change, admin_form(ali, khan, monday, 11, 5))
    assert "11:05 is not on Dr Ayesha Khan's 20-minute grid" in text(response)
    assert starts() == ["10:07"]
    assert manager.post(change, admin_form(ali, khan, monday, 11, 20)).status_code == 302
    assert starts() == ["11:20"]
