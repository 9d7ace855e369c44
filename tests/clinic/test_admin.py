"""Managers in the Django admin obey the same booking rules as everyone else."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.models import ClinicProfile
from patients.models import Patient
from scheduling.models import Appointment
from tests.factories import AppointmentFactory, PatientFactory, ProviderFactory, UserFactory
from tests.when import local_dt

pytestmark = pytest.mark.django_db
Status = Appointment.Status


@pytest.fixture
def manager(client):
    user = UserFactory(username="manager", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def form(patient, provider, day, hh, mm=0, **extra):
    start = local_dt(day, hh, mm)
    return {"patient": patient.pk, "provider": provider.pk, "start_0": start.strftime("%Y-%m-%d"),
            "start_1": start.strftime("%H:%M"), "status": Status.BOOKED, "reason": "Check-up", **extra}


def test_admin_books_through_the_services(manager, monday):
    patient, khan = PatientFactory(), ProviderFactory(name="Dr Khan")
    response = manager.post(reverse("admin:scheduling_appointment_add"), form(patient, khan, monday, 10))
    assert response.status_code == 302, response.context["adminform"].form.errors
    appt = Appointment.objects.get()
    assert appt.source == Appointment.Source.ADMIN
    assert appt.end - appt.start == timedelta(minutes=30)


def test_sunday_and_double_booking_are_refused_on_the_form(manager, monday):
    patient, khan = PatientFactory(), ProviderFactory(name="Dr Khan")
    response = manager.post(reverse("admin:scheduling_appointment_add"),
                            form(patient, khan, monday - timedelta(days=1), 10))
    assert response.status_code == 200
    assert "Dr Khan is not in on Sundays." in response.content.decode()
    AppointmentFactory(provider=khan, start=local_dt(monday, 10))
    response = manager.post(reverse("admin:scheduling_appointment_add"), form(patient, khan, monday, 10))
    assert response.status_code == 200
    assert "Dr Khan is already booked at 10:00" in response.content.decode()
    assert Appointment.objects.count() == 1


def test_editing_into_a_taken_slot_changes_nothing(manager, monday):
    khan = ProviderFactory(name="Dr Khan")
    AppointmentFactory(provider=khan, start=local_dt(monday, 9))
    mine = AppointmentFactory(provider=khan, start=local_dt(monday, 11), reason="Old")
    url = reverse("admin:scheduling_appointment_change", args=[mine.pk])
    response = manager.post(url, form(mine.patient, khan, monday, 9, reason="New"))
    assert "Dr Khan is already booked at 9:00" in response.content.decode()
    mine.refresh_from_db()
    assert (timezone.localtime(mine.start).hour, mine.reason) == (11, "Old")
    response = manager.post(url, form(mine.patient, khan, monday, 14, reason="New"))
    assert response.status_code == 302
    mine.refresh_from_db()
    assert (timezone.localtime(mine.start).hour, mine.reason, mine.status) == (14, "New", Status.RESCHEDULED)


def test_actions_mark_completed_no_show_and_cancel(manager, monday):
    past = AppointmentFactory(start=timezone.now() - timedelta(days=1))
    future = AppointmentFactory(start=local_dt(monday, 9))
    changelist = reverse("admin:scheduling_appointment_changelist")
    response = manager.post(changelist, {"action": "mark_completed", "_selected_action": [past.pk, future.pk]},
                            follow=True)
    page = response.content.decode()
    assert "1 appointment marked completed." in page
    assert "has not started yet, so it cannot be marked completed" in page
    manager.post(changelist, {"action": "cancel", "_selected_action": [future.pk]})
    past.refresh_from_db(), future.refresh_from_db()
    assert (past.status, future.status) == (Status.COMPLETED, Status.CANCELLED)
    manager.post(changelist, {"action": "mark_no_show", "_selected_action": [past.pk]})
    past.refresh_from_db()
    assert past.status == Status.NO_SHOW


def test_appointment_list_filters_and_searches(manager, monday):
    ali = PatientFactory(full_name="Ali Raza", phone="+923001234567")
    AppointmentFactory(patient=ali, start=local_dt(monday, 9))
    AppointmentFactory(start=local_dt(monday, 10), status=Status.CANCELLED)
    changelist = reverse("admin:scheduling_appointment_changelist")
    assert manager.get(changelist, {"q": "0300 1234567"}).context["cl"].result_count == 1
    assert manager.get(changelist, {"q": "ali raz"}).context["cl"].result_count == 1
    assert manager.get(changelist, {"status__exact": "cancelled"}).context["cl"].result_count == 1
    autocomplete = manager.get(reverse("admin:autocomplete"), {
        "term": "raza", "app_label": "scheduling", "model_name": "appointment", "field_name": "patient"})
    assert [r["text"] for r in autocomplete.json()["results"]] == [str(ali)]


def test_patient_admin_normalises_phone_and_refuses_duplicates(manager):
    add = reverse("admin:patients_patient_add")
    data = {"full_name": "Ali Raza", "phone": "0300 1234567", "contact_preference": "sms", "appointments-TOTAL_FORMS": 0,
            "appointments-INITIAL_FORMS": 0}
    assert manager.post(add, data).status_code == 302
    assert Patient.objects.get().phone == "+923001234567"
    response = manager.post(add, {**data, "phone": "+92 300 1234567", "full_name": "ali raza"})
    assert "A patient named ali raza with this phone number already exists." in response.content.decode()
    response = manager.post(add, {**data, "phone": "12345"})
    assert "is not a phone number we can dial" in response.content.decode()
    assert Patient.objects.count() == 1


def test_patient_page_lists_their_appointments(manager, monday):
    appt = AppointmentFactory(start=local_dt(monday, 9), reason="Knee pain")
    page = manager.get(reverse("admin:patients_patient_change", args=[appt.patient_id])).content.decode()
    assert "Knee pain" in page


def test_clinic_profile_is_one_page(manager):
    response = manager.get(reverse("admin:clinic_clinicprofile_changelist"))
    assert response.status_code == 302 and response.url.endswith("/clinicprofile/1/change/")
    data = {"name": "Shifa Clinic", "address": "Lahore", "phone": "042 35761234", "transfer_phone": "0300 1112233",
            "emergency_number": "1122", "min_notice_minutes": 30, "booking_horizon_days": 30}
    assert manager.post(response.url, data).status_code == 302
    profile = ClinicProfile.load()
    assert (profile.transfer_phone, profile.min_notice_minutes) == ("+923001112233", 30)
    response = manager.post(response.url, {**data, "transfer_phone": "abc"})
    assert "not a phone number we can dial" in response.content.decode()


def test_receptionists_do_not_reach_the_admin(client):
    client.force_login(UserFactory())
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and "/admin/login/" in response.url


def test_admin_checks_in_on_the_day_only(manager, monday):
    today = timezone.now() + timedelta(minutes=1)
    here = AppointmentFactory(start=today, provider__hours={})
    later = AppointmentFactory(start=local_dt(monday, 9))
    changelist = reverse("admin:scheduling_appointment_changelist")
    page = manager.post(changelist, {"action": "mark_arrived", "_selected_action": [here.pk, later.pk]},
                        follow=True).content.decode()
    assert "1 appointment marked arrived." in page and "patients check in on the day" in page
    here.refresh_from_db(), later.refresh_from_db()
    assert (here.status, later.status) == (Status.ARRIVED, Status.BOOKED) and here.arrived_at
