"""The dashboard shell: sign-in, sign-out and the overview."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

from django.contrib.auth import views as auth_views
from django.db.models import Count, F, FilteredRelation, Q, Window
from django.db.models.functions import RowNumber
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
from scheduling.models import OPEN_STATUSES, SLOT_HOLDING_STATUSES, Appointment, Closure, Provider
from scheduling.selectors import clinic_tz, day_bounds
from scheduling.services import status_actions
from scheduling.views import status_forms_html
from voiceagent.models import Call

NEXT_APPOINTMENTS = 8
# Today's schedule lists, per provider, the next open appointments to check in
# (from this many minutes ago: late patients still come); the calendar has the whole day.
DUE_PER_PROVIDER = 2
LATE_MINUTES = 60
CHART_DAYS = 7

login = auth_views.LoginView.as_view(
    authentication_form=LockoutAuthenticationForm,
    redirect_authenticated_user=True,
)
# Django's LogoutView only accepts POST: a link or an image tag on another
# site cannot sign a receptionist out.
logout = auth_views.LogoutView.as_view()


def _day_counts(start, end) -> dict[int, Counter]:
    """{provider_id: Counter(status: n)} of the day, counted in the database: a busy day
    (50 providers, 1,658 appointments) is 50 small rows here, not 1,658 to fetch and print."""
    counts: dict[int, Counter] = defaultdict(Counter)
    for provider_id, status, n in (
        Appointment.objects.filter(start__gte=start, start__lt=end)
        .values_list("provider_id", "status").annotate(n=Count("id")).order_by()
    ):
        counts[provider_id][status] = n
    return counts


def _status_counts(by_provider: dict[int, Counter]) -> list[dict]:
    counts = sum(by_provider.values(), Counter())
    return [
        {"status": status.value, "label": status.label, "count": counts.get(status.value, 0)}
        for status in Appointment.Status
    ]


def _rows(qs) -> list[dict]:
    """Appointments as plain rows, ready to print: dictionaries with their times formatted
    and their buttons, no model instances (a busy day's rows are many)."""
    labels = dict(Appointment.Status.choices)
    tz = clinic_tz()
    now = timezone.now()
    rows = list(qs.values("id", "start", "status", "arrived_at", "provider_id", "provider__name", "patient_id",
                          "patient__full_name"))
    # One reverse() for all rows rather than one per row.
    patient_url = reverse("patient_detail", args=[0]).replace("/0/", "/{}/")
    for row in rows:
        row["pk"] = row["id"]
        row["time"] = row["start"].astimezone(tz).strftime("%H:%M")
        row["status_label"] = labels.get(row["status"], row["status"])
        row["patient_url"] = patient_url.format(row["patient_id"])
        row["actions"] = status_actions(status=row["status"], start=row["start"], now=now)
    return rows


def _waiting(start, end, now) -> list[dict]:
    """Who has checked in today and is not yet seen, longest wait first."""
    tz = clinic_tz()
    arrived = Appointment.objects.filter(start__gte=start, start__lt=end, status=Appointment.Status.ARRIVED)
    # Arrived without a time (set so by hand in the database) still waits; it sorts by its booking.
    waiting = sorted(_rows(arrived), key=lambda a: a["arrived_at"] or a["start"])
    for a in waiting:
        came = a["arrived_at"]
        a["arrived"] = came.astimezone(tz).strftime("%H:%M") if came else a["time"]
        a["waited"] = max(0, int((now - came).total_seconds() // 60)) if came else None
        a["early"] = bool(came and came < a["start"])
    return waiting


def _due(start, end, now) -> dict[int, list[dict]]:
    """{provider_id: the next few open appointments}: whom the desk checks in next.

    From LATE_MINUTES ago (a patient running late still arrives), at most
    DUE_PER_PROVIDER each, picked in the database by a window function.
    """
    due = (
        Appointment.objects.filter(start__gte=max(start, now - timedelta(minutes=LATE_MINUTES)), start__lt=end,
                                   status__in=OPEN_STATUSES)
        .annotate(rank=Window(RowNumber(), partition_by=F("provider_id"), order_by=[F("start").asc(), F("id").asc()]))
        .filter(rank__lte=DUE_PER_PROVIDER)
        .order_by("start", "id")
    )
    by_provider = defaultdict(list)
    for row in _rows(due):
        by_provider[row["provider_id"]].append(row)
    return by_provider


def _provider_schedules(today, counts: dict[int, Counter], due: dict[int, list[dict]]) -> list[dict]:
    # Active providers with today's hours, one row per interval (none for a day off): one query.
    providers, hours = {}, defaultdict(list)
    for pk, name, specialty, a, b in (
        Provider.objects.filter(is_active=True)
        .annotate(today=FilteredRelation("working_hours", condition=Q(working_hours__weekday=today.weekday())))
        .order_by("name", "pk", "today__start_time")
        .values_list("id", "name", "specialty", "today__start_time", "today__end_time")
    ):
        providers.setdefault(pk, {"id": pk, "name": name, "specialty": specialty})
        if a is not None:
            hours[pk].append(f"{a:%H:%M}–{b:%H:%M}")
    closed = {}
    for provider_id, reason in Closure.objects.filter(start_date__lte=today, end_date__gte=today).values_list(
        "provider_id", "reason"
    ):
        closed.setdefault(provider_id, reason)
    calendar_url = f"{reverse('calendar')}?date={today:%Y-%m-%d}&provider="
    rows = []
    for p in providers.values():
        reason = closed.get(None) or closed.get(p["id"])
        if reason:
            note = f"Closed today: {reason}"
        elif not hours[p["id"]]:
            note = "Not in today"
        else:
            note = ""
        c = counts.get(p["id"], Counter())
        rows.append({
            "provider": p,
            "hours": ", ".join(hours[p["id"]]),
            "note": note,
            # Cancelled visits hold no time: not in the day's figure, as in the totals above.
            "total": sum(c[s] for s in SLOT_HOLDING_STATUSES),
            "seen": c[Appointment.Status.COMPLETED],
            "no_show": c[Appointment.Status.NO_SHOW],
            "to_come": sum(c[s] for s in OPEN_STATUSES),
            "appointments": due.get(p["id"], []),
            "calendar_url": f"{calendar_url}{p['id']}",
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
    counts = _day_counts(start, end)
    status_counts = _status_counts(counts)
    # Cancelled visits hold no time: counted on their own, not in the day's total.
    today_total = sum(s["count"] for s in status_counts if s["status"] in SLOT_HOLDING_STATUSES)
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
        "status_counts": status_counts,
        "today_total": today_total,
        "waiting": _waiting(start, end, now),
        "patient_total": patient_total(),
        "unconfirmed_tomorrow": unconfirmed_tomorrow,
        "upcoming": upcoming,
        "schedules": _provider_schedules(today, counts, _due(start, end, now)),
        "calls_today": calls["total"],
        "calls_booked": calls["booked"],
        "chart": _chart(today, today_total),
    }


@require_safe
@receptionist_required
def overview(request):
    # A refresh (clinic:changed) asks for the panels only.
    template = "clinic/overview.html#panels" if wants_fragment(request) else "clinic/overview.html"
    context = overview_context()
    status_forms_html(request, context["waiting"], who="patient__full_name")
    for row in context["schedules"]:
        status_forms_html(request, row["appointments"], who="patient__full_name")
    return render(request, template, context)


@require_safe
def favicon(request):
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's);
    # resolved per request, so it follows whatever static storage is in use.
    return HttpResponsePermanentRedirect(static("favicon.svg"))
