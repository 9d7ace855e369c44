"""After hours and transfer hours: whole calls in text mode with the clinic's clock moved (time-machine).

Dr Khan works Monday to Friday 9:00-13:00 and 14:00-17:00, so the clinic is
open then and closed in the evening.
"""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from scheduling.models import Appointment
from tests.factories import clinic_profile
from tests.voiceagent.scripted import call, first_slot, say
from tests.voiceagent.test_languages_and_time import Told
from tests.when import local_dt
from voiceagent.models import Call, Callback
from voiceagent.prompts import NO_TRANSFERS

pytestmark = pytest.mark.django_db(transaction=True)


def outputs(result) -> list[str]:
    return [e.item.output for e in result.events if e.type == "function_call_output"]


async def test_after_hours_the_caller_hears_when_we_open_and_can_still_book_but_not_transfer(
        conversation, clinic, dr_khan, monday, transfers):
    told = Told()
    tuesday = monday + timedelta(days=1)
    script = [
        call("transfer_to_staff", reason="wants a person"),
        told.say("I'm sorry, the clinic is closed now. I can take a message."),
        call("identify_patient", full_name="Bilal Ahmed", date_of_birth="1990-02-01"),
        call("find_free_times", provider="Dr Khan", day=tuesday.isoformat(), time_of_day="morning"),
        call("book_appointment", slot_id=first_slot, confirmed=False),
        say("Shall I book Tuesday at 9?"),
        call("book_appointment", slot_id=first_slot, confirmed=True),
        say("Booked."),
    ]
    with time_machine.travel(local_dt(monday, 20), tick=True):
        async with conversation(script) as convo:
            lines = convo.agent_lines()
            assert lines[0] == "Good evening, thank you for calling Sunrise Family Clinic. How can I help you today?"
            assert "Just so you know, the clinic is closed right now and opens again tomorrow, Tuesday the " in lines[1]
            assert lines[1].endswith("at 9 in the morning. I can still book, move or cancel an appointment, or take "
                                     "a message.")
            result = await convo.say("Can I speak to someone?")
            refused = outputs(result)[0]
            assert "«I'm sorry, the clinic is closed now, so no one can take your call." in refused
            assert "I'm transferring you" not in " ".join(convo.agent_lines())
            assert NO_TRANSFERS in told.turns[0]
            await convo.say("OK. Then book me with Dr Khan on Tuesday morning, Bilal Ahmed")
            await convo.say("Yes")
            room = convo.desk.context.room
    assert transfers.dialled == []
    booked = await Appointment.objects.aget()
    assert booked.start == local_dt(tuesday, 9)
    assert (await Call.objects.aget(room=room)).outcome == Call.Outcome.BOOKED


async def test_after_hours_in_urdu(conversation, clinic, dr_khan, monday):
    from patients.models import Patient
    from tests.voiceagent.conftest import CALLER

    patient = await Patient.objects.acreate(full_name="Nasreen Akhtar", phone=CALLER)
    await Call.objects.acreate(room="call-before", caller_phone=CALLER, patient=patient, language="ur", turns=3,
                               started_at=local_dt(monday - timedelta(days=30), 10), outcome=Call.Outcome.BOOKED)
    with time_machine.travel(local_dt(monday, 21), tick=True):
        async with conversation([]) as convo:
            assert convo.agent_lines()[1].startswith("آپ کی اطلاع کے لیے، کلینک اس وقت بند ہے اور کل، منگل")


async def test_open_hours_say_nothing_extra_and_transfers_follow_the_profiles_transfer_hours(
        conversation, clinic, dr_khan, monday, transfers):
    from asgiref.sync import sync_to_async

    await sync_to_async(clinic_profile)(transfer_from=time(9), transfer_until=time(12))
    told = Told()
    script = [call("transfer_to_staff", reason="wants a person"), told.say("Sorry, nobody can take it now.")]
    with time_machine.travel(local_dt(monday, 15), tick=True):  # open, but the desk stopped taking transfers at 12
        async with conversation(script) as convo:
            assert len(convo.agent_lines()) == 2  # greeting and the Urdu offer: open now, nothing about hours
            result = await convo.say("Can I speak to someone?")
            assert "«I'm sorry, no one can take calls right now. I can take a message" in outputs(result)[0]
            assert NO_TRANSFERS in told.turns[0]
    assert transfers.dialled == []

    script = [call("transfer_to_staff", reason="wants a person"), say("")]
    with time_machine.travel(local_dt(monday, 10), tick=True):
        async with conversation(script) as convo:
            await convo.say("Can I speak to someone?")
    assert transfers.dialled == ["+923009998887"]


def test_transfer_hours_need_both_ends_in_order(db):
    profile = clinic_profile()
    profile.transfer_from, profile.transfer_until = time(9), None
    with pytest.raises(ValidationError, match="both times"):
        profile.full_clean()
    profile.transfer_from, profile.transfer_until = time(12), time(9)
    with pytest.raises(ValidationError, match="end after they start"):
        profile.full_clean()
    profile.transfer_from, profile.transfer_until = time(9), time(12)
    profile.full_clean()
    assert profile.answers_transfers_at(time(9)) and not profile.answers_transfers_at(time(12))


async def test_a_message_after_hours_is_a_call_back(conversation, clinic, dr_khan, monday):
    script = [call("take_message", message="Please call about my prescription"), say("Done.")]
    with time_machine.travel(local_dt(monday, 20), tick=True):
        async with conversation(script) as convo:
            result = await convo.say("Can you take a message? Please call about my prescription")
            assert "when we open, tomorrow, " in outputs(result)[0]
    assert (await Callback.objects.aget()).message == "Please call about my prescription"
