"""Phone identity checks per patient: wrong answers counted per day, a lock that staff clear."""

from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from patients.models import Patient
from patients.services import PHONE_FAILURES_PER_DAY, patient_identity_failed
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(receptionist=True))
    return client


def test_wrong_answers_lock_at_the_daily_limit_and_start_again_the_next_day():
    patient = PatientFactory(date_of_birth=date(1980, 5, 3))
    for _ in range(PHONE_FAILURES_PER_DAY - 1):
        assert patient_identity_failed(patient_id=patient.pk) is False
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        assert patient_identity_failed(patient_id=patient.pk) is False  # a new day: one today
    patient.refresh_from_db()
    assert patient.phone_check_failures == 1 and patient.phone_locked_at is None
    for _ in range(PHONE_FAILURES_PER_DAY):
        locked = patient_identity_failed(patient_id=patient.pk)
    assert locked is True
    assert patient_identity_failed(patient_id=10**9) is False  # deleted meanwhile: nothing to count


def test_the_patient_page_shows_the_lock_and_staff_clear_it(staff_client, client):
    patient = PatientFactory(full_name="Imran Qureshi", date_of_birth=date(1980, 5, 3))
    page = staff_client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert "Phone access locked" not in page
    for _ in range(PHONE_FAILURES_PER_DAY):
        patient_identity_failed(patient_id=patient.pk)
    page = staff_client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert "Phone access locked" in page and "Clear phone lock" in page
    unlock = reverse("patient_phone_unlock", args=[patient.pk])
    assert staff_client.get(unlock).status_code == 405  # a change only by POST
    response = staff_client.post(unlock, headers={"HX-Request": "true"})
    assert response.status_code == 204 and "Phone access cleared for Imran Qureshi." in response["HX-Trigger"]
    patient.refresh_from_db()
    assert patient.phone_locked_at is None and patient.phone_check_failures == 0
    assert "Phone access locked" not in staff_client.get(reverse("patient_detail", args=[patient.pk])).content.decode()


def test_unlock_needs_a_login():
    from django.test import Client

    patient = PatientFactory()
    patient_identity_failed(patient_id=patient.pk)
    Patient.objects.filter(pk=patient.pk).update(phone_locked_at=timezone.now())
    response = Client().post(reverse("patient_phone_unlock", args=[patient.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert Patient.objects.get(pk=patient.pk).phone_locked_at is not None


def test_the_list_shows_who_has_no_date_of_birth(staff_client):
    PatientFactory(full_name="Ali Raza", date_of_birth=date(1980, 1, 1))
    PatientFactory(full_name="Sara Raza", date_of_birth=None)
    response = staff_client.get(reverse("patient_list"), {"no_birth_date": "1", "q": "raza"})
    assert [p.full_name for p in response.context["patients"]] == ["Sara Raza"]
    assert "1 patient matching “raza” without a date of birth" in response.content.decode()
    page = staff_client.get(reverse("patient_detail", args=[Patient.objects.get(full_name="Sara Raza").pk]))
    assert "not given: by phone, only from their own number" in page.content.decode()
