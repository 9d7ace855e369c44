"""Call-backs: the agent records them (message taken, transfer failed), receptionists take and close them.

Real database, Redis and channel layer; the tools run as on a call (open_call).
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.urls import reverse

from tests.factories import CallFactory, PatientFactory, UserFactory
from tests.voiceagent.conftest import CALLER
from tests.when import local_dt
from voiceagent import callbacks
from voiceagent.agent import open_call
from voiceagent.callbacks import CallbackError, callback_assign, callback_done, callback_request
from voiceagent.models import Callback

_rooms = itertools.count(1)


@pytest.fixture
async def desk_for(transfers):
    opened = []

    async def open_desk(caller_id: str = CALLER):
        desk = await open_call(f"call-cb-{next(_rooms)}", caller_id=caller_id, transfer=transfers)
        opened.append(desk)
        return desk

    yield open_desk
    for desk in opened:
        await desk.close()
        await desk.live.end()
        await desk.store.close()


# --- the agent's side -------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
async def test_a_message_becomes_a_call_back_with_when_to_expect_it(desk_for, clinic, dr_khan, monday):
    desk = await desk_for()
    with time_machine.travel(local_dt(monday, 10), tick=True):
        said = await desk.take_message("Please call me about my \u202eresults\u0000, thanks")
    assert "«I've passed your message on. Someone from the clinic will call you back on 0 3 0 0, 1 2 3, 4 5 6 7 " \
           "today, before 5 in the evening.»" in said
    callback = await Callback.objects.aget()
    assert callback.call_id == desk.call_id and callback.phone == CALLER
    assert callback.message == "Please call me about my results, thanks"  # invisible controls dropped
    assert (callback.status, callback.reason) == (Callback.Status.OPEN, Callback.Reason.MESSAGE)


@pytest.mark.django_db(transaction=True)
async def test_after_hours_the_call_back_is_promised_for_the_next_opening(desk_for, clinic, dr_khan, monday):
    desk = await desk_for()
    with time_machine.travel(local_dt(monday, 19), tick=True):
        said = await desk.take_message("Call me back about a refill")
    assert "We're closed now; someone from the clinic will call you back on 0 3 0 0, 1 2 3, 4 5 6 7 when we " \
           "open, tomorrow, " in said and said.endswith(", at 9 in the morning.»")


@pytest.mark.django_db(transaction=True)
async def test_urdu_caller_hears_the_promise_in_urdu(desk_for, clinic):
    desk = await desk_for()
    desk.context.language = "ur"
    said = await desk.take_message("مجھے واپس فون کریں")  # no providers: no opening hours known
    assert "میں نے آپ کا پیغام پہنچا دیا ہے۔ کلینک سے کوئی جلد از جلد آپ کو صفر تین صفر صفر" in said


@pytest.mark.django_db(transaction=True)
async def test_a_failed_transfer_is_a_call_back_and_a_later_message_joins_it(desk_for, clinic, transfers):
    from livekit.agents import ToolError

    transfers.fail = True
    desk = await desk_for()
    with pytest.raises(ToolError, match="did not go through"):
        await desk.transfer_to_staff("billing")
    callback = await Callback.objects.aget()
    assert (callback.reason, callback.message, callback.phone) == (Callback.Reason.TRANSFER_FAILED, "", CALLER)
    await desk.take_message("About my last bill", callback_phone="0321 7654321")
    callback = await Callback.objects.aget()  # still one
    assert (callback.message, callback.phone) == ("About my last bill", "+923217654321")
    assert callback.reason == Callback.Reason.TRANSFER_FAILED


@pytest.mark.django_db(transaction=True)
async def test_a_message_reaches_open_dashboards_as_an_event(desk_for, clinic):
    from channels.layers import get_channel_layer

    from voiceagent.livecalls import GROUP

    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(GROUP, channel)
    desk = await desk_for()
    await desk.take_message("Please ring me")
    event = await layer.receive(channel)
    while event["type"] != "callback.changed":
        event = await layer.receive(channel)
    assert event["open"] == 1 and event["callback"]["status"] == "open"
    assert "Please ring me" not in str(event)  # ids and counts only: pages read the rest with a login


# --- the desk's side ----------------------------------------------------------------

@pytest.fixture
def waiting(db):
    call = CallFactory(caller_phone=CALLER, caller_name="Imran Qureshi")
    return callback_request(call_id=call.pk, phone=CALLER, reason=Callback.Reason.MESSAGE,
                            caller_name="Imran Qureshi", message="Results please")


def test_only_one_receptionist_takes_a_call_back(waiting):
    rida, sara = UserFactory(first_name="Rida"), UserFactory(first_name="Sara")
    assert callback_assign(callback=waiting, user=rida).assigned_to == rida
    assert callback_assign(callback=waiting, user=rida).assigned_to == rida  # again: no harm
    with pytest.raises(CallbackError, match="Rida has already taken this call-back"):
        callback_assign(callback=waiting, user=sara)
    waiting.refresh_from_db()
    assert waiting.assigned_to == rida


@pytest.mark.django_db(transaction=True)
def test_parallel_assigns_give_it_to_exactly_one(waiting):
    from django.db import connections

    users = [UserFactory() for _ in range(6)]

    def take(user):
        try:
            callback_assign(callback=waiting, user=user)
            return True
        except CallbackError:
            return False
        finally:
            connections.close_all()

    with ThreadPoolExecutor(6) as pool:
        won = list(pool.map(take, users))
    waiting.refresh_from_db()
    assert won.count(True) >= 1 and waiting.assigned_to in [u for u, w in zip(users, won) if w]
    assert won.count(True) == 1


@pytest.mark.parametrize("note, message", [
    ("x" * 10_000, "too long"),
    ("rang\u0000back", "invisible or control"),
    ("called \u202ebidi", "invisible or control"),
    ("called\u200b", "invisible or control"),
])
def test_a_bad_note_is_refused_and_changes_nothing(waiting, note, message):
    with pytest.raises(CallbackError, match=message):
        callback_done(callback=waiting, user=UserFactory(), note=note)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.done_at, waiting.done_note) == (Callback.Status.OPEN, None, "")


def test_done_with_a_note_once(waiting):
    rida = UserFactory(first_name="Rida")
    done = callback_done(callback=waiting, user=rida, note="  Rang back,\nresults sent by post ")
    assert (done.status, done.done_by, done.done_note) == (Callback.Status.DONE, rida, "Rang back, results sent by post")
    assert done.done_at is not None and callbacks.open_count() == 0
    with pytest.raises(CallbackError, match="already marked done by Rida"):
        callback_done(callback=waiting, user=UserFactory(), note="me too")
    with pytest.raises(CallbackError, match="already done"):
        callback_assign(callback=waiting, user=rida)


def test_database_refuses_done_without_a_time(waiting):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Callback.objects.filter(pk=waiting.pk).update(status=Callback.Status.DONE)


# --- the page -----------------------------------------------------------------------

@pytest.fixture
def desk_client(client, db):
    from django.conf import settings
    from django.contrib.auth.models import Group

    user = UserFactory(username="desk", first_name="Rida")
    user.groups.add(Group.objects.get_or_create(name=settings.RECEPTIONIST_GROUP)[0])
    client.force_login(user)
    client.user = user
    return client


def test_the_page_needs_a_login(client, waiting):
    response = client.get(reverse("callback_list"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.post(reverse("callback_done", args=[waiting.pk])).status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == Callback.Status.OPEN


def test_page_lists_open_call_backs_with_the_count_in_the_navigation(desk_client, waiting):
    patient = PatientFactory(full_name="Imran Qureshi", phone=CALLER)
    Callback.objects.filter(pk=waiting.pk).update(patient=patient)
    html = desk_client.get(reverse("callback_list")).content.decode()
    assert '<span id="callback-count" class="badge">1</span>' in html
    assert "Results please" in html and "0300 1234567" in html
    assert reverse("patient_detail", args=[patient.pk]) in html
    assert reverse("call_detail", args=[waiting.call_id]) in html


def test_assign_and_done_through_the_page(desk_client, waiting):
    url = reverse("callback_assign", args=[waiting.pk])
    response = desk_client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and "You are calling back Imran Qureshi." in response["HX-Trigger"]
    response = desk_client.post(reverse("callback_done", args=[waiting.pk]), {"note": "x" * 10_000},
                                HTTP_HX_REQUEST="true")
    assert response.status_code == 422 and "too long" in response["HX-Trigger"]
    response = desk_client.post(reverse("callback_done", args=[waiting.pk]), {"note": "Booked her in"})
    assert response.status_code == 302  # without JavaScript: back to the list, with a message
    waiting.refresh_from_db()
    assert (waiting.status, waiting.assigned_to, waiting.done_note) == ("done", desk_client.user, "Booked her in")
    html = desk_client.get(reverse("callback_list"), {"show": "done"}).content.decode()
    assert "Booked her in" in html and "Done" in html
    assert "Nobody is waiting for a call back." in desk_client.get(reverse("callback_list")).content.decode()


def test_the_calls_page_says_whether_its_call_back_is_done(desk_client, waiting):
    page = desk_client.get(reverse("call_detail", args=[waiting.call_id])).content.decode()
    assert "Open, nobody has taken it yet." in page
    callback_done(callback=waiting, user=desk_client.user, note="Sent results")
    page = desk_client.get(reverse("call_detail", args=[waiting.call_id])).content.decode()
    assert "by Rida: Sent results." in page
