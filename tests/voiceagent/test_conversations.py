"""Whole calls through a real AgentSession in text mode: only the language model is scripted.

Each test checks what a caller and the clinic would notice: what the agent
said, what is in the database, the Call record, and the live-call panel.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from patients.models import Patient
from scheduling.models import Appointment
from tests.voiceagent.conftest import CALLER
from tests.voiceagent.scripted import call, first_appointment, first_slot, say, say_and_call, second_slot
from tests.when import local_dt
from voiceagent.livecalls import active_calls
from voiceagent.models import Call

pytestmark = pytest.mark.django_db(transaction=True)


def live(room: str) -> dict | None:
    return next((c for c in active_calls() if c["room"] == room), None)


async def test_new_caller_books_an_offered_time(conversation, clinic, dr_khan, monday):
    script = [
        say("Of course. What is the patient's full name?"),
        call("identify_patient", full_name="Bilal Ahmed", date_of_birth="1990-02-01"),
        say("Thank you, Bilal. Which day suits you?"),
        call("find_free_times", provider="Dr Khan", day=monday.isoformat(), time_of_day="morning"),
        say("Dr Khan has 9:00 or 9:30 on Monday morning."),
        call("book_appointment", slot_id=second_slot, confirmed=False),
        say("That's Bilal Ahmed with Dr Ayesha Khan on Monday at 9:30. Shall I book it?"),
        call("book_appointment", slot_id=second_slot, confirmed=True),
        say("You're booked. Anything else?"),
    ]
    async with conversation(script) as convo:
        room = convo.desk.context.room
        assert convo.agent_lines()[0].endswith(", thank you for calling Sunrise Family Clinic. How can I help you today?")
        assert live(room)["caller_phone"] == CALLER

        await convo.say("I'd like an appointment with Dr Khan please.")
        result = await convo.say("Bilal Ahmed, born 1st February 1990")
        result.expect.next_event().is_function_call(name="identify_patient")
        result.expect.next_event().is_function_call_output(is_error=False)
        assert await Patient.objects.acount() == 0  # nobody is created for a caller who may hang up

        result = await convo.say("Monday morning")
        result.expect.next_event().is_function_call(name="find_free_times")
        output = result.expect.next_event().is_function_call_output().event().item.output
        assert "slot-1" in output and "slot-2" in output
        assert live(room)["stage"] == "choosing_slot"
        assert live(room)["provider"] == "Dr Ayesha Khan"

        result = await convo.say("9:30 please")
        result.expect.next_event().is_function_call(name="book_appointment", arguments={"confirmed": False})
        readback = result.expect.next_event().is_function_call_output(is_error=False).event().item.output
        assert readback.startswith("Not booked yet (Bilal Ahmed with Dr Ayesha Khan on")
        assert "«That's Bilal Ahmed with Dr Ayesha Khan, " in readback
        assert await Appointment.objects.acount() == 0  # nothing written before the caller's yes
        assert live(room)["stage"] == "booking"

        result = await convo.say("Yes, book it")
        result.expect.next_event().is_function_call(name="book_appointment", arguments={"confirmed": True})
        result.expect.next_event().is_function_call_output(is_error=False)
        state = live(room)
        assert state["stage"] == "wrapping_up"
        assert state["caller_name"] == "Bilal Ahmed"

    appointment = await Appointment.objects.select_related("patient", "provider").aget()
    assert appointment.patient.full_name == "Bilal Ahmed"
    assert appointment.patient.phone == CALLER
    assert appointment.provider == dr_khan
    assert appointment.source == Appointment.Source.PHONE
    offered_second = appointment.start  # the second morning time offered
    assert offered_second.date() == monday and offered_second.hour < 12
    assert datetime.fromisoformat(state["requested_slot"]) == offered_second

    record = await Call.objects.aget(room=room)
    assert record.outcome == Call.Outcome.BOOKED
    assert record.appointment_id == appointment.pk
    assert record.patient_id == appointment.patient_id
    assert record.caller_phone == CALLER
    assert record.ended_at is not None
    assert record.turns == 5
    said = [line["text"] for line in record.transcript]
    assert said[0].endswith("thank you for calling Sunrise Family Clinic. How can I help you today?")
    assert "Bilal Ahmed, born 1st February 1990" in said and said[-1] == "You're booked. Anything else?"
    assert record.llm_ttft_ms is not None
    assert record.usage["models"][0]["model"] == "scripted"
    assert live(room) is None  # the panel lets go of an ended call


def outputs(result) -> list[str]:
    return [e.item.output for e in result.events if e.type == "function_call_output"]


async def test_an_off_grid_time_asked_for_is_answered_with_grid_times_and_only_those_book(
        conversation, clinic, dr_khan, monday):
    script = [
        call("identify_patient", full_name="Sana Iqbal", date_of_birth="1992-02-02"),
        say("Thanks Sana. When would you like to come?"),
        call("find_free_times", provider="Khan", day=monday.isoformat(), time="10:07"),
        say("10:07 isn't a time Dr Khan sees patients at; I have 10:00 or 10:30."),
        call("book_appointment", slot_id="10:07", confirmed=False),  # a model inventing the asked-for time
        call("book_appointment", slot_id=first_slot, confirmed=False),
        say("That's 10:00 on Monday with Dr Khan. Shall I book it?"),
        call("book_appointment", slot_id=first_slot, confirmed=True),
        say("Booked."),
    ]
    async with conversation(script) as convo:
        await convo.say("Book me with Dr Khan, my name is Sana Iqbal, born 2nd February 1992")
        result = await convo.say("Monday at 10:07 exactly")
        offer = outputs(result)[0]
        assert offer.startswith("10:07 is not on Dr Ayesha Khan's 30-minute grid; the nearest times are 10:00 and 10:30.")
        assert re.findall(r"at (\d+:\d\d) with", offer)[:2] == ["10:00", "10:30"] and "10:07 with" not in offer
        result = await convo.say("Fine, ten o'clock then")
        refused, readback = outputs(result)
        assert '"10:07" is not a time offered on this call' in refused
        assert readback.startswith("Not booked yet (Sana Iqbal with Dr Ayesha Khan on")
        await convo.say("Yes")
    appointment = await Appointment.objects.aget()
    assert appointment.start == local_dt(monday, 10)


async def test_slot_taken_meanwhile_alternatives_offered_and_picked(conversation, clinic, dr_khan, monday):
    script = [
        call("identify_patient", full_name="Sana Iqbal", date_of_birth="1992-02-02"),
        say("Thanks Sana. When would you like to come?"),
        call("find_free_times", provider="Khan", day=monday.isoformat(), time="10:00"),
        call("book_appointment", slot_id=first_slot, confirmed=False),
        say("10:00 on Monday is free. Shall I book it?"),
        call("book_appointment", slot_id=first_slot, confirmed=True),
        say("Sorry, that time has just gone. I can offer 10:30 instead."),
        call("book_appointment", slot_id=first_slot, confirmed=False),  # first of the new offer
        say("That's 10:30 on Monday with Dr Khan. Shall I book it?"),
        call("book_appointment", slot_id=lambda seen: seen.ids("slot")[0], confirmed=True),
        say("Booked."),
    ]
    async with conversation(script) as convo:
        await convo.say("Book me with Dr Khan, my name is Sana Iqbal, born 2nd February 1992")
        result = await convo.say("Monday at ten")
        assert outputs(result)[0].startswith("That time is free.")
        # A receptionist books the same time from the dashboard meanwhile.
        other = await Appointment.objects.acreate(
            patient=await Patient.objects.acreate(full_name="Someone Else", phone="+923331112223"),
            provider=dr_khan, start=local_dt(monday, 10), end=local_dt(monday, 10, 30),
        )
        result = await convo.say("Yes please")
        refusal = result.expect.next_event().is_function_call(name="book_appointment")
        refusal = result.expect.next_event().is_function_call_output(is_error=True).event().item.output
        assert "Dr Ayesha Khan is already booked at 10:00" in refusal
        # Alternatives, under new ids the model can book.
        new_ids = re.findall(r"slot-\d+", refusal)
        assert new_ids and not set(new_ids) & {"slot-1", "slot-2", "slot-3", "slot-4"}
        await convo.say("10:30 is fine")
        result = await convo.say("Yes")
        result.expect.next_event().is_function_call(name="book_appointment", arguments={"slot_id": new_ids[0]})
        result.expect.next_event().is_function_call_output(is_error=False)
        room = convo.desk.context.room

    mine = await Appointment.objects.exclude(pk=other.pk).aget()
    assert mine.start != other.start and mine.provider_id == dr_khan.pk
    assert (await Appointment.objects.aget(pk=other.pk)).status == Appointment.Status.BOOKED
    record = await Call.objects.aget(room=room)
    assert (record.outcome, record.appointment_id) == (Call.Outcome.BOOKED, mine.pk)


async def test_past_day_and_closed_day_refused_with_reasons(conversation, clinic, dr_khan, monday):
    from datetime import timedelta

    from django.utils import timezone

    from scheduling.models import Closure

    await Closure.objects.acreate(start_date=monday, end_date=monday, reason="Eid holiday")
    yesterday = timezone.localdate() - timedelta(days=1)
    script = [
        call("find_free_times", provider="Dr Khan", day=yesterday.isoformat(), time="10:00"),
        say("That day has passed. Which day would you like?"),
        call("find_free_times", provider="Dr Khan", day=monday.isoformat()),
        say("We're closed that Monday for Eid. I can offer Tuesday."),
        call("book_appointment", slot_id="slot-99", confirmed=True),
        say("Sorry, let me find a time first."),
    ]
    async with conversation(script) as convo:
        result = await convo.say("Can I come yesterday at ten?")
        result.expect.next_event().is_function_call(name="find_free_times")
        passed = result.expect.next_event().is_function_call_output(is_error=True).event().item.output
        assert "has already passed" in passed
        result = await convo.say("Then Monday")
        closed = outputs(result)[0]
        assert closed.startswith(f"The clinic is closed on {monday:%A} {monday.day}")
        assert "(Eid holiday)" in closed and "slot-1" in closed
        offered = convo.desk.context.offered
        assert all(not slot["start"].startswith(monday.isoformat()) for slot in offered.values())
        result = await convo.say("Just book me something")
        invented = outputs(result)[0]
        assert '"slot-99" is not a time offered on this call' in invented
        room = convo.desk.context.room

    assert await Appointment.objects.acount() == 0
    record = await Call.objects.aget(room=room)
    assert record.outcome == Call.Outcome.INFO and record.appointment_id is None


async def test_returning_caller_is_greeted_by_name(conversation, clinic, dr_khan):
    patient = await Patient.objects.acreate(full_name="Ayesha Siddiqui", phone=CALLER)
    await Call.objects.acreate(room="call-earlier", caller_phone=CALLER, patient=patient,
                               started_at=local_dt(date(2025, 1, 6), 10),
                               outcome=Call.Outcome.BOOKED)
    async with conversation([say("Goodbye!")]) as convo:
        assert convo.agent_lines()[0].endswith(" Ayesha, welcome back to Sunrise Family Clinic. How can I help you today?")
        assert live(convo.desk.context.room)["caller_name"] == "Ayesha Siddiqui"
        await convo.say("Just checking you're open, bye")

    # The profile now counts both calls, from the database; the next call reads it from Redis.
    from voiceagent.context import profile_key, redis_client

    client = redis_client()
    try:
        import json

        profile = json.loads(await client.get(profile_key(CALLER)))
    finally:
        await client.aclose()
    assert (profile["name"], profile["patient_id"], profile["calls"]) == ("Ayesha Siddiqui", patient.pk, 2)
    await Patient.objects.filter(pk=patient.pk).aupdate(full_name="Ayesha S. Siddiqui")  # Redis is the fast path
    async with conversation([]) as convo:
        assert " Ayesha, welcome back" in convo.agent_lines()[0]


async def test_reschedule_after_identification(conversation, clinic, booked, monday):
    from datetime import timedelta

    tuesday = monday + timedelta(days=1)
    script = [
        call("identify_patient", full_name="imran  qureshi", date_of_birth="1980-05-03"),
        call("list_appointments"),
        say("You have an appointment on Monday at 11:00 with Dr Khan. Where would you like to move it?"),
        call("find_free_times", provider="Dr Khan", day=tuesday.isoformat(), time="15:00"),
        call("reschedule_appointment", appointment_id=first_appointment, slot_id=first_slot, confirmed=False),
        say("Tuesday at 15:00 is free. Move it there?"),
        call("reschedule_appointment", appointment_id=first_appointment, slot_id=first_slot, confirmed=True),
        say("Done, it's moved to Tuesday at 15:00."),
    ]
    async with conversation(script) as convo:
        result = await convo.say("I'm Imran Qureshi, born 3rd May 1980, I need to move my appointment")
        assert outputs(result)[0].startswith('Identified the patient "Imran Qureshi". They have 1 upcoming appointment')
        assert "appt-1: " in outputs(result)[1] and "at 11:00 with Dr Ayesha Khan" in outputs(result)[1]
        await convo.say("Tuesday afternoon at three")
        assert live(convo.desk.context.room)["requested_slot"].startswith(f"{tuesday.isoformat()}T15:00")
        await convo.say("Yes")
        room = convo.desk.context.room

    await booked.arefresh_from_db()
    assert booked.start == local_dt(tuesday, 15)
    assert booked.status == Appointment.Status.RESCHEDULED
    record = await Call.objects.aget(room=room)
    assert (record.outcome, record.appointment_id, record.patient_id) == (
        Call.Outcome.RESCHEDULED, booked.pk, booked.patient_id)


async def test_cancel_after_identification(conversation, clinic, booked):
    script = [
        call("identify_patient", full_name="Imran Qureshi", date_of_birth="1980-05-03"),
        call("list_appointments"),
        say("You have Monday at 11:00 with Dr Khan. Cancel that one?"),
        call("cancel_appointment", appointment_id=first_appointment, confirmed=False),
        say("Just to confirm: cancel Monday at 11:00 with Dr Khan?"),
        call("cancel_appointment", appointment_id=first_appointment, confirmed=True),
        say("It's cancelled."),
    ]
    async with conversation(script) as convo:
        await convo.say("Imran Qureshi, 3 May 1980, please cancel my appointment")
        await convo.say("Yes, that one")
        assert (await Appointment.objects.aget(pk=booked.pk)).status == Appointment.Status.BOOKED
        assert live(convo.desk.context.room)["stage"] == "cancelling"
        await convo.say("Yes")
        room = convo.desk.context.room

    await booked.arefresh_from_db()
    assert booked.status == Appointment.Status.CANCELLED
    record = await Call.objects.aget(room=room)
    assert (record.outcome, record.appointment_id) == (Call.Outcome.CANCELLED, booked.pk)


@pytest.mark.parametrize("name, dob", [("Imran Qureshi", "1981-05-03"), ("Kamran Qureshi", "1980-05-03")])
async def test_wrong_name_or_birth_date_discloses_and_changes_nothing(conversation, clinic, booked, name, dob):
    script = [
        call("identify_patient", full_name=name, date_of_birth=dob),
        say("Sorry, I couldn't confirm those details."),
        call("list_appointments"),
        call("cancel_appointment", appointment_id="appt-1", confirmed=True),
        say("I'm afraid I can't discuss appointments until I can confirm who you are."),
    ]
    async with conversation(script) as convo:
        first = await convo.say(f"I'm {name}, born {dob}, what appointments do I have?")
        second = await convo.say("Just cancel whatever I have")
        room = convo.desk.context.room
        said_to_model = outputs(first) + outputs(second)
    for text in said_to_model:
        assert "11:00" not in text and "Khan" not in text and "appt-1:" not in text
    assert "not identified" in said_to_model[1] and "not identified" in said_to_model[2]
    await booked.arefresh_from_db()
    assert booked.status == Appointment.Status.BOOKED
    record = await Call.objects.aget(room=room)
    assert record.outcome == Call.Outcome.INFO and record.appointment_id is None and record.patient_id is None


async def test_transfer_when_asked(conversation, clinic, transfers):
    script = [
        say_and_call("Of course.", "transfer_to_staff", reason="caller asked for a person"),
        say(""),
    ]
    async with conversation(script) as convo:
        result = await convo.say("Can I speak to a real person?")
        result.expect.next_event().is_message(role="assistant")
        result.expect.next_event().is_function_call(name="transfer_to_staff")
        # Our own words, heard in full before the line moves to staff.
        announced = result.expect.next_event().is_message(role="assistant").event().item.text_content
        assert announced == "I'm transferring you to a member of staff now. Please stay on the line."
        result.expect.next_event().is_function_call_output(is_error=False)
        assert live(convo.desk.context.room)["stage"] == "transferring"
        room = convo.desk.context.room
    assert transfers.dialled == ["+923009998887"]
    assert (await Call.objects.aget(room=room)).outcome == Call.Outcome.TRANSFERRED


async def test_failed_transfer_offers_a_message(conversation, clinic, transfers):
    transfers.fail = True
    script = [
        call("transfer_to_staff", reason="billing question"),
        say("I'm sorry, no one could be reached. Can I take a message?"),
        call("take_message", message="Question about my last bill, please call me back"),
        say("I've passed that on; someone will call you back."),
    ]
    async with conversation(script) as convo:
        result = await convo.say("I need to talk to someone about a bill")
        assert "did not go through" in outputs(result)[0] and "take_message" in outputs(result)[0]
        result = await convo.say("Yes, tell them it's about my last bill, please call me back")
        assert "0 3 0 0, 1 2 3, 4 5 6 7" in outputs(result)[0]
        room = convo.desk.context.room
    record = await Call.objects.aget(room=room)
    assert record.outcome == Call.Outcome.INFO
    assert record.message == f"The caller asks to be called back on {CALLER}: Question about my last bill, please call me back"


async def test_emergency_words_get_the_emergency_number_then_a_transfer(conversation, clinic, transfers):
    script = [
        say("Would you like me to put you through to our staff?"),
        call("transfer_to_staff", reason="emergency"),
        say(""),
    ]
    async with conversation(script) as convo:
        await convo.say("My father has chest pain and is sweating")
        assert convo.agent_lines()[-1] == (
            "If this is an emergency, please hang up now and call 1122 straight away. "
            "Would you like me to put you through to our staff?"
        )
        assert convo.desk.context.emergency
        await convo.say("Yes please")
    assert transfers.dialled == ["+923009998887"]


async def test_caller_id_is_used_not_asked(conversation, clinic, dr_khan):
    script = [
        call("identify_patient", full_name="Hina Raza", date_of_birth="1985-07-07"),
        call("find_free_times", provider="anyone"),
        call("book_appointment", slot_id=first_slot, confirmed=False),
        say("That's Hina Raza, first thing Monday. Shall I book it?"),
        call("book_appointment", slot_id=first_slot, confirmed=True),
        say("Booked on the number you're calling from."),
    ]
    async with conversation(script, caller_id="0300 1234567") as convo:
        assert "caller ID shows 0 3 0 0, 1 2 3, 4 5 6 7" in convo.session.current_agent.instructions
        await convo.say("Hina Raza, born 7 July 1985, first free time with anyone")
        await convo.say("Yes, book it")
    patient = await Patient.objects.aget()
    assert patient.phone == CALLER  # normalised from what the SIP trunk sent


async def test_withheld_number_is_asked_and_read_back(conversation, clinic, dr_khan):
    script = [
        call("identify_patient", full_name="Hina Raza"),
        say("Could I have your phone number?"),
        call("set_caller_phone", phone="0321 7654321"),
        say("That's 0 3 2 1, 7 6 5, 4 3 2 1, is that right?"),
        call("identify_patient", full_name="Hina Raza"),
        say("Thanks Hina."),
    ]
    async with conversation(script, caller_id="") as convo:
        assert "withheld" in convo.session.current_agent.instructions
        result = await convo.say("Hi, I'm Hina Raza")
        assert "phone number first" in outputs(result)[0]
        result = await convo.say("0321 7654321")
        assert outputs(result)[0].endswith("0 3 2 1, 7 6 5, 4 3 2 1.")
        await convo.say("Yes that's right")
        assert live(convo.desk.context.room)["caller_phone"] == "+923217654321"
        room = convo.desk.context.room
    assert (await Call.objects.aget(room=room)).caller_phone == "+923217654321"


async def test_end_call_hangs_up_after_goodbye(conversation, clinic):
    script = [call("end_call"), say("Thank you for calling, goodbye!")]
    async with conversation(script) as convo:
        await convo.say("That's all, bye")
        await convo.run.closed.wait()
        assert convo.agent_lines()[-1] == "Thank you for calling, goodbye!"
        room = convo.desk.context.room
    record = await Call.objects.aget(room=room)
    assert record.outcome == Call.Outcome.INFO and record.turns == 1


async def test_silence_prompts_then_hangs_up(conversation, clinic):
    async with conversation([]) as convo:
        for _ in range(3):
            await convo.run.on_silence()
        await convo.run.closed.wait()
        assert convo.agent_lines()[2:] == [
            "Are you still there?",
            "I can't hear anything. If you're still there, please say something.",
            "I haven't heard anything, so I'll end the call now. Please call us again any time. Goodbye.",
        ]
        room = convo.desk.context.room
    assert (await Call.objects.aget(room=room)).outcome == Call.Outcome.ABANDONED


async def test_time_limit_ends_the_call_politely(conversation, clinic):
    async with conversation([], max_seconds=0.3) as convo:
        await convo.run.closed.wait()
        assert convo.agent_lines()[-1].startswith("I'm sorry, we've reached the time limit for this call.")
        room = convo.desk.context.room
    assert (await Call.objects.aget(room=room)).ended_at is not None
