"""The Content-Security-Policy in a real Chromium: signed in through the form, every
page of the dashboard and the manager's admin works with no CSP violation."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from clinic import roles
from tests.conftest import RECEPTIONIST_PASSWORD
from tests.factories import AppointmentFactory, CallFactory, ProviderFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_signs_in_and_no_page_breaks_the_csp(page, live_server_url, monday):
    from tests.when import local_dt

    manager = UserFactory(username="boss", is_staff=True, receptionist=False)
    manager.groups.add(Group.objects.get(name=roles.MANAGERS))
    provider = ProviderFactory(name="Dr Ayesha Khan")
    appointment = AppointmentFactory(provider=provider, start=local_dt(monday, 10))
    call = CallFactory(patient=appointment.patient)

    violations: list[str] = []
    page.on("console", lambda msg: violations.append(f"{page.url}: {msg.text}")
            if "Content Security Policy" in msg.text else None)
    policies: dict[str, str] = {}
    page.on("response", lambda r: policies.__setitem__(r.url, r.headers.get("content-security-policy", ""))
            if r.request.resource_type == "document" else None)

    page.goto(f"{live_server_url}/login/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill(RECEPTIONIST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Today's schedule")).to_be_visible()

    # Work a little: htmx swaps, a dialog, a live search.
    page.get_by_role("button", name="+ New appointment").click()
    expect(page.locator("dialog.modal")).to_be_visible()
    page.goto(f"{live_server_url}/patients/")
    page.get_by_label("Search patients by name or phone").fill(appointment.patient.full_name[:4])
    expect(page.get_by_role("link", name=appointment.patient.full_name, exact=True)).to_be_visible()

    paths = [
        "/", "/appointments/", f"/appointments/?date_from={monday}&date_to={monday}",
        f"/appointments/calendar/?date={monday}", f"/appointments/day-list/?date={monday}",
        f"/appointments/{appointment.pk}/edit/", "/patients/", f"/patients/{appointment.patient_id}/",
        "/patients/new/", "/calls/", "/calls/live/", f"/calls/{call.pk}/",
        "/admin/", "/admin/scheduling/appointment/", f"/admin/scheduling/appointment/{appointment.pk}/change/",
        "/admin/scheduling/appointment/add/", f"/admin/scheduling/provider/{provider.pk}/change/",
        f"/admin/patients/patient/{appointment.patient_id}/change/", "/admin/voiceagent/call/",
        f"/admin/voiceagent/call/{call.pk}/change/", "/admin/auth/user/", "/admin/auth/user/add/",
        "/admin/clinic/clinicprofile/1/change/",
    ]
    for path in paths:
        response = page.goto(live_server_url + path)
        assert response.status == 200, path
        page.wait_for_load_state("load")
    assert not violations, "\n".join(violations)
    # The policy was there to be broken on every page.
    documents = [url for url in policies if "/static/" not in url]
    assert len(documents) >= len(paths)
    assert all("script-src 'self'" in policies[url] for url in documents), policies
