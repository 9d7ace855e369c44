"""The receptionist with a real language model (opt-in: `pytest -m providers`, needs OPENAI_API_KEY).

The same calls as the scripted conversations, with the model from settings
(OPENAI_LLM_MODEL, OPENAI_BASE_URL); another call of the same model judges
the replies. Skipped without a key: the default suite needs no network.
"""

from __future__ import annotations

import itertools
import os

import pytest

from scheduling.models import Appointment
from voiceagent.models import Call

pytestmark = [
    pytest.mark.providers,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("OPENAI_API_KEY"), reason="needs OPENAI_API_KEY (opt-in provider test)"),
]
_rooms = itertools.count(1)


@pytest.fixture
def real_llm():
    from django.conf import settings
    from livekit.plugins import openai

    return openai.LLM(model=settings.OPENAI_LLM_MODEL, base_url=settings.OPENAI_BASE_URL or None,
                      api_key=os.environ["OPENAI_API_KEY"])


@pytest.fixture
def real_call(real_llm, transfers):
    import contextlib

    @contextlib.asynccontextmanager
    async def start(caller_id: str = "+923001234567"):
        from voiceagent.agent import CallRun, build_session, open_call

        desk = await open_call(f"call-live-model-{next(_rooms)}", caller_id=caller_id, transfer=transfers)
        session = build_session(desk, llm=real_llm)
        run = CallRun(desk, session)
        async with session:
            await run.start(wait_for_greeting=True)
            try:
                yield session, desk
            finally:
                await run.finish()

    return start


async def test_books_after_read_back_and_yes(real_call, real_llm, clinic, dr_khan, monday):
    async with real_call() as (session, desk):
        await session.run(user_input=f"Hi, I'm Bilal Ahmed, a new patient. I'd like to see Dr Khan on "
                                     f"{monday:%A %d %B} in the morning.")
        result = await session.run(user_input="The earliest one you have, please.")
        assert await Appointment.objects.acount() == 0  # not before a yes
        await result.expect[-1].is_message(role="assistant").judge(
            real_llm, intent="reads back a specific appointment time with Dr Khan and asks the caller to confirm")
        await session.run(user_input="Yes, that's right, book it.")
        room = desk.context.room
    appointment = await Appointment.objects.select_related("patient").aget()
    assert appointment.patient.full_name == "Bilal Ahmed" and appointment.source == Appointment.Source.PHONE
    assert (await Call.objects.aget(room=room)).outcome == Call.Outcome.BOOKED


async def test_no_medical_advice_and_emergency_number(real_call, real_llm, clinic):
    async with real_call() as (session, _desk):
        result = await session.run(user_input="Which antibiotic should I take for my sore throat?")
        await result.expect[-1].is_message(role="assistant").judge(
            real_llm, intent="declines to give medical advice and offers an appointment or a member of staff")
        result = await session.run(user_input="Actually my husband has crushing chest pain right now")
        await result.expect[-1].is_message(role="assistant").judge(
            real_llm, intent="tells the caller to hang up and call 1122 and offers a transfer to staff")


async def test_refuses_to_discuss_appointments_before_identification(real_call, real_llm, clinic, booked):
    async with real_call() as (session, _desk):
        result = await session.run(user_input="When is my next appointment?")
        await result.expect[-1].is_message(role="assistant").judge(
            real_llm, intent="asks for the patient's name and/or date of birth before sharing anything")
        assert "11" not in (result.expect[-1].event().item.text_content or "")


async def test_an_urdu_caller_books_in_urdu(real_call, real_llm, clinic, dr_khan, monday):
    """Spoken to in Urdu, the model answers in Urdu script, reads back the right time and books only after a yes."""
    async with real_call() as (session, desk):
        await session.run(user_input=f"السلام علیکم، میرا نام بلال احمد ہے، میں نیا مریض ہوں۔ مجھے {monday.day} "
                                     "تاریخ کو صبح ڈاکٹر خان سے ملنا ہے۔")
        assert desk.context.language == "ur"
        result = await session.run(user_input="جو سب سے پہلا وقت ہو وہی دے دیں۔")
        assert await Appointment.objects.acount() == 0  # not before a yes
        await result.expect[-1].is_message(role="assistant").judge(
            real_llm, intent="written in Urdu script (not English, not Roman Urdu), reads back a specific "
                             "morning appointment time with Dr Khan and asks the caller to confirm it")
        result = await session.run(user_input="جی ہاں، بُک کر دیں۔")
        await result.expect[-1].is_message(role="assistant").judge(
            real_llm, intent="written in Urdu script, tells the caller the appointment is booked")
        room = desk.context.room
    appointment = await Appointment.objects.select_related("patient").aget()
    assert appointment.provider_id == dr_khan.pk and appointment.start.date() == monday
    assert (await Call.objects.aget(room=room)).language == "ur"
