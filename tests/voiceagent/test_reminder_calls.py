"""Reminder calls end to end: placed (fake LiveKit API), dialled, then held through a real AgentSession in
text mode with the scripted model. The database, Redis (lines, live calls) and the tools are real.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from scheduling.models import Appointment
from tests.voiceagent.conftest import CALLER
from tests.voiceagent.scripted import call, first_appointment, first_slot, say
from tests.when import local_dt
from voiceagent import outbound
from voiceagent.models import Call

pytestmark = pytest.mark.django_db(transaction=True)

IMRAN = {"full_name": "Imran Qureshi", "date_of_birth": "1980-05-03"}


def outputs(result) -> list[str]:
    return [e.item.output for e in result.events if e.type == "function_call_output"]


async def ring(outbound_livekit, appointment) -> tuple[outbound.ReminderJob, str, outbound.Reminder | None]:
    """What the queue and then the job do: place the call, read the dispatch, dial the patient."""
    await outbound.aplace_reminder_call(appointment.pk)
    dispatch = outbound_livekit.agent_dispatch.requests[-1]
    job = outbound.ReminderJob.from_metadata(dispatch.metadata)
    return job, dispatch.room, await outbound.dial_patient(outbound_livekit.sip, job, room=dispatch.room)


async def line_is_free(settings) -> bool:
    """With one line allowed, a line can be taken only if the call gave its back."""
    settings.REMINDER_CALLS_AT_ONCE = 1
    taken = await outbound.take_line("probe")
    await outbound.free_line("probe")
    return taken


async def test_the_patient_confirms_after_the_identity_check(outbound_livekit, conversation, clinic, booked, settings):
    script = [
        call("confirm_appointment"),  # a model in a hurry: refused until the patient is identified
        say("I first need the patient's full name and date of birth."),
        call("identify_patient", **IMRAN),
        say("Thank you. Your appointment is on Monday at 11 with Dr Ayesha Khan. Will you come?"),
        call("confirm_appointment"),
        say("Thank you, see you then. Goodbye."),
    ]
    job, room, reminder = await ring(outbound_livekit, booked)
    [dial] = outbound_livekit.sip.dialled
    assert (dial.sip_trunk_id, dial.sip_call_to, dial.room_name) == ("ST_out_1", CALLER, room)
    async with conversation(script, caller_id=reminder.phone, room=room, reminder=reminder) as convo:
        greeting = convo.agent_lines()[0]
        assert "Sunrise Family Clinic calling about an upcoming appointment" in greeting
        assert "patient's full name and date of birth" in greeting
        # Whoever answers hears no name, provider or time before the identity check.
        assert not any(word in " ".join(convo.agent_lines()) for word in ("Imran", "Khan", "11"))
        result = await convo.say("Yes, who is this?")
        assert "not identified" in outputs(result)[0]
        assert (await Appointment.objects.aget(pk=booked.pk)).confirmed_at is None
        result = await convo.say("Imran Qureshi, 3rd of May 1980")
        visit = outputs(result)[0]
        assert "This call is about appt-1:" in visit and "with Dr Ayesha Khan" in visit
        assert "«Thank you. We're calling to remind you of your appointment " in visit
        result = await convo.say("Yes, I'll be there")
        assert outputs(result)[0].startswith("Confirmed: ")
    confirmed = await Appointment.objects.aget(pk=booked.pk)
    assert confirmed.confirmed_at is not None and confirmed.start == local_dt(confirmed.start.date(), 11)
    record = await Call.objects.aget(room=room)
    assert (record.direction, record.outcome, record.appointment_id, record.patient_id) == (
        Call.Direction.OUTBOUND, Call.Outcome.CONFIRMED, booked.pk, booked.patient_id)
    assert record.ended_at is not None
    assert await line_is_free(settings)


async def test_the_patient_moves_it_only_once_identified(outbound_livekit, conversation, clinic, booked, monday):
    script = [
        call("identify_patient", full_name="Imran Qureshi", date_of_birth="1980-05-04"),
        say("Those details don't match. Could you check the date of birth?"),
        call("identify_patient", **IMRAN),
        say("Thank you. Will you come on Monday at 11?"),
        call("find_free_times", provider="Dr Khan", day=monday.isoformat(), time="15:00"),
        say("3 in the afternoon is free."),
        call("reschedule_appointment", appointment_id=first_appointment, slot_id=first_slot, confirmed=False),
        say("Shall I move it?"),
        call("reschedule_appointment", appointment_id="appt-1", slot_id=first_slot, confirmed=True),
        say("Moved. Goodbye."),
    ]
    job, room, reminder = await ring(outbound_livekit, booked)
    async with conversation(script, caller_id=reminder.phone, room=room, reminder=reminder) as convo:
        result = await convo.say("Imran Qureshi, 4th of May 1980")
        refused = outputs(result)[0]
        assert "do not match" in refused and "11" not in refused and "Khan" not in refused
        await convo.say("Sorry, 3rd of May 1980")
        result = await convo.say("I can't make it, can we do Monday at 3?")
        assert "slot-2" in outputs(result)[0]
        await convo.say("Yes please")
        result = await convo.say("Yes")
        assert outputs(result)[0].startswith("Moved: ")
    moved = await Appointment.objects.aget(pk=booked.pk)
    assert moved.start == local_dt(monday, 15) and moved.status == Appointment.Status.RESCHEDULED
    assert moved.confirmed_at is None
    assert (await Call.objects.aget(room=room)).outcome == Call.Outcome.RESCHEDULED


async def test_the_patient_cancels(outbound_livekit, conversation, clinic, booked):
    script = [
        call("identify_patient", **IMRAN),
        say("Will you come on Monday?"),
        call("cancel_appointment", appointment_id="appt-1", confirmed=False),
        say("Shall I cancel it?"),
        call("cancel_appointment", appointment_id="appt-1", confirmed=True),
        say("Cancelled. Goodbye."),
    ]
    job, room, reminder = await ring(outbound_livekit, booked)
    async with conversation(script, caller_id=reminder.phone, room=room, reminder=reminder) as convo:
        await convo.say("Imran Qureshi, 3 May 1980")
        result = await convo.say("No, please cancel it")
        assert "«That's your appointment " in outputs(result)[0]
        assert (await Appointment.objects.aget(pk=booked.pk)).status == Appointment.Status.BOOKED
        await convo.say("Yes")
    assert (await Appointment.objects.aget(pk=booked.pk)).status == Appointment.Status.CANCELLED
    assert (await Call.objects.aget(room=room)).outcome == Call.Outcome.CANCELLED


async def test_voicemail_gets_a_short_message_without_details_and_the_call_ends(
        outbound_livekit, conversation, clinic, booked, settings):
    script = [call("voicemail_reached")]
    job, room, reminder = await ring(outbound_livekit, booked)
    async with conversation(script, caller_id=reminder.phone, room=room, reminder=reminder) as convo:
        await convo.say("You have reached the voicemail of 0300 1234567. Please leave a message after the tone.")
        await convo.run.closed.wait()
        message = convo.agent_lines()[-1]
    assert message == ("Hello, this is Sunrise Family Clinic with a message for one of our patients. Please call "
                       "us back on 0 4 2, 3 5 7, 6 1 2, 3 4. Thank you, goodbye.")
    record = await Call.objects.aget(room=room)
    assert (record.outcome, record.patient_id) == (Call.Outcome.VOICEMAIL, booked.patient_id)
    assert await line_is_free(settings)


async def test_no_answer_is_recorded_and_frees_the_line(outbound_livekit, clinic, booked, settings):
    outbound_livekit.sip.unanswered = True
    job, room, reminder = await ring(outbound_livekit, booked)
    assert reminder is None
    record = await Call.objects.aget(room=room)
    assert (record.direction, record.outcome) == (Call.Direction.OUTBOUND, Call.Outcome.NO_ANSWER)
    assert record.ended_at is not None
    assert await line_is_free(settings)
    assert (await Appointment.objects.aget(pk=booked.pk)).confirmed_at is None


async def test_a_visit_cancelled_before_the_phone_rings_is_not_rung(outbound_livekit, clinic, booked):
    await outbound.aplace_reminder_call(booked.pk)
    dispatch = outbound_livekit.agent_dispatch.requests[-1]
    await Appointment.objects.filter(pk=booked.pk).aupdate(status=Appointment.Status.CANCELLED)
    job = outbound.ReminderJob.from_metadata(dispatch.metadata)
    assert await outbound.dial_patient(outbound_livekit.sip, job, room=dispatch.room) is None
    assert outbound_livekit.sip.dialled == [] and not await Call.objects.filter(room=dispatch.room).aexists()


async def test_someone_else_on_the_line_hears_nothing_about_the_visit(outbound_livekit, conversation, clinic, booked):
    from patients.models import Patient

    await Patient.objects.acreate(full_name="Sara Qureshi", phone=CALLER, date_of_birth=date(1985, 1, 1))
    script = [call("identify_patient", full_name="Sara Qureshi", date_of_birth="1985-01-01"),
              say("Thank you Sara."), call("confirm_appointment"), say("Sorry.")]
    job, room, reminder = await ring(outbound_livekit, booked)
    async with conversation(script, caller_id=reminder.phone, room=room, reminder=reminder) as convo:
        result = await convo.say("Sara Qureshi, 1st of January 1985")
        assert "This call is about" not in outputs(result)[0]
        result = await convo.say("Can I confirm it for him?")
        assert "no appointment to confirm on this call for this patient" in outputs(result)[0]
    assert (await Appointment.objects.aget(pk=booked.pk)).confirmed_at is None


async def test_voicemail_then_the_call_after_the_wait_is_answered_and_confirmed(
        outbound_livekit, conversation, clinic, booked, settings):
    """The queue places the call; the job's end of it tells the queue how it went (reminder_call_ended)."""
    from asgiref.sync import sync_to_async
    from django.utils import timezone

    from notifications.models import Notification
    from notifications.services import notification_deliver, notifications_for_change
    from patients.models import Patient

    settings.LIVEKIT_URL, settings.QUIET_HOURS, settings.REMINDER_CALL_RETRY_MINUTES = "wss://lk.invalid", None, 45
    deliver = sync_to_async(notification_deliver)
    await Patient.objects.filter(pk=booked.patient_id).aupdate(contact_preference=Patient.ContactPreference.CALL)
    [reminder] = await sync_to_async(notifications_for_change)(appointment=booked, action="status")
    assert await deliver(reminder.pk) == Notification.Status.CALLING
    room, answered = await _dialled(outbound_livekit)
    async with conversation([call("voicemail_reached")], caller_id=answered.phone, room=room,
                            reminder=answered) as convo:
        await convo.say("You have reached 0300 1234567. Please leave a message after the tone.")
        await convo.run.closed.wait()
    await reminder.arefresh_from_db()
    assert reminder.status == Notification.Status.PENDING
    assert reminder.due_at - timezone.now() > timedelta(minutes=44)
    assert reminder.detail.startswith("Reminder call 1 of 2: voicemail; calling again ")

    # The wait is over: the worker runs the task queued for then.
    assert await deliver(reminder.pk) == Notification.Status.CALLING
    assert len(outbound_livekit.agent_dispatch.requests) == 2
    script = [call("identify_patient", **IMRAN), say("Will you come on Monday at 11?"),
              call("confirm_appointment"), say("Thank you, goodbye.")]
    room, answered = await _dialled(outbound_livekit)
    async with conversation(script, caller_id=answered.phone, room=room, reminder=answered) as convo:
        await convo.say("Imran Qureshi, 3rd of May 1980")
        result = await convo.say("Yes, I'll come")
        assert outputs(result)[0].startswith("Confirmed: ")
    await reminder.arefresh_from_db()
    assert (reminder.status, reminder.calls, reminder.detail) == (
        Notification.Status.SENT, 2, "Reminder call 2 of 2 answered (confirmed)")
    assert (await Appointment.objects.aget(pk=booked.pk)).confirmed_at is not None
    outcomes = [c.outcome async for c in Call.objects.filter(appointment_id=booked.pk).order_by("started_at")]
    assert outcomes == [Call.Outcome.VOICEMAIL, Call.Outcome.CONFIRMED]


async def _dialled(outbound_livekit):
    """The job's side of the last call the queue placed: read the dispatch, dial the patient."""
    dispatch = outbound_livekit.agent_dispatch.requests[-1]
    job = outbound.ReminderJob.from_metadata(dispatch.metadata)
    return dispatch.room, await outbound.dial_patient(outbound_livekit.sip, job, room=dispatch.room)
