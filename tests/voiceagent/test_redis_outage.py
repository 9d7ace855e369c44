"""Redis goes away in the middle of a call: the caller notices nothing and the booking lands.

The test runs its own redis-server (the product's PrivateRedis) so that it
can stop and restart it without touching the suite's Redis.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

import pytest

from clinic.redis_server import PrivateRedis
from scheduling.models import Appointment
from tests.voiceagent.conftest import CALLER
from tests.voiceagent.scripted import call, first_slot, say
from tests.when import local_dt
from voiceagent import context as context_module
from voiceagent.context import context_read, profile_key, redis_client
from voiceagent.livecalls import active_calls
from voiceagent.models import Call

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def own_redis(settings, monkeypatch):
    server = PrivateRedis(Path(tempfile.mkdtemp(prefix="clinic-outage-")) / "redis.sock").start()
    settings.REDIS_URL = server.url
    # A new dict, so that channels drops its cached layer and connects here.
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [server.url], "prefix": f"{settings.REDIS_KEY_PREFIX}:asgi"},
    }}
    # Retry Redis at once after it comes back, instead of after the usual pause.
    monkeypatch.setattr(context_module, "RETRY_AFTER_SECONDS", 0.05)
    yield server
    server.stop()


async def test_booking_lands_while_redis_is_down_and_state_catches_up(conversation, clinic, dr_khan, monday,
                                                                       own_redis):
    script = [
        call("identify_patient", full_name="Zara Hussain", date_of_birth="1991-03-03"),
        call("find_free_times", provider="Dr Khan", day=monday.isoformat(), time="14:00"),
        call("book_appointment", slot_id=first_slot, confirmed=False),
        say("Monday at 14:00 is free. Shall I book it?"),
        call("book_appointment", slot_id=first_slot, confirmed=True),
        say("You're booked for Monday at 14:00."),
    ]
    async with conversation(script) as convo:
        room = convo.desk.context.room
        await convo.say("Zara Hussain, Monday at two with Dr Khan")
        assert active_calls()[0]["stage"] == "booking"  # read back, waiting for the yes

        own_redis.stop()
        started = time.monotonic()
        result = await convo.say("Yes please")
        took = time.monotonic() - started
        result.expect.next_event().is_function_call(name="book_appointment")
        result.expect.next_event().is_function_call_output(is_error=False)
        assert convo.agent_lines()[-1] == "You're booked for Monday at 14:00."
        # Short timeouts: a dead Redis costs a moment, not a hung turn.
        assert took < 3, f"the turn took {took:.1f}s with Redis down"
        assert (await Appointment.objects.acount()) == 1

        own_redis.start()  # back, and empty: what it holds now is what we re-send
        await asyncio.sleep(0.1)
        await convo.run.heartbeat()
        [state] = active_calls()
        assert (state["room"], state["stage"], state["caller_name"]) == (room, "wrapping_up", "Zara Hussain")
        stored = await context_read(room)
        assert stored.appointment_id == convo.desk.context.appointment_id
        assert stored.outcome == "booked"

    appointment = await Appointment.objects.select_related("patient").aget()
    assert appointment.start == local_dt(monday, 14) and appointment.patient.phone == CALLER
    record = await Call.objects.aget(room=room)
    assert (record.outcome, record.appointment_id) == (Call.Outcome.BOOKED, appointment.pk)
    client = redis_client()
    try:
        profile = json.loads(await client.get(profile_key(CALLER)))
    finally:
        await client.aclose()
    assert (profile["name"], profile["patient_id"], profile["calls"]) == ("Zara Hussain", appointment.patient_id, 1)
    assert active_calls() == []


async def test_call_starts_and_books_with_redis_down_from_the_start(conversation, clinic, dr_khan, monday,
                                                                    own_redis):
    own_redis.stop()
    script = [
        call("identify_patient", full_name="Omar Farooq", date_of_birth="1979-09-09"),
        call("find_free_times", provider="anyone", day=monday.isoformat(), time_of_day="afternoon"),
        call("book_appointment", slot_id=first_slot, confirmed=False),
        say("The first is Monday afternoon. Shall I book it?"),
        call("book_appointment", slot_id=first_slot, confirmed=True),
        say("Booked."),
    ]
    async with conversation(script) as convo:
        assert ", thank you for calling" in convo.agent_lines()[0]
        await convo.say("Omar Farooq, born 9 September 1979, any doctor Monday afternoon")
        await convo.say("Yes, book it")
        room = convo.desk.context.room
    record = await Call.objects.select_related("appointment").aget(room=room)
    assert record.outcome == Call.Outcome.BOOKED and record.appointment.start.date() == monday


async def test_a_frozen_redis_costs_the_booking_turn_about_a_second_and_the_booking_lands(
        conversation, clinic, dr_khan, monday, own_redis):
    import os
    import signal

    from voiceagent import livecalls

    script = [
        call("identify_patient", full_name="Zara Hussain", date_of_birth="1991-03-03"),
        call("find_free_times", provider="Dr Khan", day=monday.isoformat(), time="14:00"),
        call("book_appointment", slot_id=first_slot, confirmed=False),
        say("Monday at 14:00 is free. Shall I book it?"),
        call("book_appointment", slot_id=first_slot, confirmed=True),
        say("You're booked for Monday at 14:00."),
    ]
    async with conversation(script) as convo:
        room = convo.desk.context.room
        await convo.say("Zara Hussain, born 3 March 1991, Monday at two with Dr Khan")
        # Frozen, not stopped: the socket stays open and nothing answers.
        os.kill(own_redis.process.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            result = await convo.say("Yes please")
            took = time.monotonic() - started
        finally:
            os.kill(own_redis.process.pid, signal.SIGCONT)
        result.expect.next_event().is_function_call(name="book_appointment")
        result.expect.next_event().is_function_call_output(is_error=False)
        # The channel layer's own read timeout is 15 s; each of our Redis calls gives up far sooner.
        assert took < 3, f"the booking turn took {took:.1f}s with Redis frozen"
        assert await Appointment.objects.acount() == 1
        # Redis answers again: the panel catches up at the next heartbeat.
        await asyncio.sleep(0.1)
        await convo.run.heartbeat()
        [state] = active_calls()
        assert (state["room"], state["stage"]) == (room, "wrapping_up")
    assert livecalls.flush_events(timeout=5)
