"""seed_demo and `manage.py up`, as a new user runs them."""

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command

from patients.models import Patient
from scheduling.models import Appointment, Closure, Provider, WorkingHours
from voiceagent.models import Call

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_seed_demo_builds_a_believable_clinic_and_is_safe_twice(capsys):
    call_command("seed_demo")
    assert "Demo clinic created" in capsys.readouterr().out
    counts = (Provider.objects.count(), Patient.objects.count(), Appointment.objects.count())
    assert counts[0] >= 3 and counts[1] >= 200 and counts[2] >= 200
    # Different hours, a lunch break, a closure, appointments around today.
    assert WorkingHours.objects.values("provider").distinct().count() == counts[0]
    assert WorkingHours.objects.filter(provider__name="Dr Ayesha Khan", weekday=0).count() == 2
    assert Closure.objects.filter(provider__isnull=True).exists()
    assert Appointment.objects.filter(status=Appointment.Status.COMPLETED).exists()
    assert Appointment.objects.filter(status=Appointment.Status.BOOKED).exists()
    assert Call.objects.exists()

    call_command("seed_demo")
    assert "already there; nothing changed" in capsys.readouterr().out
    assert (Provider.objects.count(), Patient.objects.count(), Appointment.objects.count()) == counts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sign_in(base: str, login_path: str, user: str, password: str, *, next_path: str) -> str:
    """Sign in through a login form as a browser would; returns the landing page."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    for _ in range(100):
        try:
            page = opener.open(f"{base}{login_path}").read().decode()
            break
        except OSError:
            time.sleep(0.1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"username": user, "password": password, "csrfmiddlewaretoken": token,
                                   "next": next_path}).encode()
    landing = opener.open(urllib.request.Request(f"{base}{login_path}?next={next_path}", data=data,
                                                 headers={"Referer": f"{base}{login_path}"}))
    return landing.read().decode()


def test_up_serves_the_product_with_a_printed_login_and_stops_cleanly(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "REDIS_KEY_PREFIX", "LIVEKIT_URL")}
    env.update(CLINIC_VAR_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "manage.py", "up", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl+C" in line:
                break
        out = "".join(lines)
        assert "Started a private Redis" in out and "Seeded the demo clinic" in out, out
        assert "Phone agent: off. To answer calls, set LIVEKIT_URL" in out
        assert "Background worker: started" in out
        receptionist = re.search(r"receptionist login:\s+(\S+) / (\S+)", out).groups()
        manager = re.search(r"manager \(admin\) login:\s+(\S+) / (\S+)", out).groups()

        # The database and the private Redis socket are the owner's only.
        assert (tmp_path / "clinic.sqlite3").stat().st_mode & 0o077 == 0
        assert (tmp_path / "redis.sock").stat().st_mode & 0o077 == 0

        base = f"http://127.0.0.1:{port}"
        overview = _sign_in(base, "/login/", *receptionist, next_path="/")
        assert "Shifa Family Clinic" in overview and "Today's schedule" in overview
        admin = _sign_in(base, "/admin/login/", *manager, next_path="/admin/")
        assert "Manage the clinic" in admin
        for asset in ("/static/css/app.css", "/static/js/live.js", "/static/admin/css/base.css"):
            assert urllib.request.urlopen(base + asset).status == 200, asset
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, rest
    assert "Stopped the background worker." in rest and "Stopped the private Redis." in rest
    assert not (tmp_path / "redis.sock").exists()
    assert (tmp_path / "clinic.sqlite3").exists()


@pytest.mark.django_db
def test_seed_large_grows_the_clinic_to_the_size_asked_and_reports_progress():
    from clinic import demo

    size = demo.Size(patients=900, appointments=1200, providers=6, days_back=20, days_ahead=5)
    reported = []
    demo.seed_large(size=size, log=lambda line: None, progress=lambda *step: reported.append(step))
    assert Provider.objects.count() == 6 and Patient.objects.count() == 900
    assert 0.8 * 1200 <= Appointment.objects.count() <= 1.2 * 1200
    # The bar moves per batch and ends full.
    assert reported[-1][0] == "appointments" and reported[-1][1] == reported[-1][2] > 0
    assert ("patients", 900 - demo.DEMO.patients, 900 - demo.DEMO.patients) in reported
