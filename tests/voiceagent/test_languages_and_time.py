"""Whole calls in English and Urdu, with the clinic's clock: text mode through a real AgentSession.

Only the language model is scripted; it records what it was told before
each reply (`told`), as a real model would read it. The clock is moved with
time-machine, so that "now" is a Monday morning, lunchtime or evening.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

import pytest
import time_machine

from patients.models import Patient
from scheduling.models import Closure
from tests.voiceagent.conftest import CALLER
from tests.voiceagent.scripted import Seen, call, first_slot, say
from tests.when import local_dt
from voiceagent.context import profile_key, redis_client
from voiceagent.models import Call
from voiceagent.spoken import say_date, say_time

pytestmark = pytest.mark.django_db(transaction=True)

URDU_OFFER = "اردو میں بات کرنے کے لیے، بس اردو میں بولیے۔"


def at(day: date, hh: int, mm: int = 0):
    """The clinic's clock at hh:mm on `day`, ticking from there."""
    return time_machine.travel(local_dt(day, hh, mm), tick=True)


class Told:
    """Script steps that note what the model was told for the turn (its per-turn instructions)."""

    def __init__(self):
        self.turns: list[str] = []

    def say(self, text: str):
        def step(seen: Seen):
            self.turns.append("\n".join(
                i.text_content for i in seen.chat_ctx.items if i.type == "message" and i.role == "system"))
            return say(text)
        return step


def outputs(result) -> list[str]:
    return [e.item.output for e in result.events if e.type == "function_call_output"]


async def stored_profile(phone: str) -> dict:
    client = redis_client()
    try:
        return json.loads(await client.get(profile_key(phone)))
    finally:
        await client.aclose()


async def test_an_urdu_caller_is_answered_in_urdu_and_the_model_is_told_so(conversation, clinic, dr_khan, monday):
    told = Told()
    script = [
        told.say("جی بالکل، کس دن آنا چاہیں گے؟"),
        call("identify_patient", full_name="Bilal Ahmed", date_of_birth="1990-02-01"),
        call("find_free_times", provider="Dr Khan", day=(monday + timedelta(days=1)).isoformat(),
             time_of_day="morning"),
        call("book_appointment", slot_id=first_slot, confirmed=False),
        told.say("بلال احمد کے لیے ڈاکٹر عائشہ خان کے ساتھ کل صبح نو بجے، کیا میں یہ وقت بُک کر دوں؟"),
    ]
    with at(monday, 10, 5):
        async with conversation(script) as convo:
            # A new caller: the greeting for the time of day, then the other language offered in itself.
            assert convo.agent_lines() == [
                "Good morning, thank you for calling Sunrise Family Clinic. How can I help you today?", URDU_OFFER]
            await convo.say("السلام علیکم، مجھے ڈاکٹر خان سے وقت لینا ہے")
            assert "The caller is speaking Urdu: answer in Urdu." in told.turns[0]
            result = await convo.say("میرا نام بلال احمد ہے، کل صبح")
            readback = outputs(result)[-1]
            # The read-back is ours, in Urdu, with the day and time said the Urdu way.
            assert "«Bilal Ahmed کے لیے Dr Ayesha Khan کے ساتھ کل، منگل" in readback
            assert "کو صبح نو بجے، کیا میں یہ وقت بُک کر دوں؟»" in readback
            # The tools still tell the model plain English data.
            assert readback.startswith("Not booked yet (Bilal Ahmed with Dr Ayesha Khan on")
            await (await convo.run.on_silence()).wait_for_playout()
            assert convo.agent_lines()[-1] == "کیا آپ لائن پر ہیں؟"
            room = convo.desk.context.room

    call_record = await Call.objects.aget(room=room)
    assert call_record.language == "ur"
    assert call_record.transcript[2]["text"] == "السلام علیکم، مجھے ڈاکٹر خان سے وقت لینا ہے"
    assert (await stored_profile(CALLER))["language"] == "ur"


async def test_a_caller_switching_language_mid_call_is_followed_both_ways(conversation, clinic, monday):
    told = Told()
    script = [told.say("Of course, how can I help?"), told.say("جی، بتائیے۔"), told.say("Sure, in English then.")]
    with at(monday, 15, 0):
        async with conversation(script) as convo:
            await convo.say("Hello, I'd like to ask about your hours please")
            assert "The caller is speaking English" in told.turns[0]
            await convo.say("معاف کیجیے، کیا ہم اردو میں بات کر سکتے ہیں؟")
            assert "The caller is speaking Urdu" in told.turns[1]
            await (await convo.run.on_silence()).wait_for_playout()
            assert convo.agent_lines()[-1] == "کیا آپ لائن پر ہیں؟"
            # A word that could be either language changes nothing.
            assert convo.desk.context.language == "ur"
            await convo.say("Sorry, actually can we continue in English please?")
            assert "The caller is speaking English" in told.turns[2]
            room = convo.desk.context.room
    assert (await Call.objects.aget(room=room)).language == "en"


