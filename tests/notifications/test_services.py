"""Confirmations and reminders in-process: which messages an appointment gets,
their words, retries with backoff, and the managers' texts."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from clinic.models import ClinicProfile
from notifications import senders
from notifications.models import Notification
from notifications.services import in_quiet_hours, message_for, notification_deliver, notifications_for_change
from scheduling import services
from scheduling.models import Appointment
from tests.factories import AppointmentFactory, PatientFactory, ProviderFactory, UserFactory
from tests.notifications.conftest import TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN
from tests.when import local_dt

pytestmark = pytest.mark.django_db
Kind, Status = Notification.Kind, Notification.Status


@pytest.fixture
def via_twilio(settings, twilio):
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = TWILIO_SID, TWILIO_TOKEN
    settings.TWILIO_FROM_NUMBER, settings.TWILIO_BASE_URL = TWILIO_FROM, twilio.url
    settings.QUIET_HOURS = None
    return twilio


def test_every_interface_gets_a_confirmation_and_a_reminder_queued(monday, django_capture_on_commit_callbacks):
    patient, khan = PatientFactory(), ProviderFactory()
    with django_capture_on_commit_callbacks(execute=True):
        visit = services.appointment_book(patient=patient, provider=khan, start=local_dt(monday, 9),
                                          source=Appointment.Source.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_reschedule(appointment=visit, start=local_dt(monday, 11))
    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_cancel(appointment=visit)
    made = list(visit.notifications.order_by("id").values_list("kind", "appointment_start"))
    assert made == [(Kind.BOOKED, local_dt(monday, 9)), (Kind.REMINDER, local_dt(monday, 9)),
                    (Kind.MOVED, local_dt(monday, 11)), (Kind.REMINDER, local_dt(monday, 11)),
                    (Kind.CANCELLED, local_dt(monday, 11))]
    # One task per message, the reminders' for 24 hours before their visit.
    # (The backend stores "run now" as the year 9999, last in its ordering.)
    queued = sorted(DBTaskResult.objects.values_list("run_after", flat=True))
    reminders = [local_dt(monday, 9) - timedelta(hours=24), local_dt(monday, 11) - timedelta(hours=24)]
    assert queued[:2] == reminders and [t.year for t in queued[2:]] == [9999] * 3


def test_the_same_change_heard_twice_schedules_nothing_more(monday):
    visit = AppointmentFactory(start=local_dt(monday, 9))
    assert len(notifications_for_change(appointment=visit, action="booked")) == 2
    assert notifications_for_change(appointment=visit, action="booked") == []
    assert Notification.objects.count() == 2 and DBTaskResult.objects.count() == 2


def test_a_visit_booked_inside_the_lead_time_gets_no_separate_reminder():
    visit = AppointmentFactory(start=timezone.now() + timedelta(hours=5))
    made = notifications_for_change(appointment=visit, action="booked")
    assert [n.kind for n in made] == [Kind.BOOKED]


def test_a_failed_send_waits_longer_each_time_then_shows_as_failed(via_twilio, settings, monday):
    settings.NOTIFY_MAX_ATTEMPTS, settings.NOTIFY_RETRY_SECONDS = 3, 60
    via_twilio.fail_with = 503
    visit = AppointmentFactory(start=local_dt(monday, 9))
    [confirmation, _] = notifications_for_change(appointment=visit, action="booked")
    now = timezone.now()
    assert notification_deliver(confirmation.pk, now=now) == "retrying"
    confirmation.refresh_from_db()
    assert (confirmation.status, confirmation.attempts) == (Status.PENDING, 1)
    assert confirmation.due_at == now + timedelta(seconds=60)
    assert "Attempt 1 failed: the SMS provider refused it (HTTP 503" in confirmation.detail
    assert DBTaskResult.objects.filter(run_after=now + timedelta(seconds=60)).count() == 1
    later = now + timedelta(seconds=61)
    assert notification_deliver(confirmation.pk, now=later) == "retrying"
    confirmation.refresh_from_db()
    assert confirmation.due_at == later + timedelta(seconds=120)
    assert notification_deliver(confirmation.pk, now=later + timedelta(seconds=121)) == Status.FAILED
    confirmation.refresh_from_db()
    assert (confirmation.status, confirmation.attempts, via_twilio.refused) == (Status.FAILED, 3, 3)
    # A task that still comes (a duplicate) leaves it alone.
    assert notification_deliver(confirmation.pk) == Status.FAILED and via_twilio.refused == 3


def test_an_unreachable_provider_is_a_failed_attempt_too(via_twilio, settings, monday):
    settings.TWILIO_BASE_URL = "http://127.0.0.1:9"  # nothing listens there
    visit = AppointmentFactory(start=local_dt(monday, 9))
    [confirmation, _] = notifications_for_change(appointment=visit, action="booked")
    assert notification_deliver(confirmation.pk) == "retrying"
    confirmation.refresh_from_db()
    assert "could not be reached" in confirmation.detail


def test_patients_who_want_no_messages_get_none(via_twilio, monday):
    visit = AppointmentFactory(start=local_dt(monday, 9), patient__contact_preference="none")
    [confirmation, _] = notifications_for_change(appointment=visit, action="booked")
    assert notification_deliver(confirmation.pk) == Status.SKIPPED
    confirmation.refresh_from_db()
    assert confirmation.detail == "the patient asked for no messages" and via_twilio.messages == []


def test_patients_who_prefer_a_call_get_confirmations_by_sms_and_reminders_by_sms_without_the_phone_agent(
        via_twilio, settings):
    settings.LIVEKIT_URL = ""
    visit = AppointmentFactory(start=timezone.now() + timedelta(hours=23), patient__contact_preference="call")
    made = notifications_for_change(appointment=visit, action="booked", now=timezone.now() - timedelta(hours=2))
    for notification in made:
        assert notification_deliver(notification.pk) == Status.SENT
    assert set(Notification.objects.values_list("channel", flat=True)) == {"sms"}
    assert len(via_twilio.messages) == 2


def test_the_message_names_clinic_provider_day_time_and_number_in_the_clinics_zone(monday):
    profile = ClinicProfile.load()
    profile.name, profile.phone = "Shifa Clinic", "+924235761234"
    profile.save()
    visit = AppointmentFactory(start=local_dt(monday, 14, 30), provider__name="Dr Khan")
    notification = Notification(appointment=visit, kind=Kind.BOOKED, appointment_start=visit.start,
                                due_at=timezone.now())
    subject, body = message_for(notification, visit)
    assert subject == "Shifa Clinic: Your appointment is booked"
    assert body == (f"Shifa Clinic: your appointment with Dr Khan is booked for {monday:%A} {monday.day} "
                    f"{monday:%B} at 14:30. To change or cancel it, call (042) 35761234.")


def test_the_development_sender_logs_the_message_without_the_number(caplog):
    with caplog.at_level(logging.INFO, logger="notifications.senders"):
        senders.LogSmsSender().send("+923001234567", "See you Monday")
    assert "See you Monday" in caplog.text and "1234567" not in caplog.text


@pytest.mark.parametrize("clock, expected_end", [
    (time(22, 30), "tomorrow"), (time(3, 0), "today"), (time(8, 0), None), (time(20, 59), None),
])
def test_quiet_hours_run_over_midnight(settings, clinic_tz, clock, expected_end):
    settings.QUIET_HOURS = (time(21), time(8))
    day = timezone.localdate()
    moment = datetime.combine(day, clock, tzinfo=clinic_tz)
    end = in_quiet_hours(moment)
    if expected_end is None:
        assert end is None
    else:
        end_day = day + timedelta(days=1) if expected_end == "tomorrow" else day
        assert end == datetime.combine(end_day, time(8), tzinfo=clinic_tz)


# --- the managers' texts ---------------------------------------------------------------

@pytest.fixture
def manager(client):
    client.force_login(UserFactory(username="manager", is_staff=True, is_superuser=True))
    return client


PROFILE = {"name": "Shifa Clinic", "address": "", "phone": "", "transfer_phone": "", "emergency_number": "1122",
           "min_notice_minutes": 60, "booking_horizon_days": 60}


@pytest.mark.parametrize("text, error", [
    ("See you {when}", "{when} is not a placeholder. Use {clinic}, {provider}"),
    ("See you {day.year}", "is not a placeholder"),
    ("See you {day!r}", "is not a placeholder"),
    ("See you {0}", "{0} is not a placeholder"),
    ("See you {day", "A brace is not closed"),
    ("x" * 10_000, "Keep the text to 480 characters (it has 10000)"),
    ("See you\x00 {day}", "Null characters are not allowed"),
    ("See you\u200b {day}", "invisible or control characters"),
    ("See you \u202e{day}", "invisible or control characters"),
])
def test_a_bad_message_text_is_refused_with_a_message_and_nothing_saved(manager, text, error):
    url = reverse("admin:clinic_clinicprofile_change", args=[ClinicProfile.load().pk])
    response = manager.post(url, {**PROFILE, "reminder_text": text})
    assert response.status_code == 200
    assert error in response.content.decode().replace("&#x27;", "'")
    assert ClinicProfile.load().name == "Our Clinic"


def test_a_managers_text_is_what_the_patient_receives(manager, monday):
    url = reverse("admin:clinic_clinicprofile_change", args=[ClinicProfile.load().pk])
    text = "Salaam {patient}!\r\n{provider} expects you {day} at {time}. Questions: {clinic_phone}. {{not a field}}"
    assert manager.post(url, {**PROFILE, "phone": "042 35761234", "reminder_text": text}).status_code == 302
    visit = AppointmentFactory(start=local_dt(monday, 9), patient__full_name="Sana Mir", provider__name="Dr Khan")
    notification = Notification(appointment=visit, kind=Kind.REMINDER, appointment_start=visit.start,
                                due_at=timezone.now())
    _, body = message_for(notification, visit)
    assert body.replace("\r\n", "\n") == (f"Salaam Sana Mir!\nDr Khan expects you {monday:%A} {monday.day} {monday:%B} at 9:00. "
                    "Questions: (042) 35761234. {not a field}")


def test_the_admin_shows_an_appointments_messages_and_confirmation(manager, monday):
    visit = AppointmentFactory(start=local_dt(monday, 9))
    notifications_for_change(appointment=visit, action="booked")
    services.appointment_confirm(visit, by=Appointment.Source.PHONE)
    page = manager.get(reverse("admin:scheduling_appointment_change", args=[visit.pk])).content.decode()
    assert "Booking confirmation: Waiting" in page and "Reminder: Waiting" in page
    assert "Phone agent" in page  # confirmed via
    failed_list = manager.get(reverse("admin:notifications_notification_changelist"), {"status__exact": "failed"})
    assert failed_list.status_code == 200 and failed_list.context["cl"].result_count == 0
