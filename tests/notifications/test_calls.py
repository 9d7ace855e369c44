"""Reminders for patients who prefer a call, and for Pending bookings, are
reminder calls placed through the phone agent's outbound side; LiveKit's API
is the recorder of tests/voiceagent/fake_livekit.py, Redis and the database are real."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from notifications.models import Notification
from notifications.services import next_call_at, notification_deliver, notifications_for_change, worker_sweep
from scheduling import services as scheduling_services
from scheduling.models import Appointment
from tests.factories import AppointmentFactory, UserFactory
from tests.notifications.conftest import TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN
from tests.voiceagent.fake_livekit import FakeLiveKit
from voiceagent import outbound
from voiceagent.models import Call

pytestmark = pytest.mark.django_db(transaction=True)
Kind, Status = Notification.Kind, Notification.Status


@pytest.fixture
def livekit(settings, monkeypatch, twilio):
    settings.LIVEKIT_URL, settings.VOICE_AGENT_NAME = "wss://livekit.invalid", "clinic-receptionist"
    settings.REMINDER_CALLS_AT_ONCE, settings.REMINDER_CALL_ATTEMPTS = 1, 2
    settings.SMS_BACKEND, settings.QUIET_HOURS = "twilio", None
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = TWILIO_SID, TWILIO_TOKEN
    settings.TWILIO_FROM_NUMBER, settings.TWILIO_BASE_URL = TWILIO_FROM, twilio.url
    fake = FakeLiveKit()

    @contextlib.asynccontextmanager
    async def fake_api():
        yield fake

    monkeypatch.setattr(outbound, "livekit_api", fake_api)
    return fake


def due_reminder(**appointment) -> Notification:
    visit = AppointmentFactory(start=timezone.now() + timedelta(hours=23), **appointment)
    notifications_for_change(appointment=visit, action="booked", now=timezone.now() - timedelta(hours=2))
    return visit.notifications.get(kind=Kind.REMINDER)


@pytest.mark.parametrize("appointment", [
    {"patient__contact_preference": "call"},
    {"patient__contact_preference": "sms", "status": Appointment.Status.PENDING},
])
def test_a_reminder_call_is_placed_for_call_patients_and_pending_bookings(livekit, twilio, appointment):
    reminder = due_reminder(**appointment)
    assert notification_deliver(reminder.pk) == Status.CALLING
    [request] = livekit.agent_dispatch.requests
    assert request.room.startswith(f"reminder-{reminder.appointment_id}-")
    assert Call.objects.get(room=request.room).direction == Call.Direction.OUTBOUND
    reminder.refresh_from_db()
    assert (reminder.status, reminder.channel, reminder.calls) == (Status.CALLING, "call", 1)
    assert reminder.detail == "Reminder call 1 of 2 placed"
    assert twilio.messages == []


def test_without_an_outbound_trunk_the_reminder_goes_by_sms(livekit, twilio):
    livekit.sip.outbound.clear()
    reminder = due_reminder(patient__contact_preference="call")
    assert notification_deliver(reminder.pk) == Status.SENT
    reminder.refresh_from_db()
    assert reminder.channel == "sms" and reminder.detail.startswith("no reminder call (There is no outbound trunk")
    assert len(twilio.messages) == 1 and "a reminder of your appointment" in twilio.messages[0]["Body"]
    assert livekit.agent_dispatch.requests == []


def test_busy_lines_put_the_call_off_and_nothing_goes_twice(livekit, twilio, settings):
    first, second = due_reminder(patient__contact_preference="call"), due_reminder(patient__contact_preference="call")
    assert notification_deliver(first.pk) == Status.CALLING
    assert notification_deliver(second.pk) == "retrying"  # REMINDER_CALLS_AT_ONCE = 1
    second.refresh_from_db()
    assert second.status == Status.PENDING and "reminder lines are in use" in second.detail
    assert notification_deliver(first.pk) == Status.CALLING and len(livekit.agent_dispatch.requests) == 1


# --- calling again after voicemail or no answer ------------------------------------

def ring_unanswered(livekit) -> Call:
    """The job's side of the last call placed: dial, nobody answers (SIP 480), the call ends."""
    dispatch = livekit.agent_dispatch.requests[-1]
    job = outbound.ReminderJob.from_metadata(dispatch.metadata)
    livekit.sip.unanswered = True
    assert asyncio.run(outbound.dial_patient(livekit.sip, job, room=dispatch.room)) is None
    return Call.objects.get(pk=job.call_id)


