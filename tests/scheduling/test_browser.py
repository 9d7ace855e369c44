"""The appointments page in a real Chromium, against a real server process."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection
from playwright.sync_api import expect

from scheduling import services
from scheduling.models import Appointment
from tests.factories import AppointmentFactory, PatientFactory, ProviderFactory
from tests.when import local_dt

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clinic(monday):
    khan = ProviderFactory(name="Dr Ayesha Khan")
    ProviderFactory(name="Dr Bilal Ahmed")
    ali = PatientFactory(full_name="Ali Raza", phone="+923001234567")
    # Plenty of others, so that Ali is found by searching, not by luck.
    PatientFactory.create_batch(40)
    return {"khan": khan, "ali": ali, "monday": monday}


def book_elsewhere(**kwargs) -> None:
    """Book as the phone agent would, from another thread: Playwright keeps an
    event loop in this one, where the after-commit event publisher
    (async_to_sync) cannot run."""
    errors = []

    def run():
        try:
            services.appointment_book(source=Appointment.Source.PHONE, **kwargs)
        except Exception as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert not errors, errors


def open_list(page, live_server_url, day):
    page.goto(f"{live_server_url}/appointments/?date_from={day}&date_to={day}")
    expect(page.get_by_role("heading", name="Appointments")).to_be_visible()


def fill_booking(page, *, search: str, patient: str, provider, day, time: str):
    dialog = page.locator("dialog.modal")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Search patients").fill(search)
    dialog.get_by_role("radio", name=re.compile(patient)).check()
    # Date first: each change reloads the free times, and a slower answer for
    # today's date must not replace the day's list after a time was chosen.
    dialog.get_by_label("Date", exact=True).fill(day.isoformat())
    expect(dialog.locator("#slot-note")).to_contain_text("Choose a provider")
    dialog.get_by_label("Provider", exact=True).select_option(str(provider.pk))
    time_select = dialog.get_by_label("Time", exact=True)
    expect(time_select.locator(f"option[value='{time}']")).to_have_count(1)
    time_select.select_option(time)
    return dialog


def test_book_through_the_modal_then_the_same_slot_again(logged_in_page, live_server_url, clinic):
    page, day = logged_in_page, clinic["monday"]
    open_list(page, live_server_url, day)
    expect(page.locator("#appointments tbody")).to_contain_text("No appointments match")

    page.get_by_role("button", name="+ New appointment").click()
    dialog = fill_booking(page, search="raza", patient="Ali Raza", provider=clinic["khan"], day=day, time="10:00")
    dialog.get_by_label("Reason for visit").fill("Fever")
    dialog.get_by_role("button", name="Book appointment").click()

    expect(page.locator("dialog.modal")).to_have_count(0)
    row = page.locator("#appointments tbody tr", has_text="Ali Raza")
    expect(row).to_contain_text("10:00")
    expect(row).to_contain_text("Dr Ayesha Khan")
    expect(row).to_contain_text("Booked")
    appointment = Appointment.objects.get()
    assert appointment.source == Appointment.Source.DASHBOARD and appointment.reason == "Fever"

    # The receptionist has the form open at 10:30 while the phone agent takes
    # that time: the table behind refreshes by itself, the form stays open,
    # and saving shows why it cannot be booked; nothing is added.
    page.get_by_role("button", name="+ New appointment").click()
    dialog = fill_booking(page, search="0300 123", patient="Ali Raza", provider=clinic["khan"], day=day, time="10:30")
    book_elsewhere(patient=PatientFactory(full_name="Phone Caller"), provider=clinic["khan"], start=local_dt(day, 10, 30))
    expect(page.locator("#appointments tbody tr", has_text="Phone Caller")).to_contain_text("Phone agent")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Book appointment").click()
    expect(page.locator("dialog.modal [role=alert]")).to_contain_text("Dr Ayesha Khan is already booked at 10:30")
    expect(page.locator("dialog.modal")).to_be_visible()
    assert Appointment.objects.count() == 2
    assert not Appointment.objects.filter(patient=clinic["ali"], start=local_dt(day, 10, 30)).exists()

    # The nearest free times under the refusal are buttons: one picks 11:00, and booking takes it.
    dialog = page.locator("dialog.modal")
    dialog.locator("#booking-error").get_by_role("button", name=re.compile(r", 11:00")).click()
    expect(dialog.get_by_label("Time", exact=True)).to_have_value("11:00")
    dialog.get_by_role("button", name="Book appointment").click()
    expect(page.locator("dialog.modal")).to_have_count(0)
    assert Appointment.objects.filter(patient=clinic["ali"], start=local_dt(day, 11)).exists()

    # "Next free time with anyone" fills provider, date and time.
    page.get_by_role("button", name="+ New appointment").click()
    dialog = page.locator("dialog.modal")
    dialog.get_by_label("Date", exact=True).fill(day.isoformat())
    dialog.get_by_role("button", name="Next free time with anyone").click()
    dialog.locator("#next-free-times").get_by_role("button").first.click()
    expect(dialog.get_by_label("Provider", exact=True)).not_to_have_value("")
    expect(dialog.get_by_label("Time", exact=True)).to_have_value("09:00")
    dialog.get_by_role("button", name="Close", exact=True).last.click()
    expect(page.locator("dialog.modal")).to_have_count(0)

    # The list of free times no longer offers the taken ones.
    page.get_by_role("button", name="+ New appointment").click()
    dialog = page.locator("dialog.modal")
    dialog.get_by_label("Provider", exact=True).select_option(str(clinic["khan"].pk))
    dialog.get_by_label("Date", exact=True).fill(day.isoformat())
    dialog.get_by_label("Date", exact=True).dispatch_event("change")
    expect(dialog.get_by_label("Time", exact=True).locator("option[value='10:30']")).to_have_count(0)
    expect(dialog.get_by_label("Time", exact=True).locator("option[value='11:00']")).to_have_count(0)
    expect(dialog.get_by_label("Time", exact=True).locator("option[value='11:30']")).to_have_count(1)


def test_edit_moves_the_appointment_in_the_table(logged_in_page, live_server_url, clinic):
    day = clinic["monday"]
    AppointmentFactory(patient=clinic["ali"], provider=clinic["khan"], start=local_dt(day, 10), end=local_dt(day, 10, 30))
    page = logged_in_page
    open_list(page, live_server_url, day)
    row = page.locator("#appointments tbody tr", has_text="Ali Raza")
    row.get_by_role("link", name=re.compile("^Edit")).click()

    dialog = page.locator("dialog.modal")
    expect(dialog.get_by_role("heading", name="Edit appointment")).to_be_visible()
    expect(dialog.get_by_label("Time", exact=True)).to_have_value("10:00")
    dialog.get_by_label("Time", exact=True).select_option("11:30")
    dialog.get_by_role("button", name="Save changes").click()

    expect(page.locator("dialog.modal")).to_have_count(0)
    expect(row).to_contain_text("11:30")
    expect(row).to_contain_text("Rescheduled")
    assert Appointment.objects.get().start == local_dt(day, 11, 30)


def test_cancel_is_one_click_and_undo_brings_it_back(logged_in_page, live_server_url, clinic):
    day = clinic["monday"]
    AppointmentFactory(patient=clinic["ali"], provider=clinic["khan"], start=local_dt(day, 10), end=local_dt(day, 10, 30))
    page = logged_in_page
    open_list(page, live_server_url, day)
    row = page.locator("#appointments tbody tr", has_text="Ali Raza")
    row.get_by_role("button", name=re.compile("^Cancel")).click()
    expect(page.locator("#toast")).to_contain_text(
        f"Cancelled Ali Raza's appointment with Dr Ayesha Khan on {day:%A} {day.day} {day:%B} at 10:00.")
    expect(row).to_contain_text("Cancelled")
    expect(row.get_by_role("button", name=re.compile("^Cancel"))).to_have_count(0)
    assert Appointment.objects.get().status == Appointment.Status.CANCELLED

    page.locator("#toast").get_by_role("button", name="Undo").click()
    expect(row).to_contain_text("Booked")
    expect(row.get_by_role("button", name=re.compile("^Cancel"))).to_have_count(1)
    assert Appointment.objects.get().status == Appointment.Status.BOOKED
