"""The dashboard shell: sign-in, sign-out and the overview."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

from django.contrib.auth import views as auth_views
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from clinic.access import receptionist_required
from clinic.forms import LockoutAuthenticationForm
from patients.models import Patient
from scheduling.models import OPEN_STATUSES, SLOT_HOLDING_STATUSES, Appointment, Closure, Provider
from scheduling.selectors import clinic_tz, day_bounds
from voiceagent.models import Call

NEXT_APPOINTMENTS = 8
CHART_DAYS = 7

login = auth_views.LoginView.as_view(
    authentication_form=LockoutAuthenticationForm,
    redirect_authenticated_user=True,
)
# Django's LogoutView only accepts POST: a link or an image tag on another
# site cannot sign a receptionist out.
logout = auth_views.LogoutView.as_view()


def _status_counts(todays: list[Appointment]) -> list[dict]:
    counts = Counter(a.status for a in todays)
    return [
        {"status": status.value, "label": status.label, "count": counts.get(status.value, 0)}
        for status in Appointment.Status
    ]


def _provider_schedules(today, todays: list[Appointment]) -> list[dict]:
    providers = list(
        Provider.objects.filter(is_active=True).prefetch_related("working_hours").order_by("name", "pk")
    )
    closed = {}
    for c in Closure.objects.filter(start_date__lte=today, end_date__gte=today):
        closed.setdefault(c.provider_id, c.reason)
    by_provider = defaultdict(list)
    for a in todays:
        if a.status in SLOT_HOLDING_STATUSES:
            by_provider[a.provider_id].append(a)
    rows = []
    for p in providers:
        hours = sorted(
            (wh.start_time, wh.end_time) for wh in p.working_hours.all() if wh.weekday == today.weekday()
        )
        reason = closed.get(None) or closed.get(p.pk)
        if reason:
            note = f"Closed today: {reason}"
        elif not hours:
            note = "Not in today"
        else:
            note = ""
        rows.append({"provider": p, "hours": hours, "note": note, "appointments": by_provider[p.pk]})
    return rows


def _chart(today) -> list[dict]:
    first, last = today, today + timedelta(days=CHART_DAYS - 1)
    start, end = day_bounds(first, last)
    per_day = dict(
        Appointment.objects.filter(start__gte=start, start__lt=end, status__in=SLOT_HOLDING_STATUSES)
        .annotate(day=TruncDate("start", tzinfo=clinic_tz()))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    top = max(per_day.values(), default=0) or 1
    days = []
    for i in range(CHART_DAYS):
        day = first + timedelta(days=i)
        n = per_day.get(day, 0)
        days.append({"day": day, "count": n, "percent": round(100 * n / top)})
    return days


def overview_context() -> dict:
    """Everything the overview shows, in a fixed number of queries whatever the data size."""
    now = timezone.now()
    today = timezone.localdate(now)
    start, end = day_bounds(today, today)
    todays = list(
        Appointment.objects.filter(start__gte=start, start__lt=end)
        .select_related("patient")
        .order_by("start", "id")
    )
    upcoming = list(
        Appointment.objects.filter(start__gte=now, status__in=OPEN_STATUSES)
        .select_related("patient", "provider")
        .order_by("start", "id")[:NEXT_APPOINTMENTS]
    )
    calls = Call.objects.filter(started_at__gte=start, started_at__lt=end).aggregate(
        total=Count("id"), booked=Count("id", filter=Q(outcome=Call.Outcome.BOOKED))
    )
    return {
        "today": today,
        "now": now,
        "status_counts": _status_counts(todays),
        "today_total": len(todays),
        "patient_total": Patient.objects.count(),
        "upcoming": upcoming,
        "schedules": _provider_schedules(today, todays),
        "calls_today": calls["total"],
        "calls_booked": calls["booked"],
        "chart": _chart(today),
    }


@require_GET
@receptionist_required
def overview(request):
    # A refresh (clinic:changed) asks for the panels only.
    template = "clinic/overview.html#panels" if request.htmx else "clinic/overview.html"
    return render(request, template, overview_context())
