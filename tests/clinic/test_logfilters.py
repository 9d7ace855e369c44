"""Logs carry no full phone numbers, whoever writes the line."""

import logging

import pytest

from clinic.logfilters import RedactPhoneNumbers


def _record(msg, *args, **extra) -> logging.LogRecord:
    record = logging.LogRecord("livekit.agents", logging.INFO, __file__, 1, msg, args or None, None)
    record.__dict__.update(extra)
    RedactPhoneNumbers().filter(record)
    return record


@pytest.mark.parametrize("line, shown", [
    ("caller %2B923001234567 rang", "caller •••••••••567 rang"),
    ("caller 0300-123-4567 rang", "caller ••••••••567 rang"),
    ("caller 0300.123.4567 rang", "caller ••••••••567 rang"),
    ("caller +92 300 1234567 rang", "caller •••••••••567 rang"),
    ("caller 0300 1234567 rang", "caller 0300 ••••567 rang"),
    ("booked appointment 42 at 10:30", "booked appointment 42 at 10:30"),
    ("booked for 2026-12-14 10:00 from 203.0.113.9", "booked for 2026-12-14 10:00 from 203.0.113.9"),
    ('"GET /patients/ HTTP/1.1" 200 1234567', '"GET /patients/ HTTP/1.1" 200 ••••567'),
])
def test_long_numbers_in_messages_are_masked_and_short_ones_kept(line, shown):
    assert _record(line).getMessage() == shown


@pytest.mark.parametrize("line, shown", [
    ("HTTP GET /patients/?q=Ali+Raza 200 [0.01, 127.0.0.1:5000]", "HTTP GET /patients/?q=… 200 [0.01, 127.0.0.1:5000]"),
    ("HTTP GET /patients/?q=0300-123-4567&page=2 200", "HTTP GET /patients/?q=…&page=… 200"),
    ('"GET /calls/?Ali%20Raza HTTP/1.1" 200', '"GET /calls/?… HTTP/1.1" 200'),
    ("HTTP GET /patients/ 200", "HTTP GET /patients/ 200"),
])
def test_query_strings_lose_their_values(line, shown):
    assert _record(line).getMessage() == shown


def test_numbers_in_arguments_and_extra_fields_are_masked():
    record = _record("received job request for %s", "call-_+923001234567_xK3f",
                     room="call-_+923001234567_xK3f", job_id="AJ_12")
    assert "3001234567" not in record.getMessage()
    assert record.room == "call-_•••••••••567_xK3f"
    assert record.job_id == "AJ_12"
