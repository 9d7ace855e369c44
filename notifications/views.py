"""The desk's one action on messages: send again one that failed or may have been sent."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from clinic.access import receptionist_required
from clinic.htmx import wants_fragment
from notifications import services
from notifications.models import Notification


@receptionist_required
@require_POST
def notification_send_again(request: HttpRequest, pk: int) -> HttpResponse:
    notification = get_object_or_404(Notification.objects.select_related("appointment"), pk=pk)
    appointment = notification.appointment
    try:
        services.notification_send_again(notification_id=pk, by=request.user.get_username())
        ok, note = True, f"{notification.get_kind_display()} queued to be sent again."
    except services.NotificationError as exc:
        ok, note = False, exc.message
    if wants_fragment(request):
        # The appointment's message list again, with the row now "Waiting" (or the refusal above it).
        return render(request, "notifications/_appointment_messages.html",
                      {"appointment": appointment, "note": note, "ok": ok}, status=200 if ok else 422)
    (messages.success if ok else messages.error)(request, note)
    return redirect("appointment_edit", appointment.pk)
