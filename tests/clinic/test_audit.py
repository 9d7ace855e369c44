"""The audit trail: every create, change, cancel and delete of a patient or an appointment,
from the dashboard, the admin and the phone agent, names who, when and what changed."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from clinic import audit, roles
from patients.models import Patient
from scheduling.models import Appointment
from tests.clinic.test_admin import form as admin_form
from tests.factories import AppointmentFactory, PatientFactory, ProviderFactory, UserFactory
from tests.scheduling.test_views import booking_form
from tests.when import local_dt

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def desk(client):
    client.force_login(UserFactory(username="rida"))
    return client


def test_a_dashboard_booking_and_its_cancellation_name_the_receptionist(desk, monday):
    khan = ProviderFactory(name="Dr Ayesha Khan")
    ali = PatientFactory(full_name="Ali Raza")
    response = desk.post(reverse("appointment_new"), booking_form(provider=khan, start=local_dt(monday, 10),
                                                                  patient=ali, reason="Fever"), **HTMX)
    assert response.status_code in (200, 204), response.content.decode()[:2000]
    appointment = Appointment.objects.get()
    desk.post(reverse("appointment_status", args=[appointment.pk]), {"status": "cancelled"}, **HTMX)

    booked, cancelled = appointment.history.order_by("history_id")
    assert (booked.history_type, booked.history_user.username) == ("+", "rida")
    assert (cancelled.history_type, cancelled.history_user.username, cancelled.status) == ("~", "rida", "cancelled")

    rows = audit.history_rows(appointment)
    assert rows[0]["who"] == "rida" and rows[0]["action"] == "changed"
    assert {"field": "status", "old": "Booked", "new": "Cancelled"} in rows[0]["changes"]
    # The appointment's page shows it.
    page = desk.get(reverse("appointment_edit", args=[appointment.pk])).content.decode()
    assert "History (2)" in page and "Booked → Cancelled" in page and "rida" in page


def test_an_admin_booking_names_the_manager_and_managers_see_the_history(client, monday):
    boss = UserFactory(username="boss", is_staff=True, receptionist=False)
    boss.groups.add(Group.objects.get(name=roles.MANAGERS))  # a Manager, not a superuser
    client.force_login(boss)
    khan, ali = ProviderFactory(name="Dr Ayesha Khan"), PatientFactory()
    assert client.post(reverse("admin:scheduling_appointment_add"), admin_form(ali, khan, monday, 10)).status_code == 302
    appointment = Appointment.objects.get()
    record = appointment.history.get()
    assert (record.history_type, record.history_user) == ("+", boss)
    history = client.get(reverse("admin:scheduling_appointment_history", args=[appointment.pk]))
    assert history.status_code == 200 and "boss" in history.content.decode()


def test_patient_changes_and_deletion_are_recorded_with_what_changed(desk, monday):
    ali = PatientFactory(full_name="Ali Raza", phone="+923001234567")
    appointment = AppointmentFactory(patient=ali, start=local_dt(monday, 10))
    response = desk.post(reverse("patient_edit", args=[ali.pk]), {
        "full_name": "Ali Raza Khan", "phone": "0300 1234567", "date_of_birth": "", "email": "",
        "contact_preference": "sms", "notes": ""}, **HTMX)
    assert response.status_code in (200, 204), response.content.decode()[:2000]
    page = desk.get(reverse("patient_detail", args=[ali.pk])).content.decode()
    assert "Ali Raza → Ali Raza Khan" in page and "rida" in page

    desk.post(reverse("patient_delete", args=[ali.pk]), {"confirm_upcoming": "1"}, **HTMX)
    assert not Patient.objects.exists()
    gone = Patient.history.filter(id=ali.pk).latest("history_id")
    assert (gone.history_type, gone.history_user.username, gone.full_name) == ("-", "rida", "Ali Raza Khan")
    # Their appointment went with them, and that is on record too.
    cascaded = Appointment.history.filter(id=appointment.pk).latest("history_id")
    assert (cascaded.history_type, cascaded.history_user.username) == ("-", "rida")


def test_writes_with_no_user_and_no_agent_read_as_system():
    patient = PatientFactory()
    assert audit.history_rows(patient)[0]["who"] == "system"
    with audit.acting("phone agent, call 7"):
        patient.full_name = "Changed By Phone"
        patient.save()
    assert audit.history_rows(patient)[0]["who"] == "phone agent, call 7"
