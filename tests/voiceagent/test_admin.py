"""Managers read call records in the admin; nobody adds or edits them there."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import AppointmentFactory, CallFactory, PatientFactory, UserFactory
from voiceagent.models import Call

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client):
    client.force_login(UserFactory(username="manager", is_staff=True, is_superuser=True))
    return client


def _rows(response) -> list[Call]:
    return list(response.context["cl"].result_list)


def test_changelist_shows_calls_newest_first_with_caller_outcome_and_latency(manager):
    patient = PatientFactory(full_name="Sana Mirza")
    older = CallFactory(started_at=timezone.now() - timedelta(days=1), outcome=Call.Outcome.INFO)
    newer = CallFactory(caller_phone="+923001234567", caller_name="Sana", patient=patient,
                        outcome=Call.Outcome.BOOKED, end_of_turn_delay_ms=420, llm_ttft_ms=350, tts_ttfb_ms=180)
    url = reverse("admin:voiceagent_call_changelist")
    manager.get(url)  # first request of a session loads what later ones find cached
    with CaptureQueriesContext(connection) as few:
        manager.get(url)
    for _ in range(20):
        CallFactory(started_at=timezone.now() - timedelta(days=3), patient=PatientFactory())
    # A page of calls with their patients costs the same queries however many rows it shows.
    with CaptureQueriesContext(connection) as many:
        response = manager.get(url)
    assert len(many) == len(few)
    assert response.status_code == 200
    rows = _rows(response)
    assert rows[0] == newer and rows[1] == older
    html = response.content.decode()
    assert "Sana · 0300 1234567" in html
    assert "950" in html  # first audio ≈ 420 + 350 + 180 ms
    assert "Booked" in html


def test_filter_by_outcome_and_search_by_phone_however_written_or_name(manager):
    booked = CallFactory(caller_phone="+923001234567", outcome=Call.Outcome.BOOKED)
    transferred = CallFactory(caller_phone="+923339876543", caller_name="Imran",
                              outcome=Call.Outcome.TRANSFERRED)
    url = reverse("admin:voiceagent_call_changelist")
    assert _rows(manager.get(url, {"outcome__exact": "transferred"})) == [transferred]
    assert _rows(manager.get(url, {"q": "0300 1234567"})) == [booked]
    assert _rows(manager.get(url, {"q": "4567"})) == [booked]
    assert _rows(manager.get(url, {"q": "imran"})) == [transferred]
    # A search stays inside the filter it was made in.
    assert _rows(manager.get(url, {"q": "0300 1234567", "outcome__exact": "transferred"})) == []


def test_detail_reads_the_transcript_as_a_conversation(manager):
    started = timezone.now() - timedelta(minutes=3)
    call = CallFactory(
        started_at=started, ended_at=started + timedelta(seconds=125), caller_phone="",
        appointment=AppointmentFactory(), outcome=Call.Outcome.BOOKED, turns=2,
        transcript=[
            {"role": "assistant", "text": "Good morning, Shifa Clinic.", "at": started.isoformat()},
            {"role": "user", "text": "I'd like to see <Dr Khan> on Monday", "at": started.isoformat()},
        ],
        usage={"llm": {"prompt_tokens": 812}},
    )
    response = manager.get(reverse("admin:voiceagent_call_change", args=[call.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("<strong>Agent</strong>") < html.index("Good morning, Shifa Clinic.")
    assert html.index("<strong>Caller</strong>") < html.index("I&#x27;d like to see &lt;Dr Khan&gt; on Monday")
    assert "<Dr Khan>" not in html  # what a caller said is text, never markup
    assert timezone.localtime(started).strftime("%H:%M:%S") in html
    assert "2:05" in html and "Withheld" in html
    assert reverse("admin:scheduling_appointment_change", args=[call.appointment_id]) in html
    assert "prompt_tokens" in html
    # Read-only: no form to save.
    assert 'name="_save"' not in html


def test_calls_cannot_be_added_or_edited(manager):
    call = CallFactory(caller_name="Original")
    assert manager.get(reverse("admin:voiceagent_call_add")).status_code == 403
    response = manager.post(reverse("admin:voiceagent_call_change", args=[call.pk]),
                            {"caller_name": "Changed", "outcome": "failed"})
    assert response.status_code == 403
    call.refresh_from_db()
    assert (call.caller_name, call.outcome) == ("Original", Call.Outcome.INFO)
    changelist = manager.get(reverse("admin:voiceagent_call_changelist")).content.decode()
    assert reverse("admin:voiceagent_call_add") not in changelist


def test_receptionists_without_admin_access_cannot_read_calls_there(client):
    client.force_login(UserFactory(username="desk", receptionist=True))
    response = client.get(reverse("admin:voiceagent_call_changelist"))
    assert response.status_code == 302 and "/login/" in response["Location"]
