"""Patient pages: list and search, add / edit / delete through the services, the patient page."""

import json
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.models import Patient
from scheduling.models import Appointment
from tests.factories import AppointmentFactory, CallFactory, PatientFactory, UserFactory
from voiceagent.models import Call

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(receptionist=True))
    return client


def _names(response):
    return [p.full_name for p in response.context["patients"]]


# --- list and search -----------------------------------------------------------


def test_list_is_paginated_25_per_page_and_page_links_keep_the_query(staff_client):
    for i in range(30):
        PatientFactory(full_name=f"Zara Test{i:02d}")
    PatientFactory(full_name="Other Person")
    response = staff_client.get(reverse("patient_list"), {"q": "zara"})
    assert len(_names(response)) == 25
    assert response.context["page"].paginator.count == 30
    html = response.content.decode()
    assert "q=zara&amp;page=2" in html
    page2 = staff_client.get(reverse("patient_list"), {"q": "zara", "page": 2})
    assert len(_names(page2)) == 5
    assert "Other Person" not in _names(page2)


def test_a_search_matching_very_many_patients_says_more_than_500_and_pages_in_name_order(staff_client):
    # Same names in both cases and orders: pages sort by name, then by who came first.
    Patient.objects.bulk_create(
        Patient(full_name=name, phone=f"+92300{i:07d}")
        for i, name in enumerate(["ali raza", "Sara Raza", "ALI RAZA", "Bilal Razak"] * 130)
    )
    response = staff_client.get(reverse("patient_list"), {"q": "raza"})
    html = response.content.decode()
    assert "More than 500 patients match “raza”" in html and "type more" in html
    assert "page 1 of 20" in html
    shown = []
    for page in (1, 2, 11, 12):
        shown += list(staff_client.get(reverse("patient_list"), {"q": "raza", "page": page}).context["patients"])
    expected = sorted(Patient.objects.all(), key=lambda p: (p.full_name.upper(), p.pk))
    assert [p.pk for p in shown] == [p.pk for p in expected[:50] + expected[250:300]]
    # Fewer matches are counted exactly.
    response = staff_client.get(reverse("patient_list"), {"q": "razak"})
    assert "130 patients matching “razak”" in response.content.decode()


def test_search_finds_the_oldest_of_many_patients_by_phone_digits_and_name_part(staff_client):
    oldest = PatientFactory(full_name="Zubair Mustafa Bhatti", phone="+923217654321")
    for i in range(60):
        PatientFactory(full_name=f"Recent Patient {i}")
    assert oldest.full_name not in _names(staff_client.get(reverse("patient_list")))  # not on page 1

    for query in ("7654321", "0321 765", "mustaf", "BHATTI", "zubair 4321"):
        response = staff_client.get(reverse("patient_list"), {"q": query})
        assert _names(response) == ["Zubair Mustafa Bhatti"], query
        assert "0321 7654321" in response.content.decode()  # shown formatted


