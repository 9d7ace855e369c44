"""Sessions and response headers: what a signed-in page tells the browser, in production and in tests."""

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from tests.clinic.test_production import HTTPS, sign_in
from tests.clinic.conftest import PROXY
from tests.factories import AppointmentFactory, CallFactory, PatientFactory, UserFactory

PASSWORD = "correct-horse-battery"

# Pages that only read, with the arguments they need.
READ_ONLY = [
    ("overview", ()), ("appointment_list", ()), ("appointment_slots", ()), ("patient_picker", ()),
    ("appointment_export", ()), ("calendar", ()), ("day_list", ()), ("patient_list", ()),
    ("patient_detail", ("PATIENT",)), ("patient_similar", ()), ("live_calls", ()), ("call_list", ()),
    ("call_detail", ("CALL",)),
]


@pytest.fixture
def desk(client):
    client.force_login(UserFactory(username="desk"))
    return client


def _urls():
    patient, call = PatientFactory(), CallFactory()
    return [reverse(name, args=[{"PATIENT": patient.pk, "CALL": call.pk}[a] for a in args])
            for name, args in READ_ONLY]


def test_production_pages_carry_the_security_headers(production_web, receptionist):
    done = sign_in(production_web, receptionist.username, source=PROXY, headers=HTTPS)
    session = done.cookies()["sessionid"]
    assert "Max-Age=43200" in session  # a 12-hour shift, not two weeks
    page = production_web.request("GET", "/patients/", headers={**HTTPS, "Cookie": session.split(";", 1)[0]})
    assert page.status == 200
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "no-store" in page.headers["Cache-Control"]
    assert "camera=()" in page.headers["Permissions-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_every_signed_in_page_and_fragment_is_no_store(desk):
    for url in _urls():
        response = desk.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
    fragment = desk.get(reverse("overview"), headers={"HX-Request": "true"})
    assert "no-store" in fragment["Cache-Control"]
    admin = Client()
    admin.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    assert "no-store" in admin.get(reverse("admin:patients_patient_changelist"))["Cache-Control"]


@pytest.mark.django_db
def test_read_only_pages_answer_get_and_head_only(desk):
    for url in _urls():
        assert desk.head(url).status_code == 200, url
        for method in ("post", "put", "patch", "delete", "options"):
            assert getattr(desk, method)(url).status_code == 405, (method, url)


@pytest.mark.django_db
@override_settings(SECURE_HSTS_SECONDS=31536000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True)
def test_hsts_is_sent_over_https_when_configured(client):
    response = client.get(reverse("login"), secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.django_db
def test_a_password_change_signs_the_account_out_everywhere_else(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    boss = UserFactory(username="boss", is_staff=True, is_superuser=True)
    elsewhere, here = Client(), Client()
    elsewhere.force_login(boss)
    here.force_login(boss)
    response = here.post(reverse("admin:password_change"), {
        "old_password": PASSWORD, "new_password1": "a-fresh-long-passphrase", "new_password2": "a-fresh-long-passphrase"})
    assert response.status_code == 302
    assert here.get(reverse("overview")).status_code == 200  # the tab that changed it stays in
    assert elsewhere.get(reverse("overview")).status_code == 302  # every other session is out
