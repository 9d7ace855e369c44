"""Two web processes (deploy/Procfile's, DEBUG off) on one database and one Redis behave as one clinic."""

import asyncio
import json
import os
import re
import signal
import sys
import urllib.parse

import aiohttp
import pytest
from django.conf import settings

from tests.clinic.conftest import HOST, ROOT, csrf_token, session_cookie
from tests.factories import PatientFactory, ProviderFactory
from tests.when import local_dt

pytestmark = pytest.mark.django_db(transaction=True)


class Socket:
    """A dashboard tab's live-calls WebSocket on one replica."""

    def __init__(self, ws):
        self.ws = ws

    async def next(self, kind: str, match=lambda message: True, timeout: float = 10) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                message = json.loads((await self.ws.receive()).data)
                if message["type"] == kind and match(message):
                    return message


async def open_socket(session, web, cookie) -> Socket:
    ws = await session.ws_connect(f"ws://127.0.0.1:{web.port}/ws/live-calls/", heartbeat=None,
                                  headers={"Host": HOST, "Origin": f"http://{HOST}", "Cookie": cookie})
    socket = Socket(ws)
    await socket.next("snapshot")
    return socket


def book_through(web, cookie, *, provider, patient, start) -> int:
    """The booking dialog's POST, as htmx sends it; returns the HTTP status."""
    form = web.request("GET", "/appointments/new/", headers={"Cookie": cookie})
    assert form.status == 200, form.status
    csrf = form.cookies()["csrftoken"].split(";", 1)[0]
    local = start.astimezone(settings_tz())
    body = urllib.parse.urlencode({
        "patient": patient.pk, "provider": provider.pk, "date": local.date().isoformat(),
        "time": local.strftime("%H:%M"), "reason": "Follow-up", "csrfmiddlewaretoken": csrf_token(form.text),
    }).encode()
    return web.request("POST", "/appointments/new/", body=body, headers={
        "Cookie": f"{cookie}; {csrf}", "Origin": f"http://{HOST}", "HX-Request": "true",
        "Content-Type": "application/x-www-form-urlencoded"}).status


def settings_tz():
    from django.utils import timezone

    return timezone.get_default_timezone()


def test_a_booking_on_one_replica_reaches_a_dashboard_on_the_other(production_webs, transactional_db,
                                                                  receptionist, monday):
    first, second = production_webs
    provider, patient = ProviderFactory(name="Dr Replica"), PatientFactory(full_name="Sana Two-Sites")
    start = local_dt(monday, 10)
    cookie = session_cookie(production_webs[0], receptionist)

    async def scenario():
        async with aiohttp.ClientSession() as session:
            on_second = await open_socket(session, second, cookie)
            status = await asyncio.to_thread(book_through, first, cookie, provider=provider, patient=patient,
                                             start=start)
            assert status == 204
            event = await on_second.next("appointment.changed",
                                         lambda m: m["appointment"]["patient_id"] == patient.pk)
            await on_second.ws.close()
            return event["appointment"]

    changed = asyncio.run(scenario())
    assert changed["action"] == "booked" and changed["provider_id"] == provider.pk
    # And the other replica's pages show it straight away: one database, no per-process cache.
    page = second.request("GET", f"/patients/{patient.pk}/", headers={"Cookie": cookie})
    assert "Dr Replica" in page.text and "Follow-up" in page.text


