"""CALL_RETENTION_DAYS: old transcripts and caller messages go, outcomes and figures stay."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.factories import CallFactory
from voiceagent.models import Call, Callback

pytestmark = pytest.mark.django_db

SAID = [{"role": "user", "text": "I'm Ali Raza, my number is 0300 1234567", "at": "2025-01-01T10:00:00+05:00"}]


def _call(days_ago: float, **fields) -> Call:
    started = timezone.now() - timedelta(days=days_ago)
    return CallFactory(started_at=started, ended_at=started + timedelta(minutes=3), transcript=SAID,
                       message="Please call me back about my test results", outcome=Call.Outcome.BOOKED,
                       turns=4, llm_ttft_ms=420.0, usage={"llm_tokens": 900}, **fields)


def _purge(*args) -> str:
    out = io.StringIO()
    call_command("purge_calls", *args, stdout=out)
    return out.getvalue()


def test_purge_removes_old_transcripts_and_messages_only(settings):
    settings.CALL_RETENTION_DAYS = 30
    old, recent = _call(31), _call(29)
    old_callback = Callback.objects.create(call=old, phone="+923001234567", message="Call me about Ali",
                                           created_at=old.started_at)
    recent_callback = Callback.objects.create(call=recent, phone="+923001234567", message="Call me",
                                              created_at=recent.started_at)

    said = _purge("--dry-run")
    assert "Would remove the transcript and message of 1 call and the message of 1 call-back" in said
    old.refresh_from_db()
    assert old.transcript == SAID  # a dry run changes nothing

    assert "Removed the transcript and message of 1 call and the message of 1 call-back" in _purge()
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.transcript, old.message) == ([], "")
    # What reports need stays.
    assert (old.outcome, old.turns, old.llm_ttft_ms, old.usage, old.ended_at is not None) == (
        Call.Outcome.BOOKED, 4, 420.0, {"llm_tokens": 900}, True)
    assert (recent.transcript, recent.message) == (SAID, "Please call me back about my test results")
    old_callback.refresh_from_db()
    recent_callback.refresh_from_db()
    assert (old_callback.message, recent_callback.message) == ("", "Call me")

    # Daily runs: the second finds nothing more.
    assert "of 0 calls and the message of 0 call-backs" in _purge()


def test_the_default_keeps_a_year(settings):
    assert settings.CALL_RETENTION_DAYS == 365
    kept, gone = _call(364), _call(366)
    _purge()
    kept.refresh_from_db()
    gone.refresh_from_db()
    assert kept.transcript == SAID and gone.transcript == []