def test_search_as_you_type_returns_only_the_table(staff_client):
    PatientFactory(full_name="Ali Raza")
    response = staff_client.get(reverse("patient_list"), {"q": "ali"}, headers=HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="patient-table"')
    assert "<html" not in html and "Ali Raza" in html


def test_search_with_no_match_says_so(staff_client):
    PatientFactory(full_name="Ali Raza")
    html = staff_client.get(reverse("patient_list"), {"q": "nobody"}).content.decode()
    assert "No patient matches" in html


def test_list_query_count_is_pinned_and_does_not_grow_with_rows(staff_client, django_assert_max_num_queries):
    PatientFactory.create_batch(3)
    staff_client.get(reverse("patient_list"))
    with django_assert_max_num_queries(7) as few:
        staff_client.get(reverse("patient_list"), {"q": "+92"})
    PatientFactory.create_batch(40)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = staff_client.get(reverse("patient_list"), {"q": "+92"})
    assert len(_names(response)) == 25


def _count_queries_on_patients(queries) -> int:
    return sum(1 for q in queries if "COUNT(*)" in q["sql"] and "patients_patient" in q["sql"])


def test_list_total_follows_every_add_and_delete_without_counting_on_each_load(
        staff_client, django_assert_max_num_queries):
    PatientFactory.create_batch(30)
    assert "30 patients, page 1 of 2" in staff_client.get(reverse("patient_list")).content.decode()
    # Nothing changed since: the page shows the kept total and counts nobody.
    with django_assert_max_num_queries(7) as again:
        html = staff_client.get(reverse("patient_list")).content.decode()
    assert "30 patients, page 1 of 2" in html
    assert _count_queries_on_patients(again.captured_queries) == 0

    # Names Faker's English list never makes, so the search below matches exactly one.
    staff_client.post(reverse("patient_new"), {"full_name": "Qudsia Zafarullah", "phone": "0300 1234567"},
                      headers=HTMX)
    assert "31 patients, page 1 of 2" in staff_client.get(reverse("patient_list")).content.decode()
    staff_client.post(reverse("patient_delete", args=[Patient.objects.get(full_name="Qudsia Zafarullah").pk]),
                      headers=HTMX)
    PatientFactory(full_name="Shagufta Zafarullah")  # any save, not only the form's (the phone agent, the admin)
    Patient.objects.filter(pk__in=Patient.objects.order_by("pk").values("pk")[:6]).delete()
    assert "25 patients" in staff_client.get(reverse("patient_list")).content.decode()
    # A search or a filter is counted as it is.
    assert "1 patient matching" in staff_client.get(reverse("patient_list"), {"q": "shagufta"}).content.decode()


def test_list_total_is_counted_when_redis_does_not_answer(staff_client, settings, caplog):
    PatientFactory.create_batch(3)
    staff_client.get(reverse("patient_list"))
    # A port nobody listens on: the kept total is out of reach, not the patients.
    settings.REDIS_URL = "redis://127.0.0.1:9"
    PatientFactory(full_name="Ali Raza")
    assert "4 patients" in staff_client.get(reverse("patient_list")).content.decode()
    assert "Redis unavailable" in caplog.text


# --- add ------------------------------------------------------------------------


def test_add_form_opens_as_a_modal(staff_client):
    html = staff_client.get(reverse("patient_new"), headers=HTMX).content.decode()
    assert html.lstrip().startswith('<dialog class="modal"')
    assert 'for="id_full_name"' in html and 'for="id_phone"' in html


def test_add_saves_through_the_service_and_tells_the_page(staff_client):
    response = staff_client.post(
        reverse("patient_new"),
        {"full_name": "  Ali   Raza ", "phone": "0300 1234567", "date_of_birth": "1990-04-02", "email": "", "notes": ""},
        headers=HTMX,
    )
    assert response.status_code == 204
    assert json.loads(response["HX-Trigger"])["clinic:changed"]["message"] == "Ali Raza added."
    patient = Patient.objects.get()
    assert (patient.full_name, patient.phone, patient.date_of_birth) == ("Ali Raza", "+923001234567", date(1990, 4, 2))


def test_contact_preference_is_chosen_in_the_form_and_shown_on_the_page(staff_client):
    form = {"full_name": "Ali Raza", "phone": "0300 1234567", "email": "", "notes": "",
            "contact_preference": "email"}
    response = staff_client.post(reverse("patient_new"), form, headers=HTMX)
    assert response.status_code == 422
    assert "Add the patient&#x27;s email address" in response.content.decode()
    assert not Patient.objects.exists()
    staff_client.post(reverse("patient_new"), {**form, "email": "ali@example.com"}, headers=HTMX)
    patient = Patient.objects.get()
    assert patient.contact_preference == "email"
    page = staff_client.get(patient.get_absolute_url()).content.decode()
    assert "Confirmations and reminders</dt><dd>Email" in page


def test_add_without_htmx_redirects_to_the_new_patient(staff_client):
    response = staff_client.post(reverse("patient_new"), {"full_name": "Ali Raza", "phone": "03001234567"})
    patient = Patient.objects.get()
    assert response.status_code == 302 and response["Location"] == patient.get_absolute_url()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"full_name": "Ali Raza", "phone": "12"}, "is not a phone number we can dial"),
        ({"full_name": "A", "phone": "03001234567"}, "Please give the patient&#x27;s full name."),
        ({"full_name": "Ali Raza", "phone": "03001234567", "date_of_birth": "2999-01-01"},
         "The date of birth cannot be in the future."),
        ({"full_name": "Ali Raza", "phone": ""}, "This field is required."),
        ({"full_name": "Ali Raza", "phone": "03001234567", "email": "not-an-email"}, "Enter a valid email address."),
    ],
)
def test_add_refused_shows_the_message_next_to_the_form_and_saves_nothing(staff_client, data, message):
    response = staff_client.post(reverse("patient_new"), data, headers=HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert html.lstrip().startswith('<dialog class="modal"')
    assert message in html
    assert 'aria-invalid="true"' in html
    assert Patient.objects.count() == 0


def test_add_duplicate_name_and_phone_is_refused(staff_client):
    PatientFactory(full_name="Ali Raza", phone="+923001234567")
    response = staff_client.post(
        reverse("patient_new"), {"full_name": "ali raza", "phone": "+92 300 1234567"}, headers=HTMX
    )
    assert response.status_code == 422
    assert "already exists" in response.content.decode()
    assert Patient.objects.count() == 1


# --- edit ------------------------------------------------------------------------


def test_edit_form_is_prefilled(staff_client):
    patient = PatientFactory(full_name="Ali Raza", phone="+923001234567")
    html = staff_client.get(reverse("patient_edit", args=[patient.pk]), headers=HTMX).content.decode()
    assert 'value="Ali Raza"' in html and 'value="0300 1234567"' in html


def test_edit_saves_through_the_service(staff_client):
    patient = PatientFactory(full_name="Ali Raza", phone="+923001234567")
    response = staff_client.post(
        reverse("patient_edit", args=[patient.pk]),
        {"full_name": "Ali Hassan Raza", "phone": "0321 7654321", "email": "ali@example.com", "notes": "Prefers mornings"},
        headers=HTMX,
    )
    assert response.status_code == 204
    patient.refresh_from_db()
    assert (patient.full_name, patient.phone, patient.email, patient.notes) == (
        "Ali Hassan Raza", "+923217654321", "ali@example.com", "Prefers mornings")


def test_edit_refused_changes_nothing(staff_client):
    PatientFactory(full_name="Sana Raza", phone="+923001234567")
    patient = PatientFactory(full_name="Ali Raza", phone="+923001234567")
    response = staff_client.post(
        reverse("patient_edit", args=[patient.pk]), {"full_name": "Sana Raza", "phone": "03001234567"}, headers=HTMX
    )
    assert response.status_code == 422
    assert "already exists" in response.content.decode()
    patient.refresh_from_db()
    assert patient.full_name == "Ali Raza"


def test_edit_unknown_patient_is_404(staff_client):
    assert staff_client.get(reverse("patient_edit", args=[999999])).status_code == 404


# --- delete ----------------------------------------------------------------------


def test_delete_without_upcoming_appointments(staff_client):
    patient = PatientFactory(full_name="Ali Raza")
    AppointmentFactory(patient=patient, start=timezone.now() - timedelta(days=3), status=Appointment.Status.COMPLETED)
    html = staff_client.get(reverse("patient_delete", args=[patient.pk]), headers=HTMX).content.decode()
    assert "Delete <strong>Ali Raza</strong>" in html and "upcoming" not in html
    response = staff_client.post(reverse("patient_delete", args=[patient.pk]), headers=HTMX)
    assert response.status_code == 204
    assert "clinic:changed" in response["HX-Trigger"]
    assert not Patient.objects.filter(pk=patient.pk).exists()


def test_delete_with_upcoming_appointments_says_how_many_and_asks_first(staff_client):
    patient = PatientFactory(full_name="Ali Raza")
    soon = timezone.now() + timedelta(days=2)
    AppointmentFactory(patient=patient, start=soon)
    AppointmentFactory(patient=patient, start=soon + timedelta(days=1), status=Appointment.Status.PENDING)
    AppointmentFactory(patient=patient, start=soon, status=Appointment.Status.CANCELLED)  # not counted

    html = staff_client.get(reverse("patient_delete", args=[patient.pk]), headers=HTMX).content.decode()
    assert "has <strong>2 upcoming appointments</strong>" in html
    assert "Delete patient and 2 appointments" in html

    # A post that did not confirm (or confirmed another number) deletes nothing and asks again.
    for data in ({}, {"confirm_upcoming": "1"}):
        response = staff_client.post(reverse("patient_delete", args=[patient.pk]), data, headers=HTMX)
        assert response.status_code == 422
        assert "2 upcoming appointments" in response.content.decode()
        assert Patient.objects.filter(pk=patient.pk).exists()

    response = staff_client.post(reverse("patient_delete", args=[patient.pk]), {"confirm_upcoming": "2"}, headers=HTMX)
    assert response.status_code == 204
    assert not Patient.objects.filter(pk=patient.pk).exists()
    assert not Appointment.objects.filter(patient_id=patient.pk).exists()


def test_delete_asks_again_when_an_appointment_was_booked_meanwhile(staff_client):
    patient = PatientFactory()
    AppointmentFactory(patient=patient, start=timezone.now() + timedelta(days=2))
    staff_client.get(reverse("patient_delete", args=[patient.pk]), headers=HTMX)
    AppointmentFactory(patient=patient, start=timezone.now() + timedelta(days=4))  # the phone agent, meanwhile
    response = staff_client.post(reverse("patient_delete", args=[patient.pk]), {"confirm_upcoming": "1"}, headers=HTMX)
    assert response.status_code == 422
    assert "Please confirm again" in response.content.decode()
    assert Patient.objects.filter(pk=patient.pk).exists()


def test_delete_from_the_patients_own_page_goes_back_to_the_list(staff_client):
    patient = PatientFactory()
    response = staff_client.post(
        reverse("patient_delete", args=[patient.pk]),
        headers={**HTMX, "HX-Current-URL": f"http://testserver{reverse('patient_detail', args=[patient.pk])}"},
    )
    assert response["HX-Redirect"] == reverse("patient_list")
    assert not Patient.objects.filter(pk=patient.pk).exists()


# --- patient page ----------------------------------------------------------------


def test_patient_page_shows_details_history_upcoming_first_and_calls(staff_client):
    patient = PatientFactory(full_name="Ali Raza", phone="+923001234567", date_of_birth=date(1990, 1, 1))
    now = timezone.now()
    past_old = AppointmentFactory(patient=patient, start=now - timedelta(days=30), status=Appointment.Status.COMPLETED)
    past_new = AppointmentFactory(patient=patient, start=now - timedelta(days=2), status=Appointment.Status.NO_SHOW)
    later = AppointmentFactory(patient=patient, start=now + timedelta(days=9))
    sooner = AppointmentFactory(patient=patient, start=now + timedelta(days=3), status=Appointment.Status.CANCELLED)
    AppointmentFactory(start=now + timedelta(days=1))  # someone else's
    call = CallFactory(patient=patient, outcome=Call.Outcome.BOOKED)

    response = staff_client.get(reverse("patient_detail", args=[patient.pk]))
    assert response.status_code == 200
    assert [a.pk for a in response.context["upcoming"]] == [sooner.pk, later.pk]
    assert [a.pk for a in response.context["past"]] == [past_new.pk, past_old.pk]
    html = response.content.decode()
    assert "0300 1234567" in html
    assert html.index("Upcoming") < html.index("Past")
    for label in ("Cancelled", "Booked", "No-show", "Completed"):
        assert label in html
    assert [c.pk for c in response.context["calls"]] == [call.pk]
    assert "Booked" in html


def test_patient_page_query_count_is_bounded(staff_client, django_assert_max_num_queries):
    patient = PatientFactory()
    staff_client.get(reverse("patient_detail", args=[patient.pk]))
    with django_assert_max_num_queries(10) as few:  # 10th: the record's audit trail
        staff_client.get(reverse("patient_detail", args=[patient.pk]))
    for k in range(10):
        AppointmentFactory(patient=patient, start=timezone.now() + timedelta(days=k - 5, hours=1))
        CallFactory(patient=patient)
    with django_assert_max_num_queries(len(few.captured_queries)):
        staff_client.get(reverse("patient_detail", args=[patient.pk]))


def test_list_shows_each_patients_next_appointment(staff_client):
    from tests.when import local_dt

    patient = PatientFactory(full_name="Ali Raza")
    PatientFactory(full_name="Sana Qureshi")
    day = timezone.localdate() + timedelta(days=3)
    AppointmentFactory(patient=patient, start=local_dt(day, 11, 30))
    AppointmentFactory(patient=patient, start=local_dt(day, 9, 0), status=Appointment.Status.CANCELLED)
    AppointmentFactory(patient=patient, start=timezone.now() - timedelta(days=2), status=Appointment.Status.COMPLETED)
    response = staff_client.get(reverse("patient_list"))
    rows = {p.full_name: p.next_visit for p in response.context["patients"]}
    assert rows["Sana Qureshi"] is None
    assert timezone.localtime(rows["Ali Raza"]) == local_dt(day, 11, 30)
    assert f"{day:%a} {day.day} {day:%b}, 11:30" in response.content.decode()


# --- look-alike patients -----------------------------------------------------------

@pytest.mark.parametrize("typed, alike", [
    ("Ali Raaza", True), ("aly raza", True), ("ALI  RAZA", True), ("Muhammad Ali Raza", True), ("Alí Raza", True),
    ("Sara Raza", False), ("Hina Raza", False), ("Raza", False),
])
def test_names_that_look_alike(typed, alike):
    from patients.selectors import names_look_alike

    assert names_look_alike(typed, "Ali Raza") is alike


def test_a_look_alike_on_the_same_phone_is_pointed_out_before_saving(staff_client):
    ali = PatientFactory(full_name="Ali Raza", phone="+923001234567", date_of_birth=date(1990, 1, 2))
    PatientFactory(full_name="Ali Raaza", phone="+923339999999")  # another number: not the same person
    form = {"full_name": "Ali Raaza", "phone": "0300 1234567", "date_of_birth": "", "email": "", "notes": ""}
    response = staff_client.post(reverse("patient_new"), form, headers=HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert "Already registered under this phone number" in html and "Ali Raza" in html and "born 2 Jan 1990" in html
    assert f'href="/patients/{ali.pk}/"' in html and 'name="not_duplicate"' in html
    assert Patient.objects.count() == 2
    # Ticked: a different person after all (twins, a typo in the other record...).
    response = staff_client.post(reverse("patient_new"), {**form, "not_duplicate": "on"}, headers=HTMX)
    assert response.status_code == 204
    assert Patient.objects.filter(full_name="Ali Raaza", phone="+923001234567").exists()


def test_a_sibling_on_the_same_phone_is_not_a_duplicate(staff_client):
    PatientFactory(full_name="Ali Raza", phone="+923001234567")
    form = {"full_name": "Sara Raza", "phone": "0300 1234567", "date_of_birth": "", "email": "", "notes": ""}
    assert staff_client.post(reverse("patient_new"), form, headers=HTMX).status_code == 204


def test_editing_a_patient_does_not_find_themselves_alike(staff_client):
    ali = PatientFactory(full_name="Ali Raza", phone="+923001234567")
    form = {"full_name": "Ali Raza", "phone": "0300 1234567", "date_of_birth": "", "email": "", "notes": "new note"}
    assert staff_client.post(reverse("patient_edit", args=[ali.pk]), form, headers=HTMX).status_code == 204


def test_the_form_asks_as_you_type(staff_client):
    ali = PatientFactory(full_name="Ali Raza", phone="+923001234567")
    url = reverse("patient_similar")
    assert "Ali Raza" in staff_client.get(url, {"full_name": "ali raaza", "phone": "03001234567"}).content.decode()
    assert staff_client.get(url, {"full_name": "Ali Raza", "phone": "03001234567", "patient": ali.pk}).content.strip() == b""
    assert staff_client.get(url, {"full_name": "x" * 10_000, "phone": "\x00" * 100}).status_code == 200
    form_html = staff_client.get(reverse("patient_new"), headers=HTMX).content.decode()
    assert f'hx-get="{url}"' in form_html