def test_calls_from_two_writer_processes_show_on_every_replica(production_webs, production_env,
                                                               transactional_db, receptionist, monday):
    ProviderFactory(name="Dr Replica")
    cookie = session_cookie(production_webs[0], receptionist)

    async def writer(prefix: str):
        return await asyncio.create_subprocess_exec(
            sys.executable, "manage.py", "simulate_calls", "--forever", "--calls", "1", "--interval", "30",
            "--prefix", prefix, cwd=ROOT, env={**production_env, "LOG_LEVEL": "WARNING"},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)

    def rooms(message) -> set[str]:
        return {call["room"].split("-")[0] for call in message.get("calls", [])}

    async def scenario():
        async with aiohttp.ClientSession() as session:
            sockets = [await open_socket(session, web, cookie) for web in production_webs]
            writers = [await writer("alpha"), await writer("bravo")]
            try:
                for socket in sockets:
                    seen = set()
                    while seen != {"alpha", "bravo"}:
                        # The first wait covers the writers' start-up (Django, the agent's imports).
                        seen.add((await socket.next("call.updated", timeout=60))["call"]["room"].split("-")[0])
                    # A fresh state read (what a reconnecting tab gets) holds both workers' calls.
                    await socket.ws.send_json({"type": "snapshot"})
                    snapshot = await socket.next("snapshot")
                    assert rooms(snapshot) == {"alpha", "bravo"}
                pages = [await asyncio.to_thread(web.request, "GET", "/calls/live/", headers={"Cookie": cookie})
                         for web in production_webs]
            finally:
                for process in writers:
                    process.send_signal(signal.SIGINT)
                    out, _ = await process.communicate()
                    assert process.returncode == 0, out.decode()[-2000:]
            # Each writer ends its call on the way out: every tab hears it.
            for socket in sockets:
                ended = set()
                while ended != {"alpha", "bravo"}:
                    ended.add((await socket.next("call.ended"))["room"].split("-")[0])
                await socket.ws.close()
            return pages

    pages = asyncio.run(scenario())
    for page in pages:
        assert page.status == 200
        assert re.search(r'id="live-call-count" class="badge">2<', page.text), page.text[:2000]
        assert "alpha-" in page.text and "bravo-" in page.text


def test_a_writer_killed_mid_call_leaves_every_replicas_panel_within_a_minute(production_webs, production_env,
                                                                              transactional_db, receptionist):
    """SIGKILL: no `call.ended`, no clean-up. The call's record expires TTL_SECONDS after the writer's last
    write, and each replica's consumer re-reads the live calls every SNAPSHOT_SECONDS: gone within a minute,
    with the production values (45 s and 15 s), while the other writer's call stays."""
    import time

    from voiceagent.consumers import SNAPSHOT_SECONDS
    from voiceagent.livecalls import TTL_SECONDS

    assert TTL_SECONDS + SNAPSHOT_SECONDS <= 60
    cookie = session_cookie(production_webs[0], receptionist)

    async def writer(prefix: str):
        return await asyncio.create_subprocess_exec(
            sys.executable, "manage.py", "simulate_calls", "--forever", "--calls", "1", "--interval", "600",
            "--prefix", prefix, cwd=ROOT, env={**production_env, "LOG_LEVEL": "WARNING"},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)

    def rooms(message) -> set[str]:
        return {call["room"].split("-")[0] for call in message["calls"]}

    async def scenario():
        async with aiohttp.ClientSession() as session:
            sockets = [await open_socket(session, web, cookie) for web in production_webs]
            doomed, survivor = await writer("doomed"), await writer("lives")
            try:
                for socket in sockets:
                    seen = set()
                    while seen != {"doomed", "lives"}:
                        seen.add((await socket.next("call.updated", timeout=60))["call"]["room"].split("-")[0])
                doomed.kill()  # mid-call: its call is in its first stage for another ten minutes
                await doomed.wait()
                killed_at = time.monotonic()
                # Each panel drops it on its own timer, from a snapshot (no event will ever come).
                gone = await asyncio.gather(*(
                    socket.next("snapshot", lambda m: rooms(m) == {"lives"}, timeout=75) for socket in sockets))
                took = time.monotonic() - killed_at
                pages = [await asyncio.to_thread(web.request, "GET", "/calls/live/", headers={"Cookie": cookie})
                         for web in production_webs]
            finally:
                if doomed.returncode is None:
                    doomed.kill()
                survivor.send_signal(signal.SIGINT)
                out, _ = await survivor.communicate()
                assert survivor.returncode == 0, out.decode()[-2000:]
            for socket in sockets:
                await socket.ws.close()
            return took, gone, pages

    took, gone, pages = asyncio.run(scenario())
    assert took < 65, f"the dead writer's call stayed {took:.0f}s"
    assert all(len(snapshot["calls"]) == 1 for snapshot in gone)
    for page in pages:
        assert page.status == 200
        assert re.search(r'id="live-call-count" class="badge">1<', page.text), page.text[:2000]
        assert "lives-" in page.text and "doomed-" not in page.text
