"""The live-calls WebSocket through the real ASGI stack (origin, session, auth) on the real Redis channel layer."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from clinic.asgi import application
from tests.factories import AppointmentFactory, PatientFactory, ProviderFactory, UserFactory
from tests.when import local_dt
from voiceagent import consumers, livecalls
from voiceagent.livecalls import LiveCall, Stage

pytestmark = pytest.mark.django_db(transaction=True)  # the consumer reads users from other threads

URL = "/ws/live-calls/"


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def open_socket(user=None) -> tuple[WebsocketCommunicator, bool]:
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if user is not None:
        cookie = await sync_to_async(session_cookie)(user)
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    socket = WebsocketCommunicator(application, URL, headers=headers)
    connected, _ = await socket.connect(timeout=5)
    return socket, connected


async def receive(socket, kind: str, timeout: float = 5) -> dict:
    """The next message of type `kind`, skipping others (a periodic snapshot, say)."""
    async with asyncio.timeout(timeout):
        while True:
            message = await socket.receive_json_from(timeout=timeout)
            if message["type"] == kind:
                return message


@pytest.fixture
def receptionist():
    return UserFactory(username="reception")


async def test_an_anonymous_socket_is_refused():
    socket, connected = await open_socket()
    assert not connected
    await socket.disconnect()


async def test_a_signed_in_user_without_the_dashboard_role_is_refused():
    outsider = await sync_to_async(UserFactory)(username="outsider", receptionist=False)
    socket, connected = await open_socket(outsider)
    assert not connected
    await socket.disconnect()


async def _connects(user, origin: str, host: str = "localhost", **scope) -> bool:
    cookie = await sync_to_async(session_cookie)(user)
    socket = WebsocketCommunicator(application, URL, headers=[
        (b"origin", origin.encode()), (b"host", host.encode()), (b"cookie", f"sessionid={cookie}".encode()),
        *scope.pop("extra_headers", [])])
    socket.scope.update(scope)
    connected, _ = await socket.connect(timeout=5)
    await socket.disconnect()
    return connected


async def test_a_foreign_origin_is_refused(receptionist):
    assert not await _connects(receptionist, "http://evil.example")


@pytest.mark.parametrize("origin, host", [
    ("http://localhost:9999", "localhost:8000"),  # another program on an allowed host
    ("http://localhost:8000", "localhost"),
    ("https://localhost:8000", "localhost:8000"),  # a page of another scheme
    ("http://localhost.evil.example:8000", "localhost:8000"),
    ("null", "localhost:8000"),
    ("http://localhost:8000", "evil.example:8000"),  # a host we do not serve
])
async def test_an_origin_with_another_scheme_host_or_port_is_refused(receptionist, origin, host):
    assert not await _connects(receptionist, origin, host)


async def test_the_pages_own_origin_is_accepted(receptionist):
    assert await _connects(receptionist, "http://localhost:8000", "localhost:8000")
    assert await _connects(receptionist, "https://localhost", "localhost", scheme="wss")


async def test_behind_a_trusted_tls_proxy_the_https_origin_is_the_sites_own(receptionist, settings):
    from clinic.proxy import parse_networks

    settings.TRUSTED_PROXIES = parse_networks(["10.0.0.5"])
    https = [(b"x-forwarded-proto", b"https")]
    assert await _connects(receptionist, "https://localhost", "localhost", client=["10.0.0.5", 5000],
                           extra_headers=https)
    # The same claim from anyone else is not believed.
    assert not await _connects(receptionist, "https://localhost", "localhost", client=["203.0.113.9", 5000],
                               extra_headers=https)
    settings.CSRF_TRUSTED_ORIGINS = ["https://clinic.example"]
    assert await _connects(receptionist, "https://clinic.example", "localhost")


async def test_snapshot_on_connect_then_updates_and_end_are_forwarded(receptionist, monday):
    call = await LiveCall.start("room-1", caller_phone="+923001234567")
    socket, connected = await open_socket(receptionist)
    assert connected
    snapshot = await socket.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot"
    assert [(c["room"], c["caller_phone_display"], c["stage"]) for c in snapshot["calls"]] == [
        ("room-1", "0300 1234567", Stage.GREETING)]

    await call.update(stage=Stage.CHOOSING_SLOT, caller_name="Sara Ahmed", provider="Dr Khan",
                      requested_slot=local_dt(monday, 11))
    updated = await receive(socket, "call.updated")
    assert updated["call"]["room"] == "room-1"
    assert updated["call"]["stage_label"] == "Choosing a time"
    assert updated["call"]["caller_name"] == "Sara Ahmed"
    assert updated["call"]["requested_slot_label"].endswith("11:00")

    second = await LiveCall.start("room-2")
    assert (await receive(socket, "call.updated"))["call"]["room"] == "room-2"
    await call.end()
    assert await receive(socket, "call.ended") == {"type": "call.ended", "room": "room-1"}
    await second.end()
    await socket.disconnect()


async def test_a_booking_through_the_services_reaches_the_socket_after_commit(receptionist, monday):
    from scheduling.services import appointment_book

    provider = await sync_to_async(ProviderFactory)()
    patient = await sync_to_async(PatientFactory)()
    socket, connected = await open_socket(receptionist)
    assert connected
    await receive(socket, "snapshot")

    appointment = await sync_to_async(appointment_book)(patient=patient, provider=provider,
                                                        start=local_dt(monday, 10))
    changed = await receive(socket, "appointment.changed")
    assert changed["appointment"]["id"] == appointment.pk
    assert changed["appointment"]["action"]
    assert changed["appointment"]["provider_id"] == provider.pk
    await socket.disconnect()


async def test_a_refused_booking_sends_nothing(receptionist, monday):
    from scheduling.services import BookingError, appointment_book

    provider = await sync_to_async(ProviderFactory)()
    patient = await sync_to_async(PatientFactory)()
    socket, connected = await open_socket(receptionist)
    assert connected
    await receive(socket, "snapshot")
    with pytest.raises(BookingError):
        await sync_to_async(appointment_book)(patient=patient, provider=provider,
                                              start=local_dt(monday, 3))  # 3 am: outside hours
    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()


async def test_a_call_whose_writer_died_leaves_the_next_snapshot(receptionist, monkeypatch):
    monkeypatch.setattr(livecalls, "TTL_SECONDS", 1)
    monkeypatch.setattr(consumers, "SNAPSHOT_SECONDS", 0.5)
    alive = await LiveCall.start("room-alive")
    dead = await LiveCall.start("room-dead")
    await dead.close()  # no heartbeat, no call.ended: the worker is gone

    socket, connected = await open_socket(receptionist)
    assert connected
    first = await receive(socket, "snapshot")
    assert {c["room"] for c in first["calls"]} == {"room-alive", "room-dead"}

    # An open panel drops it by itself: a later snapshot no longer has it.
    async with asyncio.timeout(5):
        while True:
            await alive.heartbeat()
            later = await receive(socket, "snapshot")
            if {c["room"] for c in later["calls"]} == {"room-alive"}:
                break
    await socket.disconnect()

    # And a dashboard that connects now never sees it.
    socket, connected = await open_socket(receptionist)
    snapshot = await receive(socket, "snapshot")
    assert [c["room"] for c in snapshot["calls"]] == ["room-alive"]
    await alive.end()
    await socket.disconnect()


async def test_the_browser_can_ask_for_the_state_again(receptionist):
    socket, connected = await open_socket(receptionist)
    assert connected
    assert (await receive(socket, "snapshot"))["calls"] == []
    call = await LiveCall.start("room-late")
    await receive(socket, "call.updated")
    await socket.send_json_to({"type": "snapshot"})
    assert [c["room"] for c in (await receive(socket, "snapshot"))["calls"]] == ["room-late"]
    await call.end()
    await socket.disconnect()


async def test_a_quiet_socket_stays_open_past_the_channel_layers_5_second_wait(receptionist):
    # redis-py's default 5 s read timeout once killed sockets that heard nothing for 5 s.
    socket, connected = await open_socket(receptionist)
    assert connected
    await receive(socket, "snapshot")
    assert await socket.receive_nothing(timeout=6.5)
    call = await LiveCall.start("room-after-quiet")
    assert (await receive(socket, "call.updated"))["call"]["room"] == "room-after-quiet"
    await call.end()
    await socket.disconnect()


async def test_deleting_a_patient_tells_the_dashboards(receptionist, monday):
    from patients.services import patient_delete

    appointment = await sync_to_async(AppointmentFactory)(start=local_dt(monday, 10))
    socket, connected = await open_socket(receptionist)
    assert connected
    await receive(socket, "snapshot")

    await sync_to_async(patient_delete)(patient=appointment.patient)
    changed = await receive(socket, "appointment.changed")
    assert changed["appointment"] == {"id": None, "action": "patient_deleted",
                                      "patient_id": appointment.patient_id}
    await socket.disconnect()


async def test_signing_out_elsewhere_closes_the_socket_at_the_next_refresh(receptionist, monkeypatch):
    monkeypatch.setattr(consumers, "SNAPSHOT_SECONDS", 0.3)
    client = Client()
    await sync_to_async(client.force_login)(receptionist)
    socket = WebsocketCommunicator(application, URL, headers=[
        (b"origin", b"http://localhost"), (b"host", b"localhost"),
        (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())])
    connected, _ = await socket.connect(timeout=5)
    assert connected
    await receive(socket, "snapshot")
    await receive(socket, "snapshot")  # refreshes arrive while signed in

    await sync_to_async(client.logout)()  # the same session, signed out in another tab
    async with asyncio.timeout(5):
        while True:
            output = await socket.receive_output(timeout=5)
            if output["type"] == "websocket.close":
                break
    assert output["code"] == consumers.CLOSE_FORBIDDEN
    await socket.wait()


async def test_losing_the_role_closes_the_socket_at_the_next_refresh(receptionist, monkeypatch):
    monkeypatch.setattr(consumers, "SNAPSHOT_SECONDS", 0.3)
    socket, connected = await open_socket(receptionist)
    assert connected
    await receive(socket, "snapshot")
    await sync_to_async(receptionist.groups.clear)()
    async with asyncio.timeout(5):
        while (output := await socket.receive_output(timeout=5))["type"] != "websocket.close":
            pass
    assert output["code"] == consumers.CLOSE_FORBIDDEN
    await socket.wait()


async def test_a_password_change_elsewhere_closes_the_socket_at_the_next_refresh(receptionist, monkeypatch):
    monkeypatch.setattr(consumers, "SNAPSHOT_SECONDS", 0.3)
    socket, connected = await open_socket(receptionist)
    assert connected
    await receive(socket, "snapshot")

    def change_password():
        receptionist.set_password("a-new-password-after-a-leak")
        receptionist.save()

    await sync_to_async(change_password)()
    async with asyncio.timeout(5):
        while (output := await socket.receive_output(timeout=5))["type"] != "websocket.close":
            pass
    assert output["code"] == consumers.CLOSE_FORBIDDEN
    await socket.wait()


async def test_messages_it_does_not_understand_are_refused_politely_and_the_socket_stays(receptionist, caplog):
    socket, connected = await open_socket(receptionist)
    assert connected
    await receive(socket, "snapshot")
    for text in ("not json", "{\"type\": ", "[1, 2]", '{"type": "drop_tables"}', "x" * 100_000, '"\\ud800"'):
        await socket.send_to(text_data=text)
        assert (await receive(socket, "refused"))["reason"]
    await socket.send_to(bytes_data=b"\x00\xff binary")
    assert "JSON text" in (await receive(socket, "refused"))["reason"]
    await socket.send_json_to({"type": "snapshot"})
    assert (await receive(socket, "snapshot"))["calls"] == []  # still open and working
    await socket.disconnect()
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
