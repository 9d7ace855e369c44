"""Appointment pages: what a receptionist sees and what ends up in the database."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from patients.models import Patient
from scheduling.models import Appointment
from tests.factories import AppointmentFactory, ClosureFactory, PatientFactory, ProviderFactory, UserFactory
from tests.when import local_dt

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
TABLE = {**HTMX, "HTTP_HX_TARGET": "appointment-table"}


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory())
    return client


@pytest.fixture
def khan():
    return ProviderFactory(name="Dr Ayesha Khan")


@pytest.fixture
def ali():
    return PatientFactory(full_name="Ali Raza", phone="+923001234567")


def book(**kw):
    provider = kw["provider"]
    kw.setdefault("end", kw["start"] + timedelta(minutes=provider.appointment_minutes))
    return AppointmentFactory(**kw)


def rows(response) -> str:
    """The table body only, so that filter labels and menus do not count as hits."""
    html = response.content.decode()
    return html[html.index("<tbody>"):html.index("</tbody>")]


def booking_form(*, provider, start, patient=None, **extra) -> dict:
    local = timezone.localtime(start)
    data = {"provider": provider.pk, "date": local.date().isoformat(), "time": local.strftime("%H:%M"), "reason": ""}
    if patient:
        data["patient"] = patient.pk
    return {**data, **extra}


def changed_event(response) -> dict:
    return json.loads(response.headers["HX-Trigger"])["clinic:changed"]


# --- access -----------------------------------------------------------------------

def _all_urls():
    return [
        ("get", reverse("appointment_list")),
        ("get", reverse("appointment_new")),
        ("post", reverse("appointment_new")),
        ("get", reverse("appointment_slots")),
        ("get", reverse("patient_picker")),
        ("get", reverse("appointment_edit", args=[1])),
        ("post", reverse("appointment_edit", args=[1])),
        ("post", reverse("appointment_status", args=[1])),
        ("post", reverse("appointment_move", args=[1])),
        ("get", reverse("appointment_export")),
        ("get", reverse("calendar")),
        ("get", reverse("day_list")),
        ("get", reverse("appointment_next_free")),
        ("get", reverse("appointment_delete", args=[1])),
        ("post", reverse("appointment_delete", args=[1])),
    ]


@pytest.mark.parametrize("method,url", _all_urls())
def test_anonymous_is_sent_to_the_login_page(client, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse(settings.LOGIN_URL) + "?next=")


@pytest.mark.parametrize("method,url", _all_urls())
def test_signed_in_without_the_receptionist_role_is_refused(client, method, url, khan, ali):
    AppointmentFactory(pk=1, provider=khan, patient=ali)
    client.force_login(UserFactory(receptionist=False))
    response = getattr(client, method)(url)
    assert response.status_code == 403
    assert Appointment.objects.get(pk=1).status == Appointment.Status.BOOKED


# --- the list -----------------------------------------------------------------------

def test_list_shows_the_next_seven_days_by_default(staff_client, khan, ali):
    today = timezone.localdate()
    book(provider=khan, patient=ali, start=local_dt(today + timedelta(days=6), 23, 0), reason="Within the week")
    book(provider=khan, patient=ali, start=local_dt(today + timedelta(days=7), 9, 0), reason="Next week")
    book(provider=khan, patient=ali, start=local_dt(today - timedelta(days=1), 9, 0), reason="Yesterday")
    response = staff_client.get(reverse("appointment_list"))
    assert response.status_code == 200
    body = rows(response)
    assert "Within the week" in body
    assert "Next week" not in body and "Yesterday" not in body
    # Local clinic time, the patient's phone as staff read it.
    assert "23:00" in body
    assert "0300 1234567" in body


def test_list_filters_by_date_range(staff_client, khan, ali, monday):
    book(provider=khan, patient=ali, start=local_dt(monday, 10), reason="Monday visit")
    book(provider=khan, patient=ali, start=local_dt(monday + timedelta(days=1), 10), reason="Tuesday visit")
    response = staff_client.get(reverse("appointment_list"), {"date_from": monday + timedelta(days=1), "date_to": monday + timedelta(days=1)})
    assert "Tuesday visit" in rows(response) and "Monday visit" not in rows(response)


def test_list_filters_by_provider_status_and_patient(staff_client, khan, ali, monday):
    other = ProviderFactory(name="Dr Bilal Ahmed")
    sara = PatientFactory(full_name="Sara Malik", phone="+923217654321")
    book(provider=khan, patient=ali, start=local_dt(monday, 9), reason="khan-ali")
    book(provider=other, patient=sara, start=local_dt(monday, 9), reason="ahmed-sara", status=Appointment.Status.CANCELLED)
    week = {"date_from": monday, "date_to": monday + timedelta(days=6)}

    response = staff_client.get(reverse("appointment_list"), {**week, "provider": other.pk})
    by_provider = rows(response)
    assert "ahmed-sara" in by_provider and "khan-ali" not in by_provider
    # The filter still offers everyone, with the chosen provider selected.
    select = response.content.decode().split('id="filter_provider"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<option value="(\d*)"( selected)?>([^<]+)</option>', select) == [
        ("", "", "All providers"), (str(khan.pk), "", khan.name), (str(other.pk), " selected", "Dr Bilal Ahmed")]

    by_status = rows(staff_client.get(reverse("appointment_list"), {**week, "status": "cancelled"}))
    assert "ahmed-sara" in by_status and "khan-ali" not in by_status

    by_name = rows(staff_client.get(reverse("appointment_list"), {**week, "q": "raz"}))
    assert "khan-ali" in by_name and "ahmed-sara" not in by_name

    by_phone = rows(staff_client.get(reverse("appointment_list"), {**week, "q": "0321 765"}))
    assert "ahmed-sara" in by_phone and "khan-ali" not in by_phone


def test_bad_filter_values_are_explained_and_the_table_still_shows(staff_client, khan, ali):
    book(provider=khan, patient=ali, start=local_dt(timezone.localdate() + timedelta(days=1), 10), reason="Tomorrow")
    response = staff_client.get(reverse("appointment_list"), {"date_from": "31/02/2025", "sort": "patient__phone", "provider": "999"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Enter the date as YYYY-MM-DD" in html
    assert "That provider does not exist" in html
    assert "Tomorrow" in rows(response)


def test_list_sorts_by_whitelisted_columns(staff_client, khan, monday):
    zed = PatientFactory(full_name="Zara Zaidi")
    amir = PatientFactory(full_name="Amir Ali")
    book(provider=khan, patient=zed, start=local_dt(monday, 9))
    book(provider=khan, patient=amir, start=local_dt(monday, 10))
    week = {"date_from": monday, "date_to": monday}

    by_start = rows(staff_client.get(reverse("appointment_list"), week))
    assert by_start.index("Zara Zaidi") < by_start.index("Amir Ali")

    response = staff_client.get(reverse("appointment_list"), {**week, "sort": "patient"})
    by_patient = rows(response)
    assert by_patient.index("Amir Ali") < by_patient.index("Zara Zaidi")
    assert 'aria-sort="ascending"' in response.content.decode()

    response = staff_client.get(reverse("appointment_list"), {**week, "sort": "-patient"})
    assert rows(response).index("Zara Zaidi") < rows(response).index("Amir Ali")
    assert 'aria-sort="descending"' in response.content.decode()


def test_list_paginates_25_a_page_and_page_links_keep_the_filters(staff_client, khan, monday):
    for i in range(30):
        book(provider=khan, patient=PatientFactory(full_name=f"Patient {i:02d}"),
             start=local_dt(monday, 9) + timedelta(minutes=30 * i), status=Appointment.Status.PENDING)
    params = {"date_from": monday.isoformat(), "date_to": (monday + timedelta(days=2)).isoformat(), "status": "pending"}
    first = staff_client.get(reverse("appointment_list"), params)
    assert rows(first).count("<tr") == 25
    html = first.content.decode()
    assert "30 appointments" in html
    assert f"status=pending" in html and "page=2" in html
    second = staff_client.get(reverse("appointment_list"), {**params, "page": 2})
    assert rows(second).count("<tr") == 5
    assert "Patient 29" in rows(second)


def test_htmx_filter_request_gets_only_the_table(staff_client, khan, ali, monday):
    book(provider=khan, patient=ali, start=local_dt(monday, 9), reason="Check-up")
    response = staff_client.get(reverse("appointment_list"), {"date_from": monday, "date_to": monday}, **TABLE)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="appointment-table"')
    assert "<html" not in html and "Check-up" in html
    # The refresh on clinic:changed asks again with the same filters.
    assert f'hx-get="/appointments/?date_from={monday}' in html


def test_list_query_count_does_not_grow_with_rows(staff_client, khan, monday):
    other = ProviderFactory()

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = staff_client.get(reverse("appointment_list"), {"date_from": monday, "date_to": monday + timedelta(days=6), "q": "a"})
        assert response.status_code == 200
        return len(ctx.captured_queries)

    for i in range(3):
        book(provider=khan, patient=PatientFactory(full_name=f"Ana {i}"), start=local_dt(monday, 9) + timedelta(minutes=30 * i))
    count_queries()  # the first request of a session also creates the clinic profile
    few = count_queries()
    for i in range(27):
        book(provider=other if i % 2 else khan, patient=PatientFactory(full_name=f"Ana more {i}"),
             start=local_dt(monday + timedelta(days=1), 9) + timedelta(minutes=30 * i))
    many = count_queries()
    assert few == many
    # The user, the role check (by the view and again by the page's context
    # processor), the clinic profile, the navigation's open call-backs, providers
    # for the filter, the count and one page of rows with their patients and
    # providers joined.
    assert many == 8


# --- booking ----------------------------------------------------------------------------

def test_new_appointment_form_is_a_modal_with_the_active_providers(staff_client, khan):
    ProviderFactory(name="Dr Retired", is_active=False)
    response = staff_client.get(reverse("appointment_new"), **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith("<dialog") or '<dialog class="modal"' in html.split("\n", 2)[1]
    assert "Dr Ayesha Khan" in html and "Dr Retired" not in html


def test_booking_from_the_patient_page_starts_with_that_patient_picked(staff_client, khan, ali):
    PatientFactory(full_name="Ali Khan")
    html = staff_client.get(reverse("appointment_new"), {"patient": ali.pk}, **HTMX).content.decode()
    picked = re.search(r'<input type="radio" name="patient" value="(\d+)"[^>]*checked', html)
    assert picked and int(picked.group(1)) == ali.pk
    assert "Ali Khan" not in html


def test_booking_through_the_form(staff_client, khan, ali, monday):
    start = local_dt(monday, 10)
    response = staff_client.post(reverse("appointment_new"), booking_form(provider=khan, start=start, patient=ali, reason="Fever"), **HTMX)
    assert response.status_code == 204
    assert "Ali Raza" in changed_event(response)["message"]
    appointment = Appointment.objects.get()
    assert (appointment.patient, appointment.provider, appointment.start) == (ali, khan, start)
    assert appointment.source == Appointment.Source.DASHBOARD
    assert appointment.reason == "Fever"


def test_booking_a_taken_slot_shows_the_error_and_saves_nothing(staff_client, khan, ali, monday):
    start = local_dt(monday, 10)
    book(provider=khan, patient=PatientFactory(), start=start)
    response = staff_client.post(reverse("appointment_new"), booking_form(provider=khan, start=start, patient=ali), **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert "Dr Ayesha Khan is already booked at 10:00" in html
    assert 'role="alert"' in html
    # The form comes back as it was typed: the patient still chosen.
    assert re.search(rf'value="{ali.pk}"[^>]*checked', html)
    assert Appointment.objects.count() == 1


def test_booking_on_a_closed_day_or_in_the_past_is_refused(staff_client, khan, ali, monday):
    ClosureFactory(start_date=monday, end_date=monday, reason="Eid holiday")
    response = staff_client.post(reverse("appointment_new"), booking_form(provider=khan, start=local_dt(monday, 10), patient=ali), **HTMX)
    assert response.status_code == 422
    assert "The clinic is closed on" in response.content.decode() and "Eid holiday" in response.content.decode()

    past = local_dt(timezone.localdate() - timedelta(days=3), 10)
    response = staff_client.post(reverse("appointment_new"), booking_form(provider=khan, start=past, patient=ali), **HTMX)
    assert response.status_code == 422
    assert "has already passed" in response.content.decode()
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("change,field_error", [
    ({"patient": ""}, "Pick a patient from the search, or enter a new patient"),
    ({"patient": "999999"}, "That patient no longer exists"),
    ({"provider": "999999"}, "Choose one of the listed providers"),
    ({"date": "tomorrow"}, "Enter the date as YYYY-MM-DD"),
    ({"time": "25:99"}, "Enter the time as HH:MM"),
    ({"time": ""}, "Choose one of the free times"),
])
def test_bad_input_is_explained_and_nothing_is_saved(staff_client, khan, ali, monday, change, field_error):
    data = {**booking_form(provider=khan, start=local_dt(monday, 10), patient=ali), **change}
    response = staff_client.post(reverse("appointment_new"), data, **HTMX)
    assert response.status_code == 422
    assert field_error in response.content.decode()
    assert not Appointment.objects.exists()


def test_an_inactive_provider_cannot_be_booked_from_the_form(staff_client, ali, monday):
    retired = ProviderFactory(is_active=False)
    response = staff_client.post(reverse("appointment_new"), booking_form(provider=retired, start=local_dt(monday, 10), patient=ali), **HTMX)
    assert response.status_code == 422
    assert "Choose one of the listed providers" in response.content.decode()


def test_new_patient_inline_creates_exactly_one_patient(staff_client, khan, monday):
    data = booking_form(provider=khan, start=local_dt(monday, 11), new_name="Hina Qureshi", new_phone="0333 7654321",
                        new_date_of_birth="1990-04-02")
    response = staff_client.post(reverse("appointment_new"), data, **HTMX)
    assert response.status_code == 204
    patient = Patient.objects.get()
    assert (patient.full_name, patient.phone, str(patient.date_of_birth)) == ("Hina Qureshi", "+923337654321", "1990-04-02")
    assert Appointment.objects.get().patient == patient


def test_new_patient_is_not_created_when_the_booking_is_refused(staff_client, khan, monday):
    start = local_dt(monday, 11)
    book(provider=khan, patient=PatientFactory(full_name="Someone Else"), start=start)
    data = booking_form(provider=khan, start=start, new_name="Hina Qureshi", new_phone="0333 7654321")
    response = staff_client.post(reverse("appointment_new"), data, **HTMX)
    assert response.status_code == 422
    assert not Patient.objects.filter(full_name="Hina Qureshi").exists()


def test_new_patient_with_a_bad_phone_is_explained(staff_client, khan, monday):
    data = booking_form(provider=khan, start=local_dt(monday, 11), new_name="Hina Qureshi", new_phone="12")
    response = staff_client.post(reverse("appointment_new"), data, **HTMX)
    assert response.status_code == 422
    assert "is not a phone number we can dial" in response.content.decode()
    assert not Patient.objects.exists() and not Appointment.objects.exists()


def test_picking_a_patient_and_typing_a_new_one_is_refused(staff_client, khan, ali, monday):
    data = booking_form(provider=khan, start=local_dt(monday, 11), patient=ali, new_name="Hina Qureshi", new_phone="03337654321")
    response = staff_client.post(reverse("appointment_new"), data, **HTMX)
    assert response.status_code == 422
    assert "not both" in response.content.decode()
    assert Patient.objects.count() == 1 and not Appointment.objects.exists()


def test_booking_without_javascript_redirects_to_the_list_with_a_message(staff_client, khan, ali, monday):
    response = staff_client.post(reverse("appointment_new"), booking_form(provider=khan, start=local_dt(monday, 10), patient=ali), follow=True)
    assert response.redirect_chain[-1][0] == reverse("appointment_list")
    assert "Booked Ali Raza&#x27;s appointment with Dr Ayesha Khan" in response.content.decode()


# --- picker and slots ---------------------------------------------------------------

def test_picker_finds_a_patient_who_is_not_among_the_most_recent(staff_client):
    old = PatientFactory(full_name="Mariam Old-Timer", phone="+923451112223")
    PatientFactory.create_batch(60)
    for query in ("old-tim", "111 2223"):
        response = staff_client.get(reverse("patient_picker"), {"patient_query": query}, **HTMX)
        html = response.content.decode()
        assert "Mariam Old-Timer" in html
        assert f'value="{old.pk}"' in html


def test_picker_lists_at_most_ten(staff_client):
    PatientFactory.create_batch(15, full_name="Same Name")
    html = staff_client.get(reverse("patient_picker"), {"patient_query": "same"}).content.decode()
    assert html.count('type="radio"') == 10
    assert "type more" in html


def test_picker_says_when_nobody_matches(staff_client):
    html = staff_client.get(reverse("patient_picker"), {"patient_query": "nobody-by-this-name"}).content.decode()
    assert "No patient matches" in html


def test_slots_list_free_times_and_leave_out_a_booked_one(staff_client, khan, ali, monday):
    book(provider=khan, patient=ali, start=local_dt(monday, 10))
    html = staff_client.get(reverse("appointment_slots"), {"provider": khan.pk, "date": monday}).content.decode()
    assert 'value="09:30"' in html and 'value="10:30"' in html
    assert 'value="10:00"' not in html
    assert 'value="13:00"' not in html  # lunch


def test_slots_include_the_appointment_being_edited(staff_client, khan, ali, monday):
    appointment = book(provider=khan, patient=ali, start=local_dt(monday, 10))
    html = staff_client.get(reverse("appointment_slots"), {"provider": khan.pk, "date": monday, "appointment": appointment.pk}).content.decode()
    assert 'value="10:00"' in html


def test_slots_say_why_a_day_has_none(staff_client, khan, monday):
    sunday = monday - timedelta(days=1)
    html = staff_client.get(reverse("appointment_slots"), {"provider": khan.pk, "date": sunday}).content.decode()
    assert "Dr Ayesha Khan is not in on Sundays" in html
    assert "The nearest free times are" in html
    ClosureFactory(start_date=monday, end_date=monday, reason="Eid holiday")
    html = staff_client.get(reverse("appointment_slots"), {"provider": khan.pk, "date": monday}).content.decode()
    assert "The clinic is closed on" in html and "Eid holiday" in html
    html = staff_client.get(reverse("appointment_slots"), {"provider": khan.pk, "date": "someday"}).content.decode()
    assert "Enter the date as YYYY-MM-DD" in html
    html = staff_client.get(reverse("appointment_slots"), {"provider": "", "date": monday}).content.decode()
    assert "Choose a provider and a date" in html


# --- edit, cancel, delete ------------------------------------------------------------------

def test_edit_moves_the_appointment(staff_client, khan, ali, monday):
    appointment = book(provider=khan, patient=ali, start=local_dt(monday, 10), reason="Fever")
    form = staff_client.get(reverse("appointment_edit", args=[appointment.pk]), **HTMX).content.decode()
    assert 'value="10:00" selected' in form and "Fever" in form
    data = booking_form(provider=khan, start=local_dt(monday, 11, 30), status="booked", reason="Fever, cough")
    response = staff_client.post(reverse("appointment_edit", args=[appointment.pk]), data, **HTMX)
    assert response.status_code == 204
    appointment.refresh_from_db()
    assert appointment.start == local_dt(monday, 11, 30)
    assert appointment.status == Appointment.Status.RESCHEDULED
    assert appointment.reason == "Fever, cough"


def test_edit_into_a_taken_slot_changes_nothing(staff_client, khan, ali, monday):
    appointment = book(provider=khan, patient=ali, start=local_dt(monday, 10), reason="Fever")
    book(provider=khan, patient=PatientFactory(), start=local_dt(monday, 11))
    data = booking_form(provider=khan, start=local_dt(monday, 11), status="booked", reason="Changed")
    response = staff_client.post(reverse("appointment_edit", args=[appointment.pk]), data, **HTMX)
    assert response.status_code == 422
    assert "already booked at 11:00" in response.content.decode()
    appointment.refresh_from_db()
    assert (appointment.start, appointment.reason) == (local_dt(monday, 10), "Fever")


def test_cancel_is_one_click_and_cancelling_twice_says_so(staff_client, khan, ali, monday):
    appointment = book(provider=khan, patient=ali, start=local_dt(monday, 10))
    response = staff_client.post(reverse("appointment_status", args=[appointment.pk]), {"status": "cancelled"}, **HTMX)
    assert response.status_code == 204
    assert changed_event(response)["message"] == (
        f"Cancelled Ali Raza's appointment with Dr Ayesha Khan on {monday:%A} {monday.day} {monday:%B} at 10:00.")
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    response = staff_client.post(reverse("appointment_status", args=[appointment.pk]), {"status": "cancelled"}, **HTMX)
    assert response.status_code == 422
    assert "already cancelled" in json.loads(response.headers["HX-Trigger"])["clinic:refused"]["message"]


def test_delete_asks_first_then_removes_it(staff_client, khan, ali, monday):
    appointment = book(provider=khan, patient=ali, start=local_dt(monday, 10))
    question = staff_client.get(reverse("appointment_delete", args=[appointment.pk]), **HTMX).content.decode()
    assert "Delete Ali Raza&#x27;s appointment with Dr Ayesha Khan" in question
    assert Appointment.objects.exists()
    response = staff_client.post(reverse("appointment_delete", args=[appointment.pk]), **HTMX)
    assert response.status_code == 204
    assert not Appointment.objects.exists()


def test_changes_need_the_csrf_token(khan, ali, monday):
    from django.test import Client

    appointment = book(provider=khan, patient=ali, start=local_dt(monday, 10))
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    assert client.post(reverse("appointment_delete", args=[appointment.pk])).status_code == 403
    assert client.post(reverse("appointment_status", args=[appointment.pk]), {"status": "cancelled"}).status_code == 403
    assert client.post(reverse("appointment_move", args=[appointment.pk]),
                       {"provider": khan.pk, "date": monday, "time": "11:00"}).status_code == 403
    assert client.post(reverse("appointment_new"), booking_form(provider=khan, start=local_dt(monday, 11), patient=ali)).status_code == 403
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED and Appointment.objects.count() == 1


def test_unknown_appointment_is_404(staff_client):
    assert staff_client.get(reverse("appointment_edit", args=[424242]), **HTMX).status_code == 404


def test_without_javascript_the_forms_are_pages_of_their_own(staff_client, khan, ali, monday):
    appointment = book(provider=khan, patient=ali, start=local_dt(monday, 10))
    for url in (reverse("appointment_new"), reverse("appointment_edit", args=[appointment.pk]),
                reverse("appointment_delete", args=[appointment.pk])):
        html = staff_client.get(url).content.decode()
        assert "<html" in html and "</dialog>" in html
        assert re.search(r'<dialog class="modal"[^>]* open>', html)
    response = staff_client.post(reverse("appointment_status", args=[appointment.pk]), {"status": "cancelled"})
    assert response.status_code == 302 and response.url == reverse("appointment_list")


def test_sorting_through_htmx_updates_the_filter_forms_sort(staff_client):
    html = staff_client.get(reverse("appointment_list"), {"sort": "-provider"}, **TABLE).content.decode()
    # The filter form lives outside the swapped table; its hidden sort field
    # is updated out of band so the next filter change keeps the order.
    assert 'id="filter-sort" value="-provider" hx-swap-oob="true"' in html


def test_new_patient_born_in_the_future_is_explained(staff_client, khan, monday):
    data = booking_form(provider=khan, start=local_dt(monday, 11), new_name="Hina Qureshi", new_phone="03337654321",
                        new_date_of_birth=(timezone.localdate() + timedelta(days=2)).isoformat())
    response = staff_client.post(reverse("appointment_new"), data, **HTMX)
    assert response.status_code == 422
    assert "The date of birth cannot be in the future" in response.content.decode()
    assert not Patient.objects.exists()


def test_typing_a_known_patient_as_new_books_the_existing_one(staff_client, khan, ali, monday):
    data = booking_form(provider=khan, start=local_dt(monday, 11), new_name="ali  raza", new_phone="+92 300 1234567")
    response = staff_client.post(reverse("appointment_new"), data, **HTMX)
    assert response.status_code == 204
    assert Patient.objects.count() == 1
    assert Appointment.objects.get().patient == ali


def test_a_new_patient_who_looks_like_one_on_the_same_phone_is_pointed_out(staff_client, khan, ali, monday):
    form = booking_form(provider=khan, start=local_dt(monday, 10), new_name="Ali Raaza", new_phone="0300 1234567")
    response = staff_client.post(reverse("appointment_new"), form, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert "Already registered under this phone number" in html
    assert f'name="use_patient" value="{ali.pk}"' in html and 'name="new_is_different"' in html
    assert Patient.objects.count() == 1 and not Appointment.objects.exists()
    # "Book for Ali Raza": the existing patient, no new record.
    response = staff_client.post(reverse("appointment_new"), {**form, "use_patient": ali.pk}, **HTMX)
    assert response.status_code == 204
    assert Appointment.objects.get().patient == ali and Patient.objects.count() == 1
    # Or a different person after all.
    form = booking_form(provider=khan, start=local_dt(monday, 11), new_name="Ali Raaza", new_phone="0300 1234567",
                        new_is_different="on")
    assert staff_client.post(reverse("appointment_new"), form, **HTMX).status_code == 204
    assert Patient.objects.filter(full_name="Ali Raaza").count() == 1


def test_a_refused_booking_offers_its_nearest_free_times_as_buttons(staff_client, khan, ali, monday):
    book(provider=khan, patient=PatientFactory(), start=local_dt(monday, 10))
    response = staff_client.post(reverse("appointment_new"), booking_form(provider=khan, start=local_dt(monday, 10),
                                                                          patient=ali), **HTMX)
    html = response.content.decode()
    assert response.status_code == 422 and "already booked at 10:00" in html
    picks = re.findall(r'data-pick data-provider="(\d+)" data-date="([\d-]+)" data-time="(\d\d:\d\d)"', html)
    assert (str(khan.pk), monday.isoformat(), "09:30") in picks and (str(khan.pk), monday.isoformat(), "10:30") in picks


def test_next_free_time_with_anyone(staff_client, khan, monday):
    other = ProviderFactory(name="Dr Early", hours={monday.weekday(): [(local_dt(monday, 8).time(), local_dt(monday, 9).time())]})
    html = staff_client.get(reverse("appointment_next_free"), {"date": monday.isoformat()}, **HTMX).content.decode()
    picks = re.findall(r'data-provider="(\d+)" data-date="([\d-]+)" data-time="(\d\d:\d\d)"', html)
    assert picks[0] == (str(other.pk), monday.isoformat(), "08:00")
    assert "Dr Early" in html
    assert staff_client.get(reverse("appointment_next_free"), {"date": "9999-99-99"}).status_code == 200


def test_a_free_time_on_the_calendar_opens_the_dialog_with_everything_chosen(staff_client, khan, monday):
    html = staff_client.get(reverse("appointment_new"), {"provider": khan.pk, "date": monday.isoformat(),
                                                         "time": "11:30"}, **HTMX).content.decode()
    assert f'<option value="{khan.pk}" selected>' in html
    assert f'value="{monday.isoformat()}"' in html
    assert '<option value="11:30" selected>' in html
