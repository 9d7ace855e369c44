"""Placing reminder calls: LiveKit's API replaced by a recorder (FakeSip and a dispatch recorder).

The database, Redis (the lines) and the Call records are real.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from livekit import api

from scheduling.models import Appointment
from tests.factories import AppointmentFactory, PatientFactory
from voiceagent import outbound
from voiceagent.models import Call
from voiceagent.outbound import LinesBusy, NotCalling, ReminderJob

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def visit(db):
    patient = PatientFactory(full_name="Imran Qureshi", phone="+923001234567")
    return AppointmentFactory(patient=patient, start=timezone.now() + timedelta(days=1))


def visits(n: int) -> list[Appointment]:
    return [AppointmentFactory(start=timezone.now() + timedelta(days=1, hours=i)) for i in range(n)]


def test_a_reminder_call_is_dispatched_with_ids_only_and_dials_the_patient_on_the_outbound_trunk(outbound_livekit, visit):
    outbound.place_reminder_call(visit.pk)
    [request] = outbound_livekit.agent_dispatch.requests
    assert request.agent_name == "clinic-receptionist" and request.room.startswith(f"reminder-{visit.pk}-")
    call = Call.objects.get(room=request.room)
    assert (call.direction, call.outcome, call.appointment_id, call.patient_id, call.caller_phone) == (
        Call.Direction.OUTBOUND, Call.Outcome.IN_PROGRESS, visit.pk, visit.patient_id, "+923001234567")
    # Dispatch metadata passes through LiveKit: ids, never the number, name or time.
    assert json.loads(request.metadata) == {"purpose": "reminder", "appointment_id": visit.pk, "call_id": call.pk,
                                            "trunk_id": "ST_out_1"}
    assert "3001234567" not in request.metadata and "Imran" not in request.metadata
    job = ReminderJob.from_metadata(request.metadata)
    dial = outbound.dial_request(job, room=request.room, number=call.caller_phone)
    assert (dial.sip_trunk_id, dial.sip_call_to, dial.room_name) == ("ST_out_1", "+923001234567", request.room)
    assert dial.wait_until_answered and dial.ringing_timeout.seconds == outbound.RING_SECONDS


@pytest.mark.parametrize("raw", ["", "{}", "not json", '{"purpose": "reminder", "appointment_id": "1; DROP", '
                                 '"call_id": 2, "trunk_id": "ST"}', '["reminder"]',
                                 '{"purpose": "reminder", "appointment_id": 1, "call_id": 2, "trunk_id": ""}'])
def test_metadata_that_is_not_a_reminder_job_is_an_ordinary_call(raw):
    assert ReminderJob.from_metadata(raw) is None


def test_no_more_lines_than_allowed_even_in_a_burst(outbound_livekit):
    targets = visits(5)

    async def burst():
        return await asyncio.gather(*(outbound.aplace_reminder_call(a.pk) for a in targets), return_exceptions=True)

    results = asyncio.run(burst())
    assert sum(r is None for r in results) == 2
    assert all(isinstance(r, LinesBusy) for r in results if r is not None)
    assert Call.objects.filter(direction=Call.Direction.OUTBOUND).count() == 2
    # A call that ends frees its line for the next.
    asyncio.run(outbound.free_line(outbound_livekit.agent_dispatch.requests[0].room))
    waiting = next(a for a, r in zip(targets, results) if r is not None)
    outbound.place_reminder_call(waiting.pk)
    assert len(outbound_livekit.agent_dispatch.requests) == 3


def _ended(call_room: str) -> None:
    Call.objects.filter(room=call_room).update(outcome=Call.Outcome.NO_ANSWER, ended_at=timezone.now())


def test_attempts_are_limited_per_appointment(outbound_livekit, visit, settings):
    settings.REMINDER_CALLS_AT_ONCE = 10
    outbound.place_reminder_call(visit.pk)
    # Never two at once about one visit: the next waits for the first to end.
    with pytest.raises(LinesBusy, match="still going on"):
        outbound.place_reminder_call(visit.pk)
    _ended(outbound_livekit.agent_dispatch.requests[-1].room)
    outbound.place_reminder_call(visit.pk)
    _ended(outbound_livekit.agent_dispatch.requests[-1].room)
    with pytest.raises(NotCalling, match="has had its 2 reminder calls"):
        outbound.place_reminder_call(visit.pk)
    assert len(outbound_livekit.agent_dispatch.requests) == 2
    # Calls before `since` (the reminder for the visit's earlier time) do not count.
    outbound.place_reminder_call(visit.pk, since=timezone.now())
    assert len(outbound_livekit.agent_dispatch.requests) == 3


@pytest.mark.parametrize("sip_failure, outcome", [
    ((480, "Temporarily Unavailable"), Call.Outcome.NO_ANSWER),
    ((486, "Busy Here"), Call.Outcome.NO_ANSWER),
    ((603, "Decline"), Call.Outcome.NO_ANSWER),
    ((404, "Not Found"), Call.Outcome.FAILED),  # a number that does not exist: no use saying nobody answered
    (None, Call.Outcome.FAILED),  # LiveKit refused without a SIP status (no such trunk)
])
def test_how_a_call_that_did_not_connect_is_recorded(outbound_livekit, visit, sip_failure, outcome):
    outbound_livekit.sip.sip_failure = sip_failure
    outbound_livekit.sip.api_error = sip_failure is None
    outbound.place_reminder_call(visit.pk)
    dispatch = outbound_livekit.agent_dispatch.requests[-1]
    job = ReminderJob.from_metadata(dispatch.metadata)
    heard = []
    outbound.reminder_call_ended.connect(lambda sender, **kw: heard.append(kw), weak=False, dispatch_uid="probe")
    try:
        assert asyncio.run(outbound.dial_patient(outbound_livekit.sip, job, room=dispatch.room)) is None
    finally:
        outbound.reminder_call_ended.disconnect(dispatch_uid="probe")
    call = Call.objects.get(room=dispatch.room)
    assert (call.outcome, call.ended_at is not None) == (outcome, True)
    assert heard == [{"signal": outbound.reminder_call_ended, "appointment_id": visit.pk, "call_id": call.pk,
                      "outcome": outcome}]


@pytest.mark.parametrize("change, reason", [
    ({"status": Appointment.Status.CANCELLED}, "is cancelled or past"),
    ({"confirmed_at": timezone.now()}, "already confirmed"),
    ({"start": timezone.now() - timedelta(hours=1)}, "or past"),
])
def test_no_call_for_a_visit_cancelled_confirmed_or_past(outbound_livekit, visit, change, reason):
    Appointment.objects.filter(pk=visit.pk).update(**change)
    with pytest.raises(NotCalling, match=reason):
        outbound.place_reminder_call(visit.pk)
    assert outbound_livekit.agent_dispatch.requests == [] and not Call.objects.exists()


def test_no_call_without_an_outbound_trunk(outbound_livekit, visit):
    outbound_livekit.sip.outbound.clear()
    with pytest.raises(NotCalling, match="setup_telephony --outbound-number"):
        outbound.place_reminder_call(visit.pk)


def test_a_refused_dispatch_frees_the_line_and_records_a_failed_call(outbound_livekit, visit, settings):
    settings.REMINDER_CALLS_AT_ONCE = 1
    outbound_livekit.agent_dispatch.fail = True
    with pytest.raises(api.TwirpError):
        outbound.place_reminder_call(visit.pk)
    assert Call.objects.get().outcome == Call.Outcome.FAILED
    outbound_livekit.agent_dispatch.fail = False
    outbound.place_reminder_call(visit.pk)  # the one line is free again