async def test_a_short_reply_with_no_language_in_it_keeps_the_language(conversation, clinic, monday):
    told = Told()
    script = [told.say("جی؟"), told.say("جی، ٹھیک ہے۔")]
    with at(monday, 10):
        async with conversation(script) as convo:
            await convo.say("ڈاکٹر صاحب سے ملنا ہے")
            await convo.say("OK")
            assert "The caller is speaking Urdu" in told.turns[1]


async def test_a_returning_callers_language_is_remembered(conversation, clinic, monday):
    patient = await Patient.objects.acreate(full_name="Nasreen Akhtar", phone=CALLER)
    await Call.objects.acreate(room="call-earlier", caller_phone=CALLER, patient=patient, language="ur", turns=4,
                               started_at=local_dt(date(2025, 1, 6), 10), outcome=Call.Outcome.BOOKED)
    with at(monday, 18, 30):
        async with conversation([]) as convo:
            # Greeted in Urdu, by name, for the evening, and not offered English: we know their language.
            assert convo.agent_lines() == [
                "السلام علیکم، شام بخیر Nasreen جی۔ Sunrise Family Clinic میں دوبارہ خوش آمدید۔ میں آپ کی کیا "
                "مدد کر سکتی ہوں؟"]
            assert convo.desk.context.language == "ur"
            room = convo.desk.context.room
    # Nobody spoke in this call: it says nothing about their language, so it is still Urdu.
    assert (await Call.objects.aget(room=room)).language == "ur"
    assert (await stored_profile(CALLER))["language"] == "ur"


async def test_the_emergency_line_is_said_in_urdu_to_an_urdu_caller(conversation, clinic, transfers):
    script = [say("کیا میں آپ کو عملے سے ملا دوں؟")]
    async with conversation(script) as convo:
        await convo.say("میرے والد کے سینے میں درد ہے اور سانس نہیں آ رہی")
        assert convo.agent_lines()[-1] == (
            "اگر یہ ایمرجنسی ہے تو ابھی فون بند کر کے فوراً ایک ایک دو دو پر کال کریں۔ کیا میں آپ کو عملے سے ملا دوں؟")
        assert convo.desk.context.emergency


@pytest.mark.parametrize("hh, mm, closed_today, line", [
    (7, 30, False, "The clinic is closed now; it opens next today, {monday}, at 9 in the morning."),
    (11, 0, False, "The clinic is open now, until 1 in the afternoon today."),
    (13, 20, False, "The clinic is closed now; it opens next today, {monday}, at 2 in the afternoon."),
    (18, 45, False, "The clinic is closed now; it opens next tomorrow, {tuesday}, at 9 in the morning."),
    (11, 0, True, "The clinic is closed now (Eid holiday); it opens next tomorrow, {tuesday}, at 9 in the morning."),
])
async def test_are_you_open_now_before_during_after_hours_and_on_a_closure_day(
        conversation, clinic, dr_khan, monday, hh, mm, closed_today, line):
    if closed_today:
        await Closure.objects.acreate(start_date=monday, end_date=monday, reason="Eid holiday")
    told = Told()
    with at(monday, hh, mm):
        async with conversation([told.say("...")]) as convo:
            await convo.say("Are you open now?")
    names = {"monday": say_date(monday, "en"), "tuesday": say_date(monday + timedelta(days=1), "en")}
    assert line.format(**names) in told.turns[0]
    assert f"It is now {say_time(time(hh, mm), 'en')} on {monday:%A} {monday.day} {monday:%B %Y}" in told.turns[0]
    if closed_today:
        assert "It has no opening hours today." in told.turns[0]
    else:
        assert ("Today's opening hours: 9 in the morning to 1 in the afternoon, and 2 in the afternoon to 5 in "
                "the evening.") in told.turns[0]


async def test_the_clock_in_the_instructions_moves_with_a_long_call(conversation, clinic, dr_khan, monday):
    told = Told()
    with time_machine.travel(local_dt(monday, 12, 55), tick=False) as traveller:
        async with conversation([told.say("Yes."), told.say("Yes.")]) as convo:
            await convo.say("Are you open?")
            traveller.shift(timedelta(minutes=10))
            await convo.say("And now?")
    assert "It is now 12:55 in the afternoon" in told.turns[0] and "open now, until 1 in the afternoon" in told.turns[0]
    assert "It is now 1:05 in the afternoon" in told.turns[1] and "closed now; it opens next today" in told.turns[1]


