"""The desk sends a message again from the appointment's dialog (real browser, real dashboard server)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from playwright.sync_api import expect

from notifications.models import Notification
from tests.factories import AppointmentFactory


def test_send_again_from_the_appointment_dialog(logged_in_page, live_server_url):
    visit = AppointmentFactory(start=timezone.now() + timedelta(days=2))
    message = Notification.objects.create(
        appointment=visit, kind=Notification.Kind.BOOKED, appointment_start=visit.start, due_at=timezone.now(),
        channel="sms", status=Notification.Status.UNKNOWN,
        detail="The worker stopped while sending: it may have gone out.")
    page = logged_in_page
    page.goto(f"{live_server_url}/appointments/{visit.pk}/edit/")
    messages = page.locator("#appointment-messages")
    expect(messages).to_contain_text("Booking confirmation by SMS: May have been sent")
    messages.get_by_role("button", name="Send again").click()
    expect(messages).to_contain_text("Booking confirmation queued to be sent again.")
    expect(messages).to_contain_text("Booking confirmation by SMS: Waiting")
    expect(messages.get_by_role("button", name="Send again")).to_have_count(0)
    # Only the list changed: the appointment's form is still open and untouched.
    expect(page.locator("dialog.modal")).to_be_visible()
    assert page.url.endswith(f"/appointments/{visit.pk}/edit/")
    message.refresh_from_db()
    assert message.status == Notification.Status.PENDING and message.detail == "Sending again, asked by reception-test"
    assert DBTaskResult.objects.ready().filter(args_kwargs__args=[message.pk]).count() == 1
