"""The dashboard shell: sign-in, sign-out and the overview."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

from django.contrib.auth import views as auth_views
from django.db.models import Count, Q
from django.http import HttpResponsePermanentRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from clinic.access import receptionist_required
from clinic.forms import LockoutAuthenticationForm
from clinic.htmx import wants_fragment
from patients.totals import patient_total
from scheduling.models import OPEN_STATUSES, SLOT_HOLDING_STATUSES, Appointment, Closure, Provider, WorkingHours
from scheduling.selectors import clinic_tz, day_bounds
from scheduling.services import status_actions
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


def _status_counts(todays: list[dict]) -> list[dict]:
    counts = Counter(a["status"] for a in todays)
    return [
        {"status": status.value, "label": status.label, "count": counts.get(status.value, 0)}
        for status in Appointment.Status
    ]


def _todays_appointments(start, end) -> list[dict]:
    """Today's appointments as plain rows, ready to print.

    Dictionaries, not model instances, and times formatted here: on a busy day
    (50 providers, hundreds of appointments) building and rendering full
    objects is most of the page's time.
    """
    labels = dict(Appointment.Status.choices)
    tz = clinic_tz()
    now = timezone.now()
    rows = list(
        Appointment.objects.filter(start__gte=start, start__lt=end)
        .order_by("start", "id")
        .values("id", "start", "status", "arrived_at", "provider_id", "provider__name", "patient_id",
                "patient__full_name")
    )
    # One reverse() for the whole day rather than one per row.
    patient_url = reverse("patient_detail", args=[0]).replace("/0/", "/{}/")
    for row in rows:
        row["pk"] = row["id"]
        row["time"] = row["start"].astimezone(tz).strftime("%H:%M")
        row["status_label"] = labels.get(row["status"], row["status"])
        row["patient_url"] = patient_url.format(row["patient_id"])
        row["actions"] = status_actions(status=row["status"], start=row["start"], now=now)
    return rows


def _waiting(todays: list[dict], now) -> list[dict]:
    """Who has checked in and is not yet seen, longest wait first."""
    tz = clinic_tz()
    # Arrived without a time (set so by hand in the database) still waits; it sorts by its booking.
    waiting = sorted((a for a in todays if a["status"] == Appointment.Status.ARRIVED),
                     key=lambda a: a["arrived_at"] or a["start"])
    for a in waiting:
        came = a["arrived_at"]
        a["arrived"] = came.astimezone(tz).strftime("%H:%M") if came else a["time"]
        a["waited"] = max(0, int((now - came).total_seconds() // 60)) if came else None
        a["early"] = bool(came and came < a["start"])
    return waiting


def _provider_schedules(today, todays: list[dict]) -> list[dict]:
    providers = list(Provider.objects.filter(is_active=True).order_by("name", "pk").values("id", "name", "specialty"))
    hours = defaultdict(list)
    for provider_id, a, b in (
        WorkingHours.objects.filter(weekday=today.weekday(), provider__is_active=True)
        .order_by("start_time")
        .values_list("provider_id", "start_time", "end_time")
    ):
        hours[provider_id].append(f"{a:%H:%M}–{b:%H:%M}")
    closed = {}
    for provider_id, reason in Closure.objects.filter(start_date__lte=today, end_date__gte=today).values_list(
        "provider_id", "reason"
    ):
        closed.setdefault(provider_id, reason)
    by_provider = defaultdict(list)
    for a in todays:
        if a["status"] in SLOT_HOLDING_STATUSES:
            by_provider[a["provider_id"]].append(a)
    rows = []
    for p in providers:
        reason = closed.get(None) or closed.get(p["id"])
        if reason:
            note = f"Closed today: {reason}"
        elif not hours[p["id"]]:
            note = "Not in today"
        else:
            note = ""
        rows.append({
            "provider": p,
            "hours": ", ".join(hours[p["id"]]),
            "note": note,
            "appointments": by_provider[p["id"]],
        })
    return rows


def _chart(today, today_total: int) -> list[dict]:
    # One COUNT per day inside a single query: plain range filters on the
    # indexed start column, no per-row date conversion in the database.
    # Today's bar is the "appointments today" figure itself, so the two agree.
    days = [today + timedelta(days=i) for i in range(CHART_DAYS)]
    bounds = [day_bounds(d, d) for d in days[1:]]
    counts = Appointment.objects.filter(
        start__gte=bounds[0][0], start__lt=bounds[-1][1], status__in=SLOT_HOLDING_STATUSES
    ).aggregate(**{
        f"d{i}": Count("id", filter=Q(start__gte=lo, start__lt=hi)) for i, (lo, hi) in enumerate(bounds, 1)
    })
    values = [today_total] + [counts[f"d{i}"] for i in range(1, CHART_DAYS)]
    top = max(values) or 1
    # Heights in steps of 5% (CSS classes h0..h20): the Content-Security-Policy
    # allows no inline style attributes.
    return [{"day": d, "count": n, "step": round(20 * n / top)} for d, n in zip(days, values)]


def overview_context() -> dict:
    """Everything the overview shows, in a fixed number of queries whatever the data size."""
    now = timezone.now()
    today = timezone.localdate(now)
    start, end = day_bounds(today, today)
    todays = _todays_appointments(start, end)
    # Cancelled visits hold no time: counted on their own, not in the day's total.
    today_total = sum(1 for a in todays if a["status"] in SLOT_HOLDING_STATUSES)
    upcoming = list(
        Appointment.objects.filter(start__gte=now, status__in=OPEN_STATUSES)
        .select_related("patient", "provider")
        .order_by("start", "id")[:NEXT_APPOINTMENTS]
    )
    tomorrow_start, tomorrow_end = day_bounds(today + timedelta(days=1), today + timedelta(days=1))
    # Tomorrow's open visits the patient has not confirmed: whom the desk may want to ring today.
    unconfirmed_tomorrow = Appointment.objects.filter(
        start__gte=tomorrow_start, start__lt=tomorrow_end, status__in=OPEN_STATUSES, confirmed_at__isnull=True
    ).count()
    calls = Call.objects.filter(started_at__gte=start, started_at__lt=end).aggregate(
        total=Count("id"), booked=Count("id", filter=Q(outcome=Call.Outcome.BOOKED))
    )
    return {
        "today": today,
        "now": now,
        "status_counts": _status_counts(todays),
        "today_total": today_total,
        "waiting": _waiting(todays, now),
        "patient_total": patient_total(),
        "unconfirmed_tomorrow": unconfirmed_tomorrow,
        "upcoming": upcoming,
        "schedules": _provider_schedules(today, todays),
        "calls_today": calls["total"],
        "calls_booked": calls["booked"],
        "chart": _chart(today, today_total),
    }


@require_safe
@receptionist_required
def overview(request):
    # A refresh (clinic:changed) asks for the panels only.
    template = "clinic/overview.html#panels" if wants_fragment(request) else "clinic/overview.html"
    return render(request, template, overview_context())


@require_safe
def favicon(request):
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's);
    # resolved per request, so it follows whatever static storage is in use.
    return HttpResponsePermanentRedirect(static("favicon.svg"))
