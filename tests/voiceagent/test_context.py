"""Call context and caller profiles in Redis, with the database behind them; the Call record's figures."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest
import redis.asyncio as aredis
from django.conf import settings
from django.utils import timezone
from livekit.agents import llm

from patients.models import Patient
from scheduling.models import Appointment
from tests.voiceagent.conftest import CALLER
from voiceagent.calls import summarise
from voiceagent.context import (
    CallContext, ContextStore, context_key, context_read, profile_key, profile_load, redis_client,
)
from voiceagent.models import Call

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def client():
    c = redis_client()
    yield c
    await c.aclose()


async def test_context_round_trip_with_ttl(client):
    store = ContextStore(CallContext(room="call-ctx-1", caller_phone=CALLER), client)
    store.context.offered["slot-1"] = {"provider_id": 3, "provider": "Dr A", "start": "2030-01-07T09:00:00+05:00"}
    assert await store.save()
    stored = await context_read("call-ctx-1")
    assert stored == store.context
    ttl = await client.ttl(context_key("call-ctx-1"))
    assert settings.CALL_MAX_MINUTES * 60 < ttl <= settings.CALL_MAX_MINUTES * 60 + 600
    await store.delete()
    assert await context_read("call-ctx-1") is None


async def test_dead_redis_keeps_the_context_in_memory_and_is_not_retried_every_turn(client, tmp_path):
    dead = aredis.Redis.from_url(f"unix://{tmp_path}/nothing.sock", socket_timeout=0.3, socket_connect_timeout=0.3)
    store = ContextStore(CallContext(room="call-ctx-2"), dead)
    started = time.monotonic()
    assert not await store.save()
    store.context.stage = "booking"
    assert not await store.save()  # skipped at once: the breaker is open
    assert time.monotonic() - started < 1
    assert store.dirty and store.context.stage == "booking"
    store.redis = client  # Redis is back
    assert not await store.flush()  # still skipped: the next try is the heartbeat's
    assert await store.flush(probe=True)
    assert (await context_read("call-ctx-2")).stage == "booking"


async def test_after_a_redis_failure_a_turn_skips_redis_until_it_ends(client, tmp_path, monkeypatch):
    """However long a turn runs (a slow model, several tools), it waits on a dead Redis once."""
    from voiceagent import context as context_module

    monkeypatch.setattr(context_module, "RETRY_AFTER_SECONDS", 0.01)
    dead = aredis.Redis.from_url(f"unix://{tmp_path}/nothing.sock", socket_timeout=0.3, socket_connect_timeout=0.3)
    store = ContextStore(CallContext(room="call-ctx-3"), dead)
    store.guard.new_turn()
    assert not await store.save()
    await asyncio.sleep(0.05)
    store.redis = client  # back, but this turn has had its wait
    assert not await store.save() and store.guard.open
    store.guard.new_turn()
    assert await store.save()
    assert (await context_read("call-ctx-3")).room == "call-ctx-3"


async def test_profile_rebuilt_from_the_database_then_served_from_redis(client, dr_khan):
    patient = await Patient.objects.acreate(full_name="Ayesha Siddiqui", phone=CALLER)
    last_week = timezone.now() - timedelta(days=7)
    await Appointment.objects.acreate(patient=patient, provider=dr_khan, start=last_week,
                                      end=last_week + timedelta(minutes=30), status=Appointment.Status.COMPLETED)
    await Call.objects.acreate(room="call-old", caller_phone=CALLER, patient=patient, started_at=last_week)
    profile = await profile_load(CALLER, client)
    assert (profile.name, profile.patient_id, profile.calls, profile.last_provider) == (
        "Ayesha Siddiqui", patient.pk, 1, "Dr Ayesha Khan")
    assert profile.returning
    cached = json.loads(await client.get(profile_key(CALLER)))
    assert cached["name"] == "Ayesha Siddiqui"
    await client.set(profile_key(CALLER), json.dumps({**cached, "name": "From Redis"}))
    assert (await profile_load(CALLER, client)).name == "From Redis"
    await client.set(profile_key(CALLER), "{not json")
    assert (await profile_load(CALLER, client)).name == "Ayesha Siddiqui"


async def test_a_shared_number_without_calls_greets_nobody_by_name(client):
    await Patient.objects.acreate(full_name="Parent Raza", phone=CALLER)
    await Patient.objects.acreate(full_name="Child Raza", phone=CALLER)
    profile = await profile_load(CALLER, client)
    assert not profile.returning and profile.calls == 0


async def test_profile_falls_back_to_the_database_when_redis_is_down(tmp_path):
    await Patient.objects.acreate(full_name="Ayesha Siddiqui", phone=CALLER)
    dead = aredis.Redis.from_url(f"unix://{tmp_path}/nothing.sock", socket_timeout=0.3, socket_connect_timeout=0.3)
    assert (await profile_load(CALLER, dead)).name == "Ayesha Siddiqui"


def test_call_figures_are_medians_of_the_turns_and_the_transcript_is_spoken_words_only():
    chat = llm.ChatContext()
    chat.add_message(role="assistant", content="Hello, Sunrise Clinic.")
    chat.add_message(role="user", content="Book me in", metrics={"end_of_turn_delay": 0.4})
    chat.items.append(llm.FunctionCall(call_id="c1", name="find_free_times", arguments="{}"))
    chat.items.append(llm.FunctionCallOutput(call_id="c1", name="find_free_times", output="slot-1: ...",
                                             is_error=False))
    chat.add_message(role="assistant", content="I have 9:00.", metrics={"llm_node_ttft": 0.3, "tts_node_ttfb": 0.2})
    chat.add_message(role="user", content="Yes", metrics={"end_of_turn_delay": 0.8})
    chat.add_message(role="assistant", content="Booked.", metrics={"llm_node_ttft": 0.5, "tts_node_ttfb": 0.1})
    chat.add_message(role="user", content="Thanks", metrics={"end_of_turn_delay": 0.6})
    summary = summarise(chat.items)
    assert [t["text"] for t in summary["transcript"]] == [
        "Hello, Sunrise Clinic.", "Book me in", "I have 9:00.", "Yes", "Booked.", "Thanks"]
    assert summary["turns"] == 3
    assert (summary["end_of_turn_delay_ms"], summary["llm_ttft_ms"], summary["tts_ttfb_ms"]) == (600.0, 400.0, 150.0)
