"""A misconfigured clinic must not start: each bad value is named in the message."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def start(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "TIME_ZONE",
                                                               "PHONE_REGION", "DATABASE_URL")}
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"DEBUG": "ture"}, "DEBUG must be true or false, not 'ture'."),
        ({"TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE must be an IANA zone such as Europe/London, not 'Mars/Olympus'."),
        ({"PHONE_REGION": "XX"}, "PHONE_REGION must be a two-letter region code such as PK or GB, not 'XX'."),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL must start with redis://, rediss:// or unix://"),
        ({"DEBUG": "false", "ALLOWED_HOSTS": "clinic.example"},
         "SECRET_KEY must be set to a random string of 32+ characters when DEBUG is off."),
        ({"DEBUG": "false", "SECRET_KEY": "short", "ALLOWED_HOSTS": "clinic.example"},
         "SECRET_KEY must be set to a random string of 32+ characters when DEBUG is off."),
        ({"DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL"),
        ({"QUIET_HOURS": "9pm-8am"}, "QUIET_HOURS must look like 21:00-08:00 (or be off), not '9pm-8am'."),
        ({"SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": "AC1"},
         "SMS_BACKEND=twilio needs TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER."),
    ],
)
def test_bad_configuration_stops_start_up_naming_the_variable(env, message):
    result = start(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_starts_with_a_real_secret_key():
    result = start(DEBUG="false", SECRET_KEY="x" * 50, ALLOWED_HOSTS="clinic.example")
    assert result.returncode == 0, result.stderr


def test_datetimes_are_aware_and_shown_in_the_clinic_zone(settings):
    from django.utils import timezone

    assert settings.USE_TZ and settings.TIME_ZONE == "Asia/Karachi"
    assert timezone.is_aware(timezone.now())
