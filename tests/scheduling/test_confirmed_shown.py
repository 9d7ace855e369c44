"""Whether the patient confirmed shows on the appointments list, the calendar and the overview."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from scheduling import services
from scheduling.models import Appointment
from tests.factories import AppointmentFactory, ProviderFactory, UserFactory
from tests.when import local_dt

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(client):
    client.force_login(UserFactory(receptionist=True))
    return client


def test_list_and_calendar_mark_confirmed_visits(desk, monday):
    khan = ProviderFactory(name="Dr Khan")
    confirmed = AppointmentFactory(provider=khan, start=local_dt(monday, 9), patient__full_name="Sana Mir")
    other = AppointmentFactory(provider=khan, start=local_dt(monday, 10), patient__full_name="Ali Raza")
    services.appointment_confirm(confirmed, by=Appointment.Source.PHONE)
    rows = desk.get(reverse("appointment_list"), {"date_from": f"{monday}", "date_to": f"{monday}"}).content.decode()
    sana, ali = (rows.split(f'<tr id="appointment-{a.pk}">')[1].split("</tr>")[0] for a in (confirmed, other))
    assert "✓ confirmed" in sana and "✓ confirmed" not in ali
    grid = desk.get(reverse("calendar"), {"date": f"{monday}"}).content.decode()
    sana_block = grid.split(f'data-id="{confirmed.pk}"')[1].split("</div>")[0]
    assert "confirmed</span>" in sana_block
    assert grid.count('class="confirmed"') == 1


def test_overview_counts_tomorrows_unconfirmed_visits(desk):
    tomorrow = timezone.localdate() + timedelta(days=1)
    khan = ProviderFactory()
    visits = [AppointmentFactory(provider=khan, start=local_dt(tomorrow, 9 + i)) for i in range(3)]
    services.appointment_confirm(visits[0], by=Appointment.Source.DASHBOARD)
    Appointment.objects.filter(pk=visits[1].pk).update(status=Appointment.Status.CANCELLED)
    AppointmentFactory(provider=khan, start=local_dt(tomorrow + timedelta(days=1), 9))  # not tomorrow
    page = desk.get(reverse("overview")).content.decode()
    assert '<div class="value" id="stat-unconfirmed-tomorrow">1</div>' in page
