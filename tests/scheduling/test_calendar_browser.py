"""The calendar, the patient flow and the pages on phones, tablets and paper, in a real Chromium."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from scheduling.models import Appointment
from tests.conftest import _database_url_of
from tests.factories import AppointmentFactory, CallFactory, PatientFactory, ProviderFactory
from tests.when import local_dt

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
Status = Appointment.Status
ROOT = Path(__file__).resolve().parents[2]


def book(provider, start, name, **kw):
    return AppointmentFactory(provider=provider, start=start, end=start + timedelta(minutes=provider.appointment_minutes),
                              patient=PatientFactory(full_name=name), **kw)


@pytest.fixture
def clinic(monday):
    khan = ProviderFactory(name="Dr Ayesha Khan")
    ahmed = ProviderFactory(name="Dr Bilal Ahmed")
    ali = book(khan, local_dt(monday, 10), "Ali Raza", reason="Fever")
    sara = book(khan, local_dt(monday, 11), "Sara Malik")
    return {"khan": khan, "ahmed": ahmed, "ali": ali, "sara": sara, "monday": monday}


def open_calendar(page, url, day, **params):
    query = "&".join(f"{k}={v}" for k, v in {"date": day.isoformat(), **params}.items())
    page.goto(f"{url}/appointments/calendar/?{query}")
    expect(page.locator("#calendar")).to_be_visible()


def col(page, title):
    return page.locator(".cal-col", has=page.locator(".cal-col-head", has_text=title))


def block(page, name):
    return page.locator(".cal-appt", has_text=name)


def free(page, provider, t):
    return col(page, provider).locator(f".cal-free[data-time='{t}']")


def test_day_view_shows_each_providers_blocks_and_gaps_and_a_gap_books(logged_in_page, live_server_url, clinic):
    page, day = logged_in_page, clinic["monday"]
    open_calendar(page, live_server_url, day)
    khan, ahmed = col(page, "Dr Ayesha Khan"), col(page, "Dr Bilal Ahmed")
    expect(khan.locator(".cal-appt")).to_have_count(2)
    expect(khan.locator(".cal-appt", has_text="Ali Raza")).to_contain_text("Fever")
    expect(ahmed.locator(".cal-appt")).to_have_count(0)
    expect(khan.locator(".cal-free[data-time='10:00']")).to_have_count(0)  # taken
    expect(khan.locator(".cal-free[data-time='10:30']")).to_be_visible()  # the gap between them
    expect(khan.locator(".cal-break")).to_contain_text("Break 13:00–14:00")
    # A block is as tall as its length: Ali's 30 minutes match the 30-minute gap beside it.
    a = block(page, "Ali Raza").bounding_box()
    g = free(page, "Dr Ayesha Khan", "10:30").bounding_box()
    assert abs(a["height"] - g["height"]) < 2 and g["y"] > a["y"]

    free(page, "Dr Bilal Ahmed", "11:00").click()
    dialog = page.locator("dialog.modal")
    expect(dialog.get_by_label("Provider", exact=True)).to_have_value(str(clinic["ahmed"].pk))
    expect(dialog.get_by_label("Date", exact=True)).to_have_value(day.isoformat())
    expect(dialog.get_by_label("Time", exact=True)).to_have_value("11:00")
    dialog.get_by_label("Search patients").fill("Sara")
    dialog.get_by_role("radio", name=re.compile("Sara Malik")).check()
    dialog.get_by_role("button", name="Book appointment").click()
    expect(page.locator("dialog.modal")).to_have_count(0)
    expect(ahmed.locator(".cal-appt", has_text="Sara Malik")).to_contain_text("11:00–11:30")
    assert Appointment.objects.filter(provider=clinic["ahmed"], start=local_dt(day, 11)).exists()


def test_drag_to_a_free_time_moves_and_to_a_taken_time_snaps_back(logged_in_page, live_server_url, clinic):
    page, day = logged_in_page, clinic["monday"]
    open_calendar(page, live_server_url, day)
    block(page, "Ali Raza").drag_to(free(page, "Dr Bilal Ahmed", "12:00"))
    expect(col(page, "Dr Bilal Ahmed").locator(".cal-appt", has_text="Ali Raza")).to_contain_text("12:00–12:30")
    expect(page.locator("#toast")).to_contain_text("Moved Ali Raza's appointment with Dr Bilal Ahmed")
    ali = Appointment.objects.get(pk=clinic["ali"].pk)
    assert (ali.provider_id, ali.start, ali.status) == (clinic["ahmed"].pk, local_dt(day, 12), Status.RESCHEDULED)

    # Onto Sara's time: refused with the service's reason, and Ali stays where he was.
    block(page, "Ali Raza").drag_to(block(page, "Sara Malik"))
    expect(page.locator("#toast.error")).to_contain_text("Dr Ayesha Khan is already booked at 11:00")
    expect(col(page, "Dr Bilal Ahmed").locator(".cal-appt", has_text="Ali Raza")).to_contain_text("12:00–12:30")
    ali.refresh_from_db()
    assert (ali.provider_id, ali.start) == (clinic["ahmed"].pk, local_dt(day, 12))


def test_move_by_keyboard_then_undo(logged_in_page, live_server_url, clinic):
    page, day = logged_in_page, clinic["monday"]
    open_calendar(page, live_server_url, day, provider=clinic["khan"].pk)
    block(page, "Ali Raza").get_by_role("button", name=re.compile("^Move")).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#calendar-status")).to_contain_text("Moving Ali Raza at 10:00: choose a free time")
    page.keyboard.press("Escape")
    expect(page.locator("#calendar-status")).to_have_text("Move cancelled.")

    block(page, "Ali Raza").get_by_role("button", name=re.compile("^Move")).click()
    free(page, "Dr Ayesha Khan", "15:00").focus()
    page.keyboard.press("Enter")
    expect(block(page, "Ali Raza")).to_contain_text("15:00–15:30")
    expect(page.locator("dialog.modal")).to_have_count(0)  # the free time moved him; it did not open a booking
    assert Appointment.objects.get(pk=clinic["ali"].pk).start == local_dt(day, 15)

    page.locator("#toast").get_by_role("button", name="Undo").click()
    expect(block(page, "Ali Raza")).to_contain_text("10:00–10:30")
    assert Appointment.objects.get(pk=clinic["ali"].pk).start == local_dt(day, 10)


def test_a_phone_booking_from_another_process_appears_on_the_open_calendar(logged_in_page, live_server_url, clinic):
    page, day = logged_in_page, clinic["monday"]
    open_calendar(page, live_server_url, day)
    expect(col(page, "Dr Bilal Ahmed").locator(".cal-appt")).to_have_count(0)
    patient = PatientFactory(full_name="Phone Caller")
    script = (
        "from scheduling import services; from scheduling.models import Appointment, Provider; "
        "from patients.models import Patient; from tests.when import local_dt; import datetime; "
        f"services.appointment_book(patient=Patient.objects.get(pk={patient.pk}), "
        f"provider=Provider.objects.get(pk={clinic['ahmed'].pk}), "
        f"start=local_dt(datetime.date.fromisoformat('{day.isoformat()}'), 9, 30), source=Appointment.Source.PHONE)"
    )
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "DATABASE_URL": _database_url_of(connection)})
    assert done.returncode == 0, done.stderr
    expect(col(page, "Dr Bilal Ahmed").locator(".cal-appt", has_text="Phone Caller")).to_contain_text("09:30–10:00")
    expect(free(page, "Dr Bilal Ahmed", "09:30")).to_have_count(0)


@pytest.fixture
def today_clinic():
    today = timezone.localdate()
    now = timezone.localtime()
    start = now.replace(second=0, microsecond=0) + timedelta(minutes=30)
    if start.date() != today:  # late at night: keep the visit today
        start = now.replace(hour=23, minute=59, second=0, microsecond=0)
    khan = ProviderFactory(name="Dr Ayesha Khan", hours={today.weekday(): [(local_dt(today, 0).time(), local_dt(today, 23, 59).time())]})
    ali = AppointmentFactory(provider=khan, patient=PatientFactory(full_name="Ali Raza"), start=start,
                             end=start + timedelta(minutes=30))
    return {"khan": khan, "ali": ali}


def test_check_in_from_the_overview_moves_the_patient_to_the_waiting_room(logged_in_page, live_server_url, today_clinic):
    page = logged_in_page
    page.goto(live_server_url + "/")
    expect(page.locator("#waiting-empty")).to_be_visible()
    row = page.locator("#provider-schedules li", has_text="Ali Raza")
    row.get_by_role("button", name=re.compile("^Arrived")).click()
    expect(page.locator("#waiting-list")).to_contain_text("Ali Raza")
    expect(page.locator("#waiting-list")).to_contain_text("waiting 0 min")
    expect(page.locator("#stat-arrived")).to_have_text("1")
    expect(page.locator("#toast")).to_contain_text("Ali Raza has arrived")
    ali = Appointment.objects.get()
    assert ali.status == Status.ARRIVED and ali.arrived_at

    # Undo from the toast: back to booked, out of the waiting room.
    page.locator("#toast").get_by_role("button", name="Undo").click()
    expect(page.locator("#waiting-empty")).to_be_visible()
    ali.refresh_from_db()
    assert (ali.status, ali.arrived_at) == (Status.BOOKED, None)

    # Checked in again, then seen: a following action from the waiting room.
    row.get_by_role("button", name=re.compile("^Arrived")).click()
    page.locator("#waiting-list").get_by_role("button", name=re.compile("^Completed")).click()
    expect(page.locator("#waiting-empty")).to_be_visible()
    assert Appointment.objects.get().status == Status.COMPLETED


@pytest.fixture
def full_clinic(today_clinic, monday):
    khan = today_clinic["khan"]
    for i in range(6):
        ProviderFactory(name=f"Dr Provider With A Rather Long Name {i}")
    long_name = "Muhammad Abdullah Rehman Siddiqui-Chaudhry"
    patient = PatientFactory(full_name=long_name, notes="Prefers mornings " * 20)
    for i in range(8):
        AppointmentFactory(provider=khan, patient=patient, start=local_dt(monday, 9) + timedelta(minutes=30 * i),
                           reason="Follow-up after the procedure, bring the previous reports please")
    call = CallFactory(caller_name=long_name, patient=patient, transcript=[{"role": "user", "text": "word " * 300}])
    return {"patient": patient, "call": call, "monday": monday}


@pytest.mark.parametrize("width", [390, 768])
def test_no_page_is_wider_than_the_window_on_phones_and_tablets(logged_in_page, live_server_url, full_clinic, width):
    page = logged_in_page
    page.set_viewport_size({"width": width, "height": 844})
    missing = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    monday, patient = full_clinic["monday"].isoformat(), full_clinic["patient"].pk
    pages = ["/", f"/appointments/calendar/?date={monday}", f"/appointments/calendar/?view=week&date={monday}",
             f"/appointments/?date_from={monday}&date_to={monday}", "/patients/", f"/patients/{patient}/",
             "/calls/live/", "/calls/", f"/calls/{full_clinic['call'].pk}/", f"/appointments/day-list/?date={monday}"]
    for path in pages:
        page.goto(live_server_url + path)
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} at {width} px pans {overflow} px sideways"
    # Dialogs fit too.
    page.goto(f"{live_server_url}/appointments/?date_from={monday}&date_to={monday}")
    page.get_by_role("button", name="+ New appointment").click()
    dialog = page.locator("dialog.modal")
    expect(dialog).to_be_visible()
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert missing == [], missing  # the favicon included
    if width == 390:
        # The calendar shows one provider's column at a time, scrolling inside its own box.
        page.goto(f"{live_server_url}/appointments/calendar/?date={monday}")
        scroller = page.locator(".calendar-scroll").bounding_box()
        first = page.locator(".cal-col:not(.cal-times)").first.bounding_box()
        gutter = page.locator(".cal-times").bounding_box()
        assert abs(first["width"] - (scroller["width"] - gutter["width"])) < 4


def test_print_shows_the_content_without_navigation_filters_or_buttons(logged_in_page, live_server_url, full_clinic):
    page = logged_in_page
    monday = full_clinic["monday"].isoformat()
    page.goto(f"{live_server_url}/appointments/day-list/?date={monday}")
    expect(page.locator(".topbar")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.locator("form.filters")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(page.locator(".day-list")).to_contain_text("Muhammad Abdullah Rehman Siddiqui-Chaudhry")
    page.goto(f"{live_server_url}/appointments/calendar/?date={monday}")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.locator("#calendar-filters")).to_be_hidden()
    expect(page.locator(".cal-appt").first).to_be_visible()
    page.goto(f"{live_server_url}/appointments/?date_from={monday}&date_to={monday}")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.locator("#appointment-filters")).to_be_hidden()
    expect(page.locator("#appointments")).to_be_visible()
