"""Reminders for patients who prefer a call, and for Pending bookings, are
reminder calls placed through the phone agent's outbound side; LiveKit's API
is the recorder of tests/voiceagent/fake_livekit.py, Redis and the database are real."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Notification
from notifications.services import notification_deliver, notifications_for_change
from scheduling.models import Appointment
from tests.factories import AppointmentFactory
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
    assert notification_deliver(reminder.pk) == Status.SENT
    [request] = livekit.agent_dispatch.requests
    assert request.room.startswith(f"reminder-{reminder.appointment_id}-")
    assert Call.objects.get(room=request.room).direction == Call.Direction.OUTBOUND
    reminder.refresh_from_db()
    assert (reminder.channel, reminder.detail) == ("call", "")
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
    assert notification_deliver(first.pk) == Status.SENT
    assert notification_deliver(second.pk) == "retrying"  # REMINDER_CALLS_AT_ONCE = 1
    second.refresh_from_db()
    assert second.status == Status.PENDING and "reminder lines are in use" in second.detail
    assert notification_deliver(first.pk) == Status.SENT and len(livekit.agent_dispatch.requests) == 1
