"""Confirmations and reminders through the real queue: the services write
tasks, a real `manage.py db_worker` process runs them, mail goes to a real
SMTP server and SMS to a local server that speaks Twilio's API."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from notifications.models import Notification
from notifications.services import notifications_for_change
from notifications.tasks import deliver_notification
from scheduling import services
from scheduling.models import Appointment
from tests.factories import AppointmentFactory, PatientFactory, ProviderFactory, UserFactory
from tests.when import local_dt

Kind, Status = Notification.Kind, Notification.Status


def test_a_booking_leads_to_one_confirmation_by_email(worker, mailbox, twilio, monday):
    khan = ProviderFactory(name="Dr Ayesha Khan")
    patient = PatientFactory(full_name="Sana Mir", email="sana@example.com", contact_preference="email")
    appointment = services.appointment_book(patient=patient, provider=khan, start=local_dt(monday, 9, 30),
                                            source=Appointment.Source.PHONE)
    worker.drain()
    assert len(mailbox.messages) == 1 and twilio.messages == []
    recipients, message = mailbox.messages[0]
    assert recipients == ["sana@example.com"]
    body = message.get_content()
    assert f"with Dr Ayesha Khan is booked for {monday:%A} {monday.day} {monday:%B} at 9:30" in body
    assert "Our Clinic" in message["Subject"]
    confirmation = appointment.notifications.get(kind=Kind.BOOKED)
    assert (confirmation.status, confirmation.channel, confirmation.attempts) == (Status.SENT, "email", 1)
    # The reminder waits for its time, 24 hours before the visit.
    reminder = appointment.notifications.get(kind=Kind.REMINDER)
    assert reminder.status == Status.PENDING
    assert reminder.due_at == appointment.start - timedelta(hours=24)


def _reminder_due_while_no_worker_ran(patient, *, hours_ago: int = 2) -> Appointment:
    """A visit 23 hours ahead whose reminder was scheduled `hours_ago` and fell due an hour ago."""
    start = timezone.now().replace(microsecond=0) + timedelta(hours=23)
    appointment = AppointmentFactory(patient=patient, start=start)
    notifications_for_change(appointment=appointment, action="booked",
                             now=timezone.now() - timedelta(hours=hours_ago))
    return appointment


def test_a_reminder_due_while_the_worker_was_stopped_is_sent_once_when_it_starts(worker, twilio):
    worker.stop()
    appointment = _reminder_due_while_no_worker_ran(PatientFactory(phone="+923001112233"))
    reminder = appointment.notifications.get(kind=Kind.REMINDER)
    # A duplicated task (a retry, a second enqueue) must not send it again.
    deliver_notification.enqueue(reminder.pk)
    worker.ensure().drain()
    reminders = [m for m in twilio.messages if "a reminder of your appointment" in m["Body"]]
    assert len(reminders) == 1
    assert (reminders[0]["To"], reminders[0]["From"]) == ("+923001112233", "+15005550006")
    reminder.refresh_from_db()
    assert (reminder.status, reminder.channel) == (Status.SENT, "sms")


def test_a_cancelled_visits_reminder_is_not_sent(worker, twilio):
    # One transaction: the worker first sees the reminder already cancelled.
    with transaction.atomic():
        appointment = _reminder_due_while_no_worker_ran(PatientFactory())
        services.appointment_cancel(appointment=appointment)
    worker.drain()
    bodies = [m["Body"] for m in twilio.messages]
    assert not any("reminder" in b for b in bodies)
    assert any("is cancelled" in b for b in bodies)
    reminder = appointment.notifications.get(kind=Kind.REMINDER)
    assert (reminder.status, reminder.detail) == (Status.SKIPPED, "the appointment was cancelled since")


def test_a_moved_visit_gets_a_new_reminder_and_the_old_one_is_not_sent(worker, twilio):
    with transaction.atomic():
        appointment = _reminder_due_while_no_worker_ran(PatientFactory())
        Appointment.objects.filter(pk=appointment.pk).update(start=appointment.start + timedelta(days=3),
                                                             end=appointment.end + timedelta(days=3))
        appointment.refresh_from_db()
        notifications_for_change(appointment=appointment, action="rescheduled")
    worker.drain()
    assert not any("reminder" in m["Body"] for m in twilio.messages)
    old, new = appointment.notifications.filter(kind=Kind.REMINDER).order_by("appointment_start")
    assert (old.status, old.detail) == (Status.SKIPPED, "the appointment was moved since")
    assert new.status == Status.PENDING and new.due_at == appointment.start - timedelta(hours=24)


def test_a_failing_sms_provider_is_retried_then_shown_as_failed_and_the_booking_stands(worker, twilio, monday):
    twilio.fail_with = 500
    khan = ProviderFactory()
    appointment = services.appointment_book(patient=PatientFactory(), provider=khan, start=local_dt(monday, 10))
    worker.drain()
    assert twilio.refused == 3  # NOTIFY_MAX_ATTEMPTS in the worker's environment
    assert Appointment.objects.get(pk=appointment.pk).status == Appointment.Status.BOOKED
    confirmation = appointment.notifications.get(kind=Kind.BOOKED)
    assert (confirmation.status, confirmation.attempts) == (Status.FAILED, 3)
    assert confirmation.detail == "Failed after 3 attempts: the SMS provider refused it (HTTP 500, code 20500)"
    # The desk sees it on the appointment.
    desk = Client()
    desk.force_login(UserFactory(receptionist=True))
    page = desk.get(reverse("appointment_edit", args=[appointment.pk])).content.decode()
    assert "Booking confirmation by SMS:\n      <strong>Failed</strong>" in page
    assert "(Failed after 3 attempts: the SMS provider refused it (HTTP 500, code 20500))" in page


# Last: it restarts the worker with other settings.
def test_quiet_hours_defer_a_reminder_to_their_end(worker, twilio):
    now = timezone.localtime()
    quiet_start, quiet_end = now - timedelta(hours=1), now + timedelta(hours=1)
    worker.ensure(QUIET_HOURS=f"{quiet_start:%H:%M}-{quiet_end:%H:%M}")
    appointment = _reminder_due_while_no_worker_ran(PatientFactory())
    worker.drain()
    assert not any("reminder" in m["Body"] for m in twilio.messages)
    reminder = appointment.notifications.get(kind=Kind.REMINDER)
    expected = quiet_end.replace(second=0, microsecond=0)
    assert reminder.status == Status.PENDING and reminder.due_at == expected
    # Its task is back on the queue for the end of the quiet hours.
    waiting = DBTaskResult.objects.filter(status="READY", run_after=expected)
    assert [t.args_kwargs["args"] for t in waiting] == [[reminder.pk]]