def queued_for_later(notification: Notification) -> list:
    return list(DBTaskResult.objects.filter(status="READY", args_kwargs__args=[notification.pk],
                                            run_after__gt=timezone.now()).values_list("run_after", flat=True))


def test_no_answer_on_every_call_then_one_sms_and_the_desk_sees_the_calls(livekit, twilio, settings):
    settings.REMINDER_CALL_RETRY_MINUTES = 90
    reminder = due_reminder(patient__contact_preference="call")
    assert notification_deliver(reminder.pk) == Status.CALLING
    before = timezone.now()
    assert ring_unanswered(livekit).outcome == Call.Outcome.NO_ANSWER
    reminder.refresh_from_db()
    # Waits, then calls again: the row says when, the queue holds the task until then.
    assert reminder.status == Status.PENDING and reminder.calls == 1
    assert before + timedelta(minutes=90) <= reminder.due_at <= timezone.now() + timedelta(minutes=90)
    assert reminder.detail.startswith("Reminder call 1 of 2: no answer; calling again ")
    assert queued_for_later(reminder) == [reminder.due_at]
    assert twilio.messages == []

    assert notification_deliver(reminder.pk, now=reminder.due_at) == Status.CALLING
    assert len(livekit.agent_dispatch.requests) == 2
    ring_unanswered(livekit)
    reminder.refresh_from_db()
    # The calls are used up: the reminder goes by SMS at once.
    assert reminder.detail == "Reminder call 2 of 2: no answer; no more calls, sending the reminder in writing"
    assert notification_deliver(reminder.pk) == Status.SENT
    assert notification_deliver(reminder.pk) == Status.SENT  # a repeated task sends nothing more
    assert len(twilio.messages) == 1 and "a reminder of your appointment" in twilio.messages[0]["Body"]
    assert len(livekit.agent_dispatch.requests) == 2
    reminder.refresh_from_db()
    assert (reminder.channel, reminder.calls, reminder.detail) == (
        "sms", 2, "sent after 2 reminder calls went unanswered")
    desk = Client()
    desk.force_login(UserFactory(receptionist=True))
    page = desk.get(reverse("appointment_edit", args=[reminder.appointment_id])).content.decode()
    assert "Reminder by SMS:\n      <strong>Sent</strong>" in page
    assert "(sent after 2 reminder calls went unanswered)" in page
    calls = Call.objects.filter(appointment_id=reminder.appointment_id, direction=Call.Direction.OUTBOUND)
    assert sorted(calls.values_list("outcome", flat=True)) == [Call.Outcome.NO_ANSWER] * 2


@pytest.mark.parametrize("change", ["confirmed", "cancelled"])
def test_a_visit_confirmed_or_cancelled_before_the_next_call_is_not_called(livekit, twilio, change):
    reminder = due_reminder(patient__contact_preference="call")
    notification_deliver(reminder.pk)
    ring_unanswered(livekit)
    visit = Appointment.objects.get(pk=reminder.appointment_id)
    if change == "confirmed":  # e.g. the patient rang back after the voicemail
        scheduling_services.appointment_confirm(visit.pk, by=Appointment.Source.DASHBOARD)
        why = "the patient confirmed after the last reminder call"
    else:
        scheduling_services.appointment_cancel(appointment=visit)
        why = "the appointment was cancelled since"
    reminder.refresh_from_db()
    assert notification_deliver(reminder.pk, now=reminder.due_at) == Status.SKIPPED
    assert len(livekit.agent_dispatch.requests) == 1
    assert not any("a reminder of your appointment" in m["Body"] for m in twilio.messages)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.detail) == (Status.SKIPPED, why)


