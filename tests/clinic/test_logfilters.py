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
    ("HTTP GET /patients/?q=03001234567 200", "HTTP GET /patients/?q=••••••••567 200"),
    ("HTTP GET /patients/?q=0300+1234567 200", "HTTP GET /patients/?q=••••••••567 200"),
    ("caller %2B923001234567 rang", "caller •••••••••567 rang"),
    ("booked appointment 42 at 10:30", "booked appointment 42 at 10:30"),
])
def test_long_numbers_in_messages_are_masked_and_short_ones_kept(line, shown):
    assert _record(line).getMessage() == shown


def test_numbers_in_arguments_and_extra_fields_are_masked():
    record = _record("received job request for %s", "call-_+923001234567_xK3f",
                     room="call-_+923001234567_xK3f", job_id="AJ_12")
    assert "3001234567" not in record.getMessage()
    assert record.room == "call-_•••••••••567_xK3f"
    assert record.job_id == "AJ_12"
