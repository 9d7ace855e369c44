from datetime import date, timedelta

import pytest
from django.utils import timezone

from patients.models import Patient
from patients.selectors import patient_search, patients_for_phone
from patients.services import PatientError, patient_create, patient_delete, patient_find_or_create, patient_update
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_find_or_create_matches_name_and_phone_however_typed():
    ali, created = patient_find_or_create(full_name="Ali  Raza", phone="0300 1234567")
    assert created and ali.phone == "+923001234567" and ali.full_name == "Ali Raza"
    again, created = patient_find_or_create(full_name="ali raza", phone="+92 300 1234567")
    assert not created and again.pk == ali.pk


def test_a_family_shares_one_phone():
    mother, _ = patient_find_or_create(full_name="Sana Raza", phone="03001234567")
    child, created = patient_find_or_create(full_name="Hamza Raza", phone="923001234567")
    assert created and child.pk != mother.pk
    assert set(patients_for_phone("0300 1234567")) == {mother, child}


def test_bad_input_is_refused_with_a_message_and_nothing_saved():
    with pytest.raises(PatientError) as info:
        patient_create(full_name="Ali Raza", phone="12")
    assert info.value.field == "phone" and "not a phone number we can dial" in info.value.message
    with pytest.raises(PatientError) as info:
        patient_create(full_name=" x ", phone="03001234567")
    assert info.value.message == "Please give the patient's full name."
    with pytest.raises(PatientError) as info:
        patient_create(full_name="Ali Raza", phone="03001234567", date_of_birth=timezone.localdate() + timedelta(days=1))
    assert info.value.field == "date_of_birth"
    assert Patient.objects.count() == 0


def test_the_same_name_and_phone_twice_is_refused():
    patient_create(full_name="Ali Raza", phone="03001234567")
    with pytest.raises(PatientError) as info:
        patient_create(full_name="ALI RAZA", phone="+923001234567")
    assert info.value.message == "A patient named ALI RAZA with this phone number already exists."
    other = patient_create(full_name="Ali Khan", phone="03001234567")
    with pytest.raises(PatientError):
        patient_update(patient=other, full_name="Ali Raza", phone="03001234567")
    other.refresh_from_db()
    assert other.full_name == "Ali Khan"


def test_update_normalises_and_keeps_optional_fields():
    p = patient_create(full_name="Ali Raza", phone="03001234567")
    patient_update(patient=p, full_name="Ali Raza", phone="0321 7654321", date_of_birth=date(1990, 5, 1),
                   email="ali@example.com", notes="Allergic to penicillin")
    p.refresh_from_db()
    assert (p.phone, p.date_of_birth, p.email) == ("+923217654321", date(1990, 5, 1), "ali@example.com")


def test_search_finds_old_patients_by_name_part_and_phone_digits():
    target = PatientFactory(full_name="Ali Raza", phone="+923001234567")
    PatientFactory.create_batch(60)  # the target is not among the most recent
    assert list(patient_search("raza")) == [target]
    assert list(patient_search("ali 4567")) == [target]
    assert list(patient_search("0300123")) == [target]  # national digits, trunk zero and all
    assert list(patient_search("923001234567")) == [target]
    assert target not in patient_search("raza 9999")


def test_delete_takes_their_appointments_too():
    from tests.factories import AppointmentFactory

    appt = AppointmentFactory()
    patient_delete(patient=appt.patient)
    assert not Patient.objects.filter(pk=appt.patient_id).exists()


def test_contact_preference_defaults_to_sms_and_email_needs_an_address():
    patient = patient_create(full_name="Sana Mir", phone="0300 7654321")
    assert patient.contact_preference == Patient.ContactPreference.SMS
    with pytest.raises(PatientError, match="email address") as info:
        patient_update(patient=patient, full_name="Sana Mir", phone="0300 7654321",
                                contact_preference="email")
    assert info.value.field == "email"
    with pytest.raises(PatientError, match="Choose how"):
        patient_update(patient=patient, full_name="Sana Mir", phone="0300 7654321",
                                contact_preference="pigeon")
    patient_update(patient=patient, full_name="Sana Mir", phone="0300 7654321",
                            email="sana@example.com", contact_preference="email")
    patient.refresh_from_db()
    assert (patient.contact_preference, patient.email) == ("email", "sana@example.com")
    # An edit that leaves the preference out keeps it.
    patient_update(patient=patient, full_name="Sana Mir", phone="0300 7654321", email="sana@example.com")
    patient.refresh_from_db()
    assert patient.contact_preference == "email"
