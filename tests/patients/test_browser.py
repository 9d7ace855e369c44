"""The dashboard in a real Chromium: sign in, add a patient through the modal, keyboard use of the modal."""

import re

import pytest
from playwright.sync_api import expect

from patients.models import Patient
from tests.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_through_the_login_form(page, live_server_url, receptionist):
    page.goto(live_server_url + "/patients/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/patients/"))
    page.get_by_label("Username").fill(receptionist.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")

    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(live_server_url + "/patients/")
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients")).to_have_attribute(
        "aria-current", "page"
    )


def test_add_a_patient_through_the_modal_and_see_them_in_the_list(logged_in_page, live_server_url):
    page = logged_in_page
    page.goto(live_server_url + "/patients/")
    page.get_by_role("link", name="+ Add patient").click()
    dialog = page.get_by_role("dialog", name="Add a patient")
    expect(dialog).to_be_visible()

    # A refused phone number: the message appears next to the field, nothing is saved.
    dialog.get_by_label("Full name").fill("Mahnoor Siddiqui")
    dialog.get_by_label("Phone").fill("12")
    dialog.get_by_role("button", name="Add patient").click()
    expect(dialog.get_by_text("is not a phone number we can dial")).to_be_visible()
    expect(dialog.get_by_label("Phone")).to_be_focused()
    assert not Patient.objects.exists()

    dialog = page.get_by_role("dialog", name="Add a patient")
    dialog.get_by_label("Phone").fill("0321 7654321")
    dialog.get_by_role("button", name="Add patient").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    row = page.locator("#patient-table tbody tr", has_text="Mahnoor Siddiqui")
    expect(row).to_be_visible()
    expect(row).to_contain_text("0321 7654321")
    expect(page.locator("#toast")).to_have_text("Mahnoor Siddiqui added.")
    assert Patient.objects.get().phone == "+923217654321"


def test_search_as_you_type_swaps_the_table(logged_in_page, live_server_url):
    PatientFactory(full_name="Zubair Bhatti", phone="+923217654321")
    for i in range(30):
        PatientFactory(full_name=f"Amna Test {i}")
    page = logged_in_page
    page.goto(live_server_url + "/patients/")
    expect(page.locator("#patient-table")).not_to_contain_text("Zubair Bhatti")
    page.get_by_label("Search patients by name or phone").press_sequentially("765432", delay=30)
    expect(page.locator("#patient-table tbody tr")).to_have_count(1)
    expect(page.locator("#patient-table")).to_contain_text("Zubair Bhatti")
    expect(page).to_have_url(re.compile(r"q=765432"))


def test_modal_takes_focus_and_esc_closes_it_returning_focus(logged_in_page, live_server_url):
    PatientFactory(full_name="Ali Raza")
    page = logged_in_page
    page.goto(live_server_url + "/patients/")
    opener = page.get_by_role("link", name="Edit Ali Raza")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Edit Ali Raza")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Full name")).to_be_focused()

    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(opener).to_be_focused()

    # The Cancel button does the same.
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Edit Ali Raza")
    expect(dialog.get_by_label("Full name")).to_be_focused()
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(opener).to_be_focused()


def test_patient_page_refreshes_when_an_appointment_changes_elsewhere(logged_in_page, live_server_url):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import AppointmentFactory, ProviderFactory

    patient = PatientFactory(full_name="Ali Raza")
    page = logged_in_page
    page.goto(f"{live_server_url}/patients/{patient.pk}/")
    expect(page.locator("#patient-appointments")).to_contain_text("No appointments yet.")

    # Booked by someone else (the phone agent, another desk); live.js turns
    # the server's event into clinic:changed, which is what we send here.
    AppointmentFactory(patient=patient, provider=ProviderFactory(name="Dr Omar Farooq"),
                       start=timezone.now() + timedelta(days=2))
    page.evaluate("document.body.dispatchEvent(new CustomEvent('clinic:changed'))")
    expect(page.locator("#patient-appointments")).to_contain_text("Dr Omar Farooq")
    expect(page.locator("#patient-appointments")).to_contain_text("Upcoming")
