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
        ({"SESSION_HOURS": "0"}, "SESSION_HOURS must be at least 1, not 0."),
        ({"SECURE_HSTS_SECONDS": "a year"}, "SECURE_HSTS_SECONDS must be a whole number, not 'a year'."),
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


def test_check_deploy_is_clean_with_the_production_settings_the_readme_documents():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("`manage.py check --deploy` reports no issues:", 1)[1].split("```")[1]
    documented = {}
    for line in block.strip().splitlines():
        name, value = line.split("#", 1)[0].strip().split("=", 1)
        documented[name] = value.strip()
    assert documented.pop("SECRET_KEY").startswith("<")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SECURE_")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
        env={**clean, **documented, "SECRET_KEY": "Zq8" + "".join(chr(65 + i % 26) for i in range(60))},
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout
