"""The Calls pages (history, one call) and the server-rendered Live calls page."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import AppointmentFactory, CallFactory, PatientFactory, UserFactory
from tests.when import local_dt
from voiceagent.livecalls import LiveCall, Stage
from voiceagent.models import Call
from voiceagent.views import PAGE_SIZE

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(client):
    client.force_login(UserFactory(username="reception"))
    return client


def rows(response) -> list[Call]:
    return list(response.context["calls"])


@pytest.mark.parametrize("name, args", [("call_list", []), ("live_calls", []), ("call_detail", [1])])
def test_pages_need_a_dashboard_login(client, name, args):
    url = reverse(name, args=args)
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))

    client.force_login(UserFactory(username="outsider", receptionist=False))
    assert client.get(url).status_code == 403


def test_calls_are_listed_newest_first_with_caller_patient_duration_and_outcome(desk):
    patient = PatientFactory(full_name="Hina Qureshi")
    now = timezone.now()
    old = CallFactory(started_at=now - timedelta(days=2), ended_at=now - timedelta(days=2) + timedelta(seconds=95),
                      caller_name="Hina", caller_phone="+923001112233", patient=patient,
                      outcome=Call.Outcome.BOOKED)
    new = CallFactory(started_at=now - timedelta(hours=1), caller_phone="", outcome=Call.Outcome.ABANDONED)

    response = desk.get(reverse("call_list"))
    assert rows(response) == [new, old]
    page = response.content.decode()
    assert "0300 1112233" in page and "withheld" in page
    assert "Hina Qureshi" in page and "1 min 35 s" in page
    assert "Booked" in page and "Abandoned" in page
    assert reverse("call_detail", args=[old.pk]) in page


def test_filters_by_outcome_and_date_range(desk, clinic_tz):
    today = timezone.localdate()
    booked_today = CallFactory(started_at=local_dt(today, 0, 30), outcome=Call.Outcome.BOOKED)
    info_today = CallFactory(started_at=local_dt(today, 0, 10), outcome=Call.Outcome.INFO)
    booked_last_week = CallFactory(started_at=local_dt(today - timedelta(days=7), 23, 50),
                                   outcome=Call.Outcome.BOOKED)

    assert rows(desk.get(reverse("call_list"), {"outcome": "booked"})) == [booked_today, booked_last_week]
    day = today.isoformat()
    assert rows(desk.get(reverse("call_list"), {"from": day, "to": day})) == [booked_today, info_today]
    week_ago = (today - timedelta(days=7)).isoformat()
    assert rows(desk.get(reverse("call_list"), {"to": week_ago})) == [booked_last_week]


def test_the_callers_language_is_shown_and_filtered_on(desk):
    now = timezone.now()
    urdu = CallFactory(started_at=now - timedelta(minutes=5), language="ur", caller_name="Nasreen",
                       transcript=[{"role": "user", "text": "مجھے ڈاکٹر خان سے ملنا ہے"}])
    english = CallFactory(started_at=now - timedelta(minutes=9), language="en")
    unknown = CallFactory(started_at=now - timedelta(minutes=20), language="")

    response = desk.get(reverse("call_list"))
    cells = [cell for cell in response.content.decode().split("<td>") if cell.startswith(("Urdu", "English", "—"))]
    assert [cell.split("<")[0] for cell in cells[:3]] == ["Urdu", "English", "—"]
    assert rows(desk.get(reverse("call_list"), {"language": "ur"})) == [urdu]
    assert rows(desk.get(reverse("call_list"), {"language": "en"})) == [english]
    assert rows(desk.get(reverse("call_list"), {"language": ""})) == [urdu, english, unknown]
    page = desk.get(reverse("call_list"), {"language": "ur"}).content.decode()
    assert '<option value="ur" selected>Urdu</option>' in page and "Clear filters" in page
    # The transcript keeps the caller's words as said, set right to left.
    detail = desk.get(reverse("call_detail", args=[urdu.pk])).content.decode()
    assert '<span dir="auto">مجھے ڈاکٹر خان سے ملنا ہے</span>' in detail
    assert "<dt>Language</dt><dd>Urdu</dd>" in detail


def test_direction_and_reminder_outcomes_are_shown_and_filtered_on(desk):
    now = timezone.now()
    inbound = CallFactory(started_at=now - timedelta(minutes=5))
    reminder = CallFactory(started_at=now - timedelta(minutes=9), direction=Call.Direction.OUTBOUND,
                           outcome=Call.Outcome.VOICEMAIL, caller_name="Imran Qureshi")
    page = desk.get(reverse("call_list")).content.decode()
    assert '<td class="call-direction">Inbound</td>' in page and '<td class="call-direction">Outbound</td>' in page
    assert '<span class="status status-voicemail">Voicemail</span>' in page
    assert rows(desk.get(reverse("call_list"), {"direction": "outbound"})) == [reminder]
    assert rows(desk.get(reverse("call_list"), {"direction": "inbound"})) == [inbound]
    assert rows(desk.get(reverse("call_list"), {"outcome": "voicemail"})) == [reminder]
    response = desk.get(reverse("call_list"), {"direction": "sideways\u0000"})
    assert "Unknown direction" in response.content.decode() and len(rows(response)) == 2
    detail = desk.get(reverse("call_detail", args=[reminder.pk])).content.decode()
    assert "<h1>Call to Imran Qureshi</h1>" in detail and "Outbound (the clinic called)" in detail


def test_bad_filter_values_say_so_and_do_not_break_the_page(desk):
    CallFactory()
    response = desk.get(reverse("call_list"), {"from": "next tuesday", "outcome": "exploded",
                                               "language": "ur\u202e<script>"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "is not a date: write it as YYYY-MM-DD" in page and "Unknown outcome" in page and "Unknown language" in page
    assert "<script>" not in page
    assert len(rows(response)) == 1


def test_search_by_caller_name_phone_digits_however_typed_and_patient_name(desk):
    patient = PatientFactory(full_name="Zubair Siddiqui")
    by_patient = CallFactory(patient=patient, caller_name="", caller_phone="+923335550000")
    by_caller = CallFactory(caller_name="Mrs Rukhsana", caller_phone="+923214447777")
    CallFactory(caller_name="Someone Else", caller_phone="+923009998888")
    # The matching call is among the oldest: search covers them all, not a recent page.
    CallFactory.create_batch(PAGE_SIZE + 5)

    search = lambda q: rows(desk.get(reverse("call_list"), {"q": q}))  # noqa: E731
    assert search("siddiq") == [by_patient]
    assert search("rukhsana") == [by_caller]
    assert search("0321 444") == [by_caller]  # national form, with a space
    assert search("4447777") == [by_caller]
    assert search("923335550000") == [by_patient]
    assert search("nobody-like-this") == []
    assert "No calls match these filters." in desk.get(reverse("call_list"), {"q": "zzzz"}).content.decode()


def test_pages_of_25_with_links_that_keep_the_filters(desk):
    CallFactory.create_batch(PAGE_SIZE + 3, outcome=Call.Outcome.INFO)
    first = desk.get(reverse("call_list"), {"outcome": "info"})
    assert len(rows(first)) == PAGE_SIZE
    assert "outcome=info&amp;page=2" in first.content.decode()
    second = desk.get(reverse("call_list"), {"outcome": "info", "page": 2})
    assert len(rows(second)) == 3
    assert desk.get(reverse("call_list"), {"page": "999"}).status_code == 200


def test_the_list_costs_the_same_queries_for_5_calls_as_for_a_full_page(desk):
    def make(n):
        for _ in range(n):
            appointment = AppointmentFactory()
            CallFactory(patient=appointment.patient, appointment=appointment, outcome=Call.Outcome.BOOKED)

    make(5)
    desk.get(reverse("call_list"))  # warm the session and clinic profile caches
    with CaptureQueriesContext(connection) as small:
        desk.get(reverse("call_list"))
    make(PAGE_SIZE * 2)
    with CaptureQueriesContext(connection) as full:
        response = desk.get(reverse("call_list"))
    assert len(rows(response)) == PAGE_SIZE
    assert len(full) == len(small), [q["sql"] for q in full.captured_queries]
    # User, role check, the shell's clinic profile and nav (with its open
    # call-backs), then count + one page with patient, appointment and provider joined.
    assert len(full) <= 8, [q["sql"] for q in full.captured_queries]


def test_a_call_reads_as_a_conversation_with_its_figures(desk, monday):
    appointment = AppointmentFactory(start=local_dt(monday, 10), provider__name="Dr Ayesha Khan",
                                     patient__full_name="Sara Ahmed")
    started = timezone.now() - timedelta(minutes=4)
    call = CallFactory(
        caller_name="Sara", caller_phone="+923001234567", patient=appointment.patient, appointment=appointment,
        started_at=started, ended_at=started + timedelta(seconds=200), outcome=Call.Outcome.BOOKED,
        turns=6, end_of_turn_delay_ms=412.4, llm_ttft_ms=388.0, tts_ttfb_ms=201.6,
        usage={"llm_prompt_tokens": 5120, "tts_characters": 840},
        transcript=[
            {"role": "assistant", "text": "Good morning, Shifa Clinic.", "at": started.isoformat()},
            {"role": "user", "text": "I'd like to see Dr Khan on Monday.", "at": started.isoformat()},
            {"role": "assistant", "text": "Monday at 10:00 is free. Shall I book it?"},
        ])

    response = desk.get(reverse("call_detail", args=[call.pk]))
    page = response.content.decode()
    assert "Sara" in page and "0300 1234567" in page and "Sara Ahmed" in page
    assert "Dr Ayesha Khan" in page and "3 min 20 s" in page
    assert "412 ms" in page and "388 ms" in page and "202 ms" in page
    assert "llm_prompt_tokens" in page and "5120" in page
    turns = [(t["speaker"], t["text"]) for t in response.context["transcript"]]
    assert turns == [("Receptionist (AI)", "Good morning, Shifa Clinic."),
                     ("Caller", "I'd like to see Dr Khan on Monday."),
                     ("Receptionist (AI)", "Monday at 10:00 is free. Shall I book it?")]
    assert page.index("Good morning") < page.index("on Monday.") < page.index("Shall I book it?")


def test_a_call_without_transcript_or_figures_still_reads_well(desk):
    call = CallFactory(caller_phone="", transcript=[], ended_at=None, outcome=Call.Outcome.IN_PROGRESS)
    page = desk.get(reverse("call_detail", args=[call.pk])).content.decode()
    assert "number withheld" in page and "Still in progress" in page
    assert "No transcript was recorded" in page
    assert "No response times were recorded" in page and "over 0" not in page
    assert desk.get(reverse("call_detail", args=[call.pk + 1000])).status_code == 404


def test_the_latency_line_says_what_was_measured_and_never_over_0_turns(desk):
    measured = CallFactory(turns=3, end_of_turn_delay_ms=400, llm_ttft_ms=300, tts_ttfb_ms=200)
    page = desk.get(reverse("call_detail", args=[measured.pk])).content.decode()
    assert "over 3 caller turns: how long after the caller stopped speaking" in page
    # Figures from the agent's replies on a call where the caller said nothing.
    silent = CallFactory(turns=0, llm_ttft_ms=300, tts_ttfb_ms=200)
    page = desk.get(reverse("call_detail", args=[silent.pk])).content.decode()
    assert "Medians of what LiveKit measured on each turn:" in page and "over 0" not in page


def test_live_calls_page_renders_the_calls_under_way(desk, monday):
    async def calls():
        first = await LiveCall.start("room-1", caller_phone="+923001234567")
        await first.update(stage=Stage.CHOOSING_SLOT, caller_name="Sara Ahmed", provider="Dr Khan",
                           requested_slot=local_dt(monday, 11, 30))
        second = await LiveCall.start("room-2")
        # Writers stay "on the call"; their records outlive this event loop until the test's Redis clean-up.
        await first.close()
        await second.close()

    empty = desk.get(reverse("live_calls")).content.decode()
    assert "No calls right now." in empty and 'id="live-calls-empty" class="empty">' in empty

    asyncio.run(calls())
    page = desk.get(reverse("live_calls")).content.decode()
    assert 'data-room="room-1"' in page and 'data-room="room-2"' in page
    assert "Sara Ahmed" in page and "0300 1234567" in page
    assert "Choosing a time" in page and f"Mon {monday.day} {monday:%b}, 11:30" in page and "with Dr Khan" in page
    assert "withheld" in page and "Unknown caller" in page and "just now" in page
    assert page.index('data-room="room-1"') < page.index('data-room="room-2"')  # oldest first
    assert 'id="live-calls-empty" class="empty" hidden' in page


def test_a_live_call_of_a_known_patient_links_to_their_page(desk):
    patient = PatientFactory(full_name="Sara Ahmed")

    async def call():
        live = await LiveCall.start("room-p", caller_phone=patient.phone, caller_name="Sara Ahmed",
                                    patient_id=patient.pk)
        await live.close()

    asyncio.run(call())
    response = desk.get(reverse("live_calls"))
    page = response.content.decode()
    assert f'href="{reverse("patient_detail", args=[patient.pk])}"' in page
    # live.js fills the same link for calls that arrive later.
    assert f'data-patient-url="{reverse("patient_detail", args=[0]).replace("/0/", "/{id}/")}"' in page


def test_a_message_the_caller_left_for_staff_is_on_the_call_page(desk):
    call = CallFactory(outcome=Call.Outcome.TRANSFERRED, message="Please call back about the lab results.")
    page = desk.get(reverse("call_detail", args=[call.pk])).content.decode()
    assert "Message for staff" in page and "Please call back about the lab results." in page
    quiet = CallFactory(outcome=Call.Outcome.INFO)
    assert "Message for staff" not in desk.get(reverse("call_detail", args=[quiet.pk])).content.decode()