async def test_this_afternoon_offers_no_time_already_past(conversation, clinic, dr_khan, monday):
    script = [call("find_free_times", provider="Dr Khan", day=monday.isoformat(), time_of_day="afternoon"),
              say("I have some times this afternoon.")]
    with at(monday, 14, 40):
        async with conversation(script) as convo:
            await convo.say("Can I come this afternoon?")
            offered = [datetime.fromisoformat(slot["start"]) for slot in convo.desk.context.offered.values()]
    assert offered and all(start > local_dt(monday, 14, 40) for start in offered)
    assert all(start.date() == monday for start in offered[:2])


async def test_details_are_corrected_only_after_identification_read_back_and_yes(conversation, clinic, booked):
    script = [
        call("correct_name_spelling", full_name="Imraan Qureshi", confirmed=True),
        call("change_phone_number", phone="0321 7654321", confirmed=True),
        say("I need to confirm who you are first."),
        call("identify_patient", full_name="Imran Qureshi", date_of_birth="1980-05-03"),
        call("correct_name_spelling", full_name="Imraan  Qureshi", confirmed=True),  # no read-back yet
        say("So that's I-M-R-A-A-N Q-U-R-E-S-H-I. Is that right?"),
        call("correct_name_spelling", full_name="Imraan Qureshi", confirmed=True),
        say("Done. Anything else?"),
        call("change_phone_number", phone="0321 7654321", confirmed=False),
        call("change_phone_number", phone="0321 7654321", confirmed=True),  # in the same turn: not a yes
        say("Your new number would be 0 3 2 1, 7 6 5, 4 3 2 1. Is that right?"),
        call("change_phone_number", phone="0321 7654321", confirmed=True),
        say("Your number is changed."),
    ]
    async with conversation(script) as convo:
        result = await convo.say("My name is spelt wrong and I have a new number")
        refusals = outputs(result)
        assert len(refusals) == 2 and all("not identified" in text for text in refusals)
        result = await convo.say("Imran Qureshi, born 3 May 1980, and it's Imraan with two a's")
        readback = outputs(result)[-1]
        assert "«I'll correct the name to Imraan Qureshi, spelt I-M-R-A-A-N Q-U-R-E-S-H-I. Is that right?»" in readback
        assert await Patient.objects.filter(full_name="Imran Qureshi").aexists()
        await convo.say("Yes")
        result = await convo.say("And my new number is 0321 7654321")
        assert "Wait for their yes" in outputs(result)[-1]
        assert (await Patient.objects.aget(pk=booked.patient_id)).phone == CALLER
        await convo.say("Yes, that's right")
        room = convo.desk.context.room

    patient = await Patient.objects.aget(pk=booked.patient_id)
    assert (patient.full_name, patient.phone) == ("Imraan Qureshi", "+923217654321")
    assert patient.date_of_birth == date(1980, 5, 3)  # nothing else touched
    record = await Call.objects.aget(room=room)
    assert record.caller_name == "Imraan Qureshi"
    # The caller profile follows: the new number knows the patient by the corrected name.
    assert (await stored_profile("+923217654321"))["name"] == "Imraan Qureshi"


@pytest.mark.parametrize("bad, says", [
    ("Ali\u202e Raza", "invisible or control characters"),
    ("Ali\x00 Raza", "invisible or control characters"),
    ("Ali\u200b Raza", "invisible or control characters"),
    ("A" * 10_000, "too long"),
    ("  ", "full name"),
])
async def test_a_hostile_name_correction_is_refused_and_changes_nothing(conversation, clinic, booked, bad, says):
    script = [
        call("identify_patient", full_name="Imran Qureshi", date_of_birth="1980-05-03"),
        call("correct_name_spelling", full_name=bad, confirmed=False),
        say("Sorry, could you spell it again?"),
    ]
    async with conversation(script) as convo:
        result = await convo.say("Imran Qureshi, 3 May 1980, please fix my name")
        assert says in outputs(result)[-1]
    assert (await Patient.objects.aget(pk=booked.patient_id)).full_name == "Imran Qureshi"


async def test_a_new_number_that_is_not_a_number_or_taken_is_refused(conversation, clinic, booked):
    await Patient.objects.acreate(full_name="Imran Qureshi", phone="+923217654321")  # same name on that number
    script = [
        call("identify_patient", full_name="Imran Qureshi", date_of_birth="1980-05-03"),
        call("change_phone_number", phone="call me maybe", confirmed=False),
        call("change_phone_number", phone="0321 7654321", confirmed=False),
        say("Shall I change it?"),
        call("change_phone_number", phone="0321 7654321", confirmed=True),
        say("Sorry, that didn't work."),
    ]
    async with conversation(script) as convo:
        result = await convo.say("Imran Qureshi, 3 May 1980, new number please")
        assert "not a phone number we can dial" in outputs(result)[1]
        assert "«I'll change the phone number to 0 3 2 1, 7 6 5, 4 3 2 1. Is that right?»" in outputs(result)[2]
        result = await convo.say("Yes")
        assert "already exists" in outputs(result)[0]
    assert (await Patient.objects.aget(pk=booked.patient_id)).phone == CALLER
