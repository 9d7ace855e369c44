"""`manage.py simulate_calls` as its own process, watched through a connected dashboard socket."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.factories import ClosureFactory, ProviderFactory, UserFactory
from tests.voiceagent.test_consumers import open_socket, receive
from voiceagent.livecalls import Stage, aactive_calls

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
FLOW = [Stage.GREETING, Stage.IDENTIFYING, Stage.CHOOSING_SLOT, Stage.BOOKING, Stage.WRAPPING_UP]


async def start_simulator(*args: str) -> asyncio.subprocess.Process:
    # The environment carries the test run's Redis and key prefix (tests/conftest.py),
    # and the test database, whose providers the calls ask for.
    from django.db import connection

    from tests.conftest import _database_url_of

    return await asyncio.create_subprocess_exec(
        sys.executable, "manage.py", "simulate_calls", *args, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "DATABASE_URL": _database_url_of(connection)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)


@pytest.fixture
def receptionist():
    return UserFactory(username="reception")


@pytest.fixture
def clinic(db):
    """Two providers who work only on Tuesdays, one of them away next Tuesday; one inactive."""
    from datetime import date, time, timedelta

    from django.utils import timezone

    tuesdays = {1: [(time(9), time(12))]}
    khan = ProviderFactory(name="Dr Real Khan", hours=tuesdays)
    ProviderFactory(name="Dr Real Malik", hours=tuesdays)
    ProviderFactory(name="Dr Gone", hours=tuesdays, is_active=False)
    today = timezone.localdate()
    next_tuesday = today + timedelta(days=(1 - today.weekday()) % 7 or 7)
    ClosureFactory(provider=khan, start_date=next_tuesday, end_date=next_tuesday, reason="Leave")
    return next_tuesday


async def test_simulated_calls_from_another_process_move_through_every_stage_and_end(receptionist, clinic):
    socket, connected = await open_socket(receptionist)
    assert connected
    assert (await receive(socket, "snapshot"))["calls"] == []

    sim = await start_simulator("--once", "--calls", "2", "--interval", "0.3", "--seed", "4")
    stages: dict[str, list[str]] = {}
    seen: dict[str, dict] = {}
    ended: set[str] = set()
    received = 0
    async with asyncio.timeout(30):
        while len(ended) < 2 or len(stages) < 2:
            try:
                message = await socket.receive_json_from(timeout=30)
            except asyncio.CancelledError:
                if sim.returncode is None:
                    sim.kill()
                pytest.fail(f"missing events; simulator said: {(await sim.communicate())[0].decode()}")
            if message["type"] == "call.updated":
                received += 1
                call = message["call"]
                seen[call["room"]] = call
                if stages.setdefault(call["room"], [])[-1:] != [call["stage"]]:
                    stages[call["room"]].append(call["stage"])
            elif message["type"] == "call.ended":
                ended.add(message["room"])
    out, _ = await sim.communicate()
    assert sim.returncode == 0, out.decode()
    # Every update the other process sent arrived, once.
    assert f"Stopped; 2 call(s) simulated, {received} updates sent." in out.decode()

    assert ended == set(stages)
    for room, flow in stages.items():
        assert flow == FLOW, (room, flow)
        last = seen[room]
        assert last["caller_name"], "a made-up caller gives a name while identifying"
        # The clinic's own providers, on days they work and are not away.
        assert last["provider"] in ("Dr Real Khan", "Dr Real Malik")
        assert last["requested_slot_label"].startswith("Tue "), last
        if last["provider"] == "Dr Real Khan":
            assert not last["requested_slot_label"].startswith(f"Tue {clinic.day} {clinic:%b},"), last
    assert await aactive_calls() == []
    await socket.disconnect()


async def test_ctrl_c_ends_the_open_calls_so_the_panel_empties_at_once(receptionist):
    socket, connected = await open_socket(receptionist)
    assert connected
    await receive(socket, "snapshot")

    sim = await start_simulator("--forever", "--calls", "3", "--interval", "10")
    started = set()
    async with asyncio.timeout(30):
        while len(started) < 3:
            message = await receive(socket, "call.updated", timeout=30)
            started.add(message["call"]["room"])
    assert {c["room"] for c in await aactive_calls()} == started

    sim.send_signal(signal.SIGINT)
    ended = set()
    async with asyncio.timeout(15):
        while ended != started:
            ended.add((await receive(socket, "call.ended", timeout=15))["room"])
    out, _ = await sim.communicate()
    assert sim.returncode == 0, out.decode()
    assert "Stopped; 3 call(s) simulated" in out.decode()
    assert await aactive_calls() == []
    await socket.disconnect()


@pytest.mark.parametrize("args, message", [
    (["--calls", "0"], "--calls must be between 1 and 500"),
    (["--interval", "0"], "--interval must be a positive number"),
    (["--interval", "2", "--duration", "1"], "--duration must be at least one --interval"),
])
def test_bad_options_are_refused_with_a_message(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("simulate_calls", *args)