def test_a_moved_visit_gets_reminder_calls_of_its_own(livekit, twilio):
    reminder = due_reminder(patient__contact_preference="call")
    notification_deliver(reminder.pk)
    ring_unanswered(livekit)
    # Moved (as appointment_reschedule does it, without its opening-hours rules for this factory visit).
    Appointment.objects.filter(pk=reminder.appointment_id).update(start=F("start") + timedelta(days=2),
                                                                  end=F("end") + timedelta(days=2))
    moved = Appointment.objects.get(pk=reminder.appointment_id)
    notifications_for_change(appointment=moved, action="rescheduled")
    reminder.refresh_from_db()
    assert notification_deliver(reminder.pk, now=reminder.due_at) == Status.SKIPPED
    assert reminder.__class__.objects.get(pk=reminder.pk).detail == "the appointment was moved since"
    fresh = moved.notifications.get(kind=Kind.REMINDER, appointment_start=moved.start)
    assert notification_deliver(fresh.pk, now=fresh.due_at) == Status.CALLING
    assert len(livekit.agent_dispatch.requests) == 2


def test_no_call_too_close_to_the_visit_nor_in_quiet_hours(livekit, settings):
    settings.REMINDER_CALL_RETRY_MINUTES = 60
    reminder = due_reminder(patient__contact_preference="call")
    visit = Appointment.objects.get(pk=reminder.appointment_id)
    now = visit.start - timedelta(hours=4)
    reminder.calls = 1
    assert next_call_at(reminder, visit, now) == now + timedelta(hours=1)
    # An hour later it would be in quiet hours: it waits for their end.
    local = timezone.localtime(now + timedelta(hours=1)).replace(second=0, microsecond=0)
    quiet_start, quiet_end = local - timedelta(minutes=30), local + timedelta(minutes=30)
    settings.QUIET_HOURS = (quiet_start.time(), quiet_end.time())
    assert next_call_at(reminder, visit, now) == quiet_end
    settings.QUIET_HOURS = None
    # Less than two hours before the visit: no call, the reminder goes in writing.
    assert next_call_at(reminder, visit, visit.start - timedelta(hours=2, minutes=30)) is None
    reminder.calls = 2  # REMINDER_CALL_ATTEMPTS
    assert next_call_at(reminder, visit, now) is None


def test_the_next_call_waits_while_one_is_still_going_on(livekit, settings):
    settings.REMINDER_CALLS_AT_ONCE = 5
    reminder = due_reminder(patient__contact_preference="call")
    outbound.place_reminder_call(reminder.appointment_id)
    with pytest.raises(outbound.LinesBusy, match="still going on"):
        outbound.place_reminder_call(reminder.appointment_id)
    assert len(livekit.agent_dispatch.requests) == 1


def test_a_reminder_left_calling_by_a_job_that_died_carries_on_as_a_failed_call(livekit, twilio):
    reminder = due_reminder(patient__contact_preference="call")
    assert notification_deliver(reminder.pk) == Status.CALLING
    # The job died without saying how the call ended; the sweep waits out the longest call first.
    assert worker_sweep()["silent reminder calls"] == 0
    long_ago = timezone.now() - timedelta(seconds=outbound.longest_call_seconds() + 1)
    Notification.objects.filter(pk=reminder.pk).update(updated_at=long_ago)
    Call.objects.filter(appointment_id=reminder.appointment_id).update(started_at=long_ago)
    assert worker_sweep()["silent reminder calls"] == 1
    call = Call.objects.get(appointment_id=reminder.appointment_id)
    assert call.outcome == Call.Outcome.FAILED and call.ended_at is not None
    reminder.refresh_from_db()
    assert reminder.status == Status.PENDING
    assert reminder.detail.startswith("Reminder call 1 of 2: failed; calling again ")
