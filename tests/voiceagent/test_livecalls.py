"""The live-call store on the real Redis: what a writer puts there is what the panel lists."""

import asyncio

import pytest
import redis
from django.conf import settings
from django.test import override_settings

from tests.when import local_dt
from voiceagent import livecalls
from voiceagent.livecalls import LiveCall, Stage, active_calls, aactive_calls


def _index_size() -> int:
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        return client.zcard(livecalls._index_key())
    finally:
        client.close()


async def test_a_call_is_listed_from_start_through_updates_until_it_ends(monday):
    call = await LiveCall.start("room-a", caller_phone="+923001234567")
    [listed] = await aactive_calls()
    assert listed["room"] == "room-a"
    assert listed["stage"] == Stage.GREETING and listed["stage_label"] == "Greeting"
    assert listed["caller_phone_display"] == "0300 1234567"
    assert listed["requested_slot"] == "" and listed["requested_slot_label"] == ""

    slot = local_dt(monday, 10, 30)
    await call.update(stage=Stage.CHOOSING_SLOT, caller_name="Sara Ahmed", provider="Dr Khan",
                      requested_slot=slot)
    [listed] = await aactive_calls()
    assert listed["stage_label"] == "Choosing a time"
    assert listed["caller_name"] == "Sara Ahmed" and listed["provider"] == "Dr Khan"
    assert listed["requested_slot_label"] == f"Mon {monday.day} {slot:%b}, 10:30"
    assert listed["updated_at"] >= listed["started_at"]

    await call.end()
    assert await aactive_calls() == []
    assert _index_size() == 0


async def test_the_sync_reader_used_by_page_renders_sees_the_same_calls_oldest_first():
    first = await LiveCall.start("room-1")
    await asyncio.sleep(0.01)
    second = await LiveCall.start("room-2", caller_name="Bilal")
    assert [c["room"] for c in await asyncio.to_thread(active_calls)] == ["room-1", "room-2"]
    await first.end()
    await second.end()


async def test_unknown_fields_are_refused_and_change_nothing():
    call = await LiveCall.start("room-x")
    with pytest.raises(TypeError, match="unknown live-call fields"):
        await call.update(stage=Stage.BOOKING, colour="red")
    [listed] = await aactive_calls()
    assert listed["stage"] == Stage.GREETING
    await call.end()


async def test_a_call_whose_writer_stopped_refreshing_disappears_and_leaves_the_index(monkeypatch):
    monkeypatch.setattr(livecalls, "TTL_SECONDS", 1)
    alive = await LiveCall.start("room-alive")
    dead = await LiveCall.start("room-dead")
    await dead.close()  # its worker "died": no heartbeat, no end
    for _ in range(6):  # 1.5 s of heartbeats for the live one only
        await asyncio.sleep(0.25)
        await alive.heartbeat()
    assert [c["room"] for c in await aactive_calls()] == ["room-alive"]
    assert _index_size() == 1  # the dead call's index entry was pruned on the way
    await alive.close()
    await asyncio.sleep(1.2)
    assert await aactive_calls() == []
    assert _index_size() == 0


async def test_a_writer_survives_redis_being_away_and_catches_up_when_it_returns():
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):  # nothing listens there
        call = await LiveCall.start("room-offline", caller_phone="+923001234567")
        await call.update(stage=Stage.IDENTIFYING, caller_name="Omar")  # logged, not raised
    assert await aactive_calls() == []
    # Redis is back: the next heartbeat writes the whole state the panel missed.
    await call.close()
    call._redis = livecalls._async_client()
    await call.heartbeat()
    [listed] = await aactive_calls()
    assert (listed["room"], listed["stage"], listed["caller_name"]) == ("room-offline", Stage.IDENTIFYING, "Omar")
    await call.end()


def test_slot_labels_are_in_the_clinic_time_zone(monday):
    from datetime import timezone as dt_timezone

    slot = local_dt(monday, 9, 0)
    assert livecalls.slot_label(slot.astimezone(dt_timezone.utc).isoformat()) == f"Mon {monday.day} {slot:%b}, 09:00"
    assert livecalls.slot_label("") == ""
    assert livecalls.slot_label("not a time") == "not a time"


async def test_an_appointment_change_announced_inside_an_event_loop_thread_still_goes_out():
    # Sync code run in a loop's thread (a test, a careless caller) must neither deadlock nor drop the event.
    from types import SimpleNamespace

    from channels.layers import get_channel_layer
    from django.utils import timezone

    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(livecalls.GROUP, channel)
    appointment = SimpleNamespace(pk=7, status="booked", provider_id=1, patient_id=2, start=timezone.now())
    livecalls.on_appointment_changed(None, appointment=appointment, action="booked")
    message = await asyncio.wait_for(layer.receive(channel), 5)
    assert message["type"] == "appointment.changed"
    assert (message["appointment"]["id"], message["appointment"]["action"]) == (7, "booked")


async def test_the_count_in_the_navigation_follows_the_calls():
    from asgiref.sync import sync_to_async

    count = sync_to_async(livecalls.active_call_count)
    assert await count() == 0
    first = await LiveCall.start("count-1")
    second = await LiveCall.start("count-2")
    assert await count() == 2
    await first.end()
    assert await count() == 1
    await second.end()
    assert await count() == 0
