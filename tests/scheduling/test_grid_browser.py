"""The slot grid in a real Chromium: the dialog's "Other time" and a drag onto the grid."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from playwright.sync_api import expect

from scheduling.models import Appointment
from tests.factories import AppointmentFactory, PatientFactory, ProviderFactory
from tests.scheduling.test_calendar_browser import block, col, free, open_calendar
from tests.when import local_dt

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
OFF_GRID = "10:07 is not on Dr Ayesha Khan's 20-minute grid; the nearest times are 10:00 and 10:20."


@pytest.fixture
def khan():
    """20-minute slots; mornings 09:00-12:00, afternoons from 13:30."""
    return ProviderFactory(name="Dr Ayesha Khan", appointment_minutes=20,
                           hours={wd: [(time(9), time(12)), (time(13, 30), time(17))] for wd in range(5)})


def test_the_dialogs_other_time_books_off_the_grid_only_when_ticked(logged_in_page, live_server_url, khan, monday):
    PatientFactory(full_name="Sara Malik")
    page = logged_in_page
    open_calendar(page, live_server_url, monday)
    free(page, "Dr Ayesha Khan", "10:00").click()
    dialog = page.locator("dialog.modal")
    dialog.get_by_label("Search patients").fill("Sara")
    dialog.get_by_role("radio", name=re.compile("Sara Malik")).check()
    other = dialog.get_by_label("Other time, off the 20-minute grid")
    expect(other).not_to_be_checked()

    # Typed without the tick: refused, naming the grid's nearest times; nothing booked.
    dialog.get_by_label("Other time", exact=True).fill("10:07")
    dialog.get_by_role("button", name="Book appointment").click()
    expect(dialog.locator("#booking-error")).to_contain_text(OFF_GRID)
    expect(dialog.locator("#booking-error")).to_contain_text("tick “Other time”")
    assert not Appointment.objects.exists()

    dialog.get_by_label("Other time, off the 20-minute grid").check()
    expect(dialog.get_by_label("Other time", exact=True)).to_have_value("10:07")
    dialog.get_by_role("button", name="Book appointment").click()
    expect(page.locator("dialog.modal")).to_have_count(0)
    expect(block(page, "Sara Malik")).to_contain_text("10:07–10:27")
    assert Appointment.objects.get().start == local_dt(monday, 10, 7)
    # The grid around it: 10:00 and 10:20 overlap it and are no longer offered, 10:40 is.
    expect(free(page, "Dr Ayesha Khan", "10:00")).to_have_count(0)
    expect(free(page, "Dr Ayesha Khan", "10:20")).to_have_count(0)
    expect(free(page, "Dr Ayesha Khan", "10:40")).to_be_visible()


def test_a_legacy_off_grid_appointment_drags_onto_the_grid_and_a_drop_off_it_is_refused(
        logged_in_page, live_server_url, khan, monday):
    def seeded(name, hh, mm):
        start = local_dt(monday, hh, mm)
        return AppointmentFactory(provider=khan, start=start, end=start + timedelta(minutes=20),
                                  patient=PatientFactory(full_name=name))

    ali, sara = seeded("Ali Raza", 10, 7), seeded("Sara Malik", 11, 5)
    page = logged_in_page
    open_calendar(page, live_server_url, monday)
    expect(block(page, "Ali Raza")).to_contain_text("10:07–10:27")

    # Onto a free time: it lands on the grid.
    block(page, "Ali Raza").drag_to(free(page, "Dr Ayesha Khan", "10:40"))
    expect(col(page, "Dr Ayesha Khan").locator(".cal-appt", has_text="Ali Raza")).to_contain_text("10:40–11:00")
    ali.refresh_from_db()
    assert ali.start == local_dt(monday, 10, 40)
    # Onto Sara's block, itself off the grid: the drop lands nowhere, with the grid sentence.
    block(page, "Ali Raza").drag_to(block(page, "Sara Malik"))
    expect(page.locator("#toast.error")).to_contain_text(
        "11:05 is not on Dr Ayesha Khan's 20-minute grid; the nearest times are 11:00 and 11:20.")
    expect(block(page, "Ali Raza")).to_contain_text("10:40–11:00")
    ali.refresh_from_db()
    assert ali.start == local_dt(monday, 10, 40)

    assert Appointment.objects.get(pk=sara.pk).start == local_dt(monday, 11, 5)
