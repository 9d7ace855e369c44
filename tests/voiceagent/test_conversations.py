"""Whole calls through a real AgentSession in text mode: only the language model is scripted.

Each test checks what a caller and the clinic would notice: what the agent
said, what is in the database, the Call record, and the live-call panel.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from patients.models import Patient
from scheduling.models import Appointment
from tests.factories import AppointmentFactory, ClosureFactory, PatientFactory
from tests.voiceagent.conftest import CALLER
from tests.voiceagent.scripted import call, first_appointment, first_slot, say, second_slot
from tests.when import local_dt
from voiceagent.livecalls import active_calls
from voiceagent.models import Call

pytestmark = pytest.mark.django_db(transaction=True)


def live(room: str) -> dict | None:
    return next((c for c in active_calls() if c["room"] == room), None)


async def test_new_caller_books_an_offered_time(conversation, clinic, dr_khan, monday):
    script = [
        say("Of course. What is the patient's full name?"),
        call("identify_patient", full_name="Bilal Ahmed"),
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
        assert convo.agent_lines()[0] == "Hello, thank you for calling Sunrise Family Clinic. How can I help you today?"
        assert live(room)["caller_phone"] == CALLER

        await convo.say("I'd like an appointment with Dr Khan please.")
        result = await convo.say("Bilal Ahmed")
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
        assert readback.startswith("Not booked yet. Read it back: Bilal Ahmed with Dr Ayesha Khan on")
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
    assert said[0].startswith("Hello, thank you for calling Sunrise Family Clinic")
    assert "Bilal Ahmed" in said and said[-1] == "You're booked. Anything else?"
    assert record.llm_ttft_ms is not None
    assert record.usage["models"][0]["model"] == "scripted"
    assert live(room) is None  # the panel lets go of an ended call
