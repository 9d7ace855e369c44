"""Appointment pages of the receptionist dashboard.

Thin on purpose: forms read what was typed, scheduling.services decides
whether it may be booked, moved or cancelled, and a BookingError comes back
as a message next to the form (status 422, nothing saved). A successful save
answers htmx with 204 + `clinic:changed`, which closes the modal and makes
every table on the page refresh itself.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from html import escape

from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils import timezone
from django.views.decorators.http import require_safe, require_http_methods, require_POST

from clinic import audit, hygiene
from clinic.access import receptionist_required
from clinic.htmx import changed, next_url, refused, wants_fragment
from clinic.spreadsheet import csv_response
from patients.models import Patient
from patients.phone import format_phone
from patients.selectors import patient_search, similar_patients
from patients.services import PatientError, patient_find_or_create
from scheduling import selectors, services
from scheduling.forms import SORTS, AppointmentFilterForm, AppointmentForm, parse_day, parse_id, parse_time
from scheduling.models import OPEN_STATUSES, Appointment, Provider
from scheduling.services import BookingError

Status = Appointment.Status
PAGE_SIZE = 25
PICKER_LIMIT = 10
COLUMNS = [("start", "When"), ("patient", "Patient"), ("provider", "Provider"), ("status", "Status")]


def _get_appointment(pk: int) -> Appointment:
    return get_object_or_404(Appointment.objects.select_related("patient", "provider"), pk=pk)


def _describe(appointment: Appointment) -> str:
    """"Ali Raza's appointment with Dr Khan on Monday 1 December at 10:00"."""
    return (
        f"{appointment.patient.full_name}'s appointment with {appointment.provider.name} "
        f"on {services.say_day(appointment.start)} at {services.say_time(appointment.start)}"
    )


# --- the table ------------------------------------------------------------------

def _columns(sort: str) -> list[dict]:
    """Header cells: which column is sorted, which way, and where a click leads."""
    key, descending = sort.lstrip("-"), sort.startswith("-")
    columns = []
    for name, label in COLUMNS:
        current = name == key
        columns.append({
            "name": name,
            "label": label,
            "aria_sort": ("descending" if descending else "ascending") if current else "",
            # A click on the sorted column flips it; on another, sorts it ascending.
            "next_sort": f"-{name}" if current and not descending else name,
        })
    return columns


def _filtered(f: dict) -> QuerySet[Appointment]:
    """The appointments the list's filters select, in its order: the table's pages and the CSV alike."""
    qs = selectors.appointments_between(f["date_from"], f["date_to"])
    if f["provider"]:
        qs = qs.filter(provider=f["provider"])
    if f["status"]:
        qs = qs.filter(status=f["status"])
    if f["q"]:
        # A subquery, not a list of ids: the search runs over all patients.
        qs = qs.filter(patient__in=patient_search(f["q"]).values("pk"))
    order = SORTS[f["sort"].lstrip("-")]
    if f["sort"].startswith("-"):
        order = tuple(f"-{field}" for field in order)
    return qs.order_by(*order)


def with_actions(appointments, *, now: datetime | None = None):
    """Give each appointment (model or calendar block) its one-click buttons: [(status, label)]."""
    now = now or timezone.now()
    for a in appointments:
        a.actions = services.status_actions(status=a.status, start=a.start, now=now)
    return appointments


@receptionist_required
@require_safe
def appointment_list(request: HttpRequest) -> HttpResponse:
    form = AppointmentFilterForm(request.GET)
    f = form.filters()
    page = Paginator(_filtered(f), PAGE_SIZE).get_page(request.GET.get("page"))
    with_actions(page.object_list)
    context = {
        "form": form,
        "filters": f,
        "page": page,
        "columns": _columns(f["sort"]),
        "open_statuses": OPEN_STATUSES,
        "presets": _presets(timezone.localdate()),
        "providers": Provider.objects.order_by("name").values_list("pk", "name"),
    }
    template = "scheduling/appointment_list.html"
    if wants_fragment(request) and request.htmx.target == "appointment-table":
        template += "#table"
        context["partial"] = True
    return render(request, template, context)


def _presets(today: date) -> list[dict]:
    monday = today - timedelta(days=today.weekday())
    return [
        {"label": "Today", "date_from": today, "date_to": today},
        {"label": "This week", "date_from": monday, "date_to": monday + timedelta(days=6)},
        {"label": "Next 7 days", "date_from": today, "date_to": today + timedelta(days=6)},
    ]


# --- booking and editing ----------------------------------------------------------

def _slot_context(*, provider: Provider | None, day: date | None, appointment: Appointment | None = None,
                  chosen: time | str | None = None, off_grid: bool = False, other_time: time | str | None = None) -> dict:
    """What the time picker shows: the free starts, or in words why there are none, and the "Other time" choice."""
    other = {"off_grid": off_grid, "other_time": _hhmm(other_time)}
    if provider is None or day is None:
        return {"slots": [], "slot_note": "Choose a provider and a date to see the free times.", **other}
    slots = selectors.free_slots_for_day(
        provider=provider, day=day, exclude_appointment_id=appointment.pk if appointment else None
    )
    times = [selectors.local(s).time() for s in slots]
    if appointment and appointment.provider_id == provider.pk:
        current = selectors.local(appointment.start)
        if current.date() == day and current.time() not in times:
            # The appointment's own time stays on offer (even past or off the
            # grid) so that editing only the reason keeps it where it is.
            times = sorted([*times, current.time()])
    note, slot_picks = "", []
    if not times:
        horizon = selectors.booking_rules().last_day
        if day > horizon:
            # Where the clinic's diary ends, and its last free times as picks.
            past = services.past_horizon(day=day, provider=provider)
            note, slot_picks = past.message, _picks(past.slots)
        else:
            note = services.day_refusal(provider=provider, day=day)
    return {"slots": [t.strftime("%H:%M") for t in times], "slot_note": note, "slot_picks": slot_picks,
            "chosen_time": _hhmm(chosen), "grid_minutes": provider.appointment_minutes, **other}


def _hhmm(value: time | str | None) -> str:
    return value.strftime("%H:%M") if isinstance(value, time) else (value or "")


def _picks(slots) -> list[dict]:
    """Free times as the dialog's pick buttons: provider and local start."""
    providers = Provider.objects.in_bulk({s.provider_id for s in slots})
    return [{"provider": providers[s.provider_id], "start": selectors.local(s.start)} for s in slots]


def _render_form(request: HttpRequest, form: AppointmentForm, *, status: int = 200, error: str = "",
                 error_code: str = "", alternatives=(), similar=()) -> HttpResponse:
    appointment = form.appointment
    # What was typed (the valid parts) or, before the first post, the initial values.
    values = getattr(form, "cleaned_data", {}) if form.is_bound else form.initial
    context = {
        "form": form,
        "appointment": appointment,
        "error": error,
        "error_code": error_code,
        "picks": _picks(alternatives) if alternatives else [],
        "similar": similar,
        "history": audit.history_rows(appointment) if appointment else [],
        **(_picker_context(request.POST.get("patient_query", ""), values.get("patient")) if form.is_new else {}),
        **_slot_context(provider=values.get("provider"), day=values.get("date"), appointment=appointment,
                        chosen=values.get("time"), off_grid=bool(values.get("off_grid")),
                        other_time=values.get("other_time") or (form.data.get("other_time", "") if form.is_bound else "")),
    }
    template = "scheduling/appointment_modal.html" if wants_fragment(request) else "scheduling/appointment_page.html"
    return render(request, template, context, status=status)


@receptionist_required
@require_http_methods(["GET", "POST"])
def appointment_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        initial = {"date": parse_day(request.GET.get("date")) or timezone.localdate()}
        provider_id = request.GET.get("provider", "")
        if provider_id.isdigit():
            initial["provider"] = Provider.objects.filter(pk=provider_id, is_active=True).first()
        chosen = parse_time(request.GET.get("time"))
        if chosen:
            # A free time clicked on the calendar: provider, day and time already chosen.
            initial["time"] = chosen
        patient_id = request.GET.get("patient", "")
        if patient_id.isdigit():
            # "Book for this patient" on the patient page: already picked.
            initial["patient"] = Patient.objects.filter(pk=patient_id).first()
        return _render_form(request, AppointmentForm(initial=initial))

    form = AppointmentForm(request.POST)
    if not form.is_valid():
        return _render_form(request, form, status=422)
    data = form.cleaned_data
    if data["patient"] is None and not data["new_is_different"]:
        # A look-alike of someone on this number ("Ali Raaza" next to "Ali
        # Raza"): ask before registering a second record.
        similar = similar_patients(full_name=data["new_name"], phone=data["new_phone"])
        if similar:
            return _render_form(request, form, status=422, similar=similar)
    try:
        with transaction.atomic():
            patient = data["patient"]
            if patient is None:
                patient, _ = patient_find_or_create(
                    full_name=data["new_name"], phone=data["new_phone"], date_of_birth=data["new_date_of_birth"]
                )
            appointment = services.appointment_book(
                patient=patient, provider=data["provider"], start=data["start"], reason=data["reason"],
                source=Appointment.Source.DASHBOARD, off_grid=data["off_grid"],
            )
    except PatientError as exc:
        field = {"full_name": "new_name", "phone": "new_phone", "date_of_birth": "new_date_of_birth"}.get(exc.field or "")
        form.add_error(field or "patient", exc.message)
        return _render_form(request, form, status=422)
    except BookingError as exc:
        return _render_form(request, form, status=422, error=exc.message, error_code=exc.code,
                            alternatives=exc.alternatives)
    return changed(request, f"Booked {_describe(appointment)}.", then="appointment_list")


@receptionist_required
@require_http_methods(["GET", "POST"])
def appointment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _get_appointment(pk)
    if request.method == "GET":
        local_start = selectors.local(appointment.start)
        form = AppointmentForm(appointment=appointment, initial={
            "provider": appointment.provider,
            "date": local_start.date(),
            "time": local_start.time(),
            "status": appointment.status,
            "reason": appointment.reason,
        })
        return _render_form(request, form)

    form = AppointmentForm(request.POST, appointment=appointment)
    if not form.is_valid():
        return _render_form(request, form, status=422)
    data = form.cleaned_data
    try:
        appointment = services.appointment_edit(
            appointment=appointment, provider=data["provider"], start=data["start"],
            status=data["status"], reason=data["reason"], off_grid=data["off_grid"],
        )
    except BookingError as exc:
        form.appointment = _get_appointment(pk)  # as it still is in the database
        return _render_form(request, form, status=422, error=exc.message, error_code=exc.code,
                            alternatives=exc.alternatives)
    return changed(request, f"Saved {_describe(appointment)}.", then="appointment_list")


@receptionist_required
@require_safe
def appointment_slots(request: HttpRequest) -> HttpResponse:
    """The time picker's options for a provider and a day (re-read on every change)."""
    provider_id = request.GET.get("provider", "")
    provider = Provider.objects.filter(pk=provider_id).first() if provider_id.isdigit() else None
    day = parse_day(request.GET.get("date"))
    appointment = None
    appointment_id = request.GET.get("appointment", "")
    if appointment_id.isdigit():
        appointment = Appointment.objects.filter(pk=appointment_id).first()
    context = _slot_context(provider=provider, day=day, appointment=appointment, chosen=request.GET.get("time"),
                            off_grid=bool(request.GET.get("off_grid")), other_time=parse_time(request.GET.get("other_time")))
    if provider_id and provider is None:
        context["slot_note"] = "That provider does not exist; choose one from the list."
    elif request.GET.get("date") and day is None:
        context["slot_note"] = "Enter the date as YYYY-MM-DD, for example 2025-12-01."
    return render(request, "scheduling/_slots.html", context)


def _picker_context(query: str, selected: Patient | str | None) -> dict:
    """Up to ten patients matching `query`, with the one already picked kept on screen."""
    query, note = (query or "").strip(), ""
    try:
        query = hygiene.clean_search(query)
    except hygiene.Refused as exc:
        query, note = "", exc.message
    matches = list(patient_search(query)[:PICKER_LIMIT]) if query else []
    picked = selected if isinstance(selected, Patient) else None
    if isinstance(selected, str) and selected.isdigit():
        picked = Patient.objects.filter(pk=selected).first()
    if picked and picked not in matches:
        # The search changed after a patient was picked: keep that patient on
        # screen (and chosen) rather than silently dropping the choice.
        matches.insert(0, picked)
    return {"query": query, "matches": matches, "picked": picked, "limit": PICKER_LIMIT, "search_note": note}


@receptionist_required
@require_safe
def patient_picker(request: HttpRequest) -> HttpResponse:
    """The patients matching the search box, as radio buttons of the booking form."""
    context = _picker_context(request.GET.get("patient_query", ""), request.GET.get("patient", ""))
    return render(request, "scheduling/_patient_options.html", context)


# --- delete (cancelling is a one-click status change, below) --------------------------------

def _confirm(request: HttpRequest, appointment: Appointment, *, error: str = "", status: int = 200):
    template = "scheduling/appointment_confirm_modal.html" if wants_fragment(request) else "scheduling/appointment_confirm_page.html"
    return render(request, template, {
        "appointment": appointment, "description": _describe(appointment), "error": error,
    }, status=status)


@receptionist_required
@require_http_methods(["GET", "POST"])
def appointment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _get_appointment(pk)
    if request.method == "GET":
        return _confirm(request, appointment)
    description = _describe(appointment)
    services.appointment_delete(appointment=appointment)
    return changed(request, f"Deleted {description}.", then="appointment_list")


# --- one-click status changes and moves -------------------------------------------------

def _status_message(appointment: Appointment, *, undo: bool) -> str:
    who, at = appointment.patient.full_name, services.say_time(appointment.start)
    with_whom = f"{at} with {appointment.provider.name}"
    if undo:
        return f"Undone: {who}'s {with_whom} is {appointment.get_status_display().lower()} again."
    return {
        Status.ARRIVED: f"{who} has arrived for {with_whom}.",
        Status.COMPLETED: f"{who}'s visit at {with_whom} is completed.",
        Status.NO_SHOW: f"{who} did not come for {with_whom}: marked no-show.",
        Status.CANCELLED: f"Cancelled {_describe(appointment)}.",
    }.get(appointment.status, f"{who}'s {with_whom} is now {appointment.get_status_display().lower()}.")


@receptionist_required
@require_POST
def appointment_status(request: HttpRequest, pk: int) -> HttpResponse:
    """A one-click status change (Arrived, Completed, No-show, Cancel) or its Undo.

    The answer carries the way back: an Undo that posts the previous status
    here again, through the same service and its table of transitions.
    """
    appointment = _get_appointment(pk)
    back = next_url(request, reverse("appointment_list"))
    previous, target, undoing = appointment.status, request.POST.get("status", ""), bool(request.POST.get("undo"))
    try:
        appointment = services.appointment_set_status(appointment=appointment, status=target)
    except BookingError as exc:
        return refused(request, exc.message, then=back)
    undo = None
    if not undoing and appointment.status != previous:
        undo = {"url": reverse("appointment_status", args=[pk]), "values": {"status": previous, "undo": "1"}}
    return changed(request, _status_message(appointment, undo=undoing), then=back, undo=undo)


@receptionist_required
@require_POST
def appointment_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move an appointment to a provider, day and time picked on the calendar (drag and drop, or Move)."""
    appointment = _get_appointment(pk)
    back = next_url(request, reverse("calendar"))
    provider_id, day, at = parse_id(request.POST.get("provider")), parse_day(request.POST.get("date")), parse_time(
        request.POST.get("time"))
    provider = Provider.objects.filter(pk=provider_id).first() if provider_id else None
    if provider is None or day is None or at is None:
        return refused(request, "Pick a free time on the calendar to move the appointment to.", then=back)
    old = {"provider": str(appointment.provider_id), "date": f"{selectors.local(appointment.start):%Y-%m-%d}",
           "time": f"{selectors.local(appointment.start):%H:%M}"}
    try:
        moved = services.appointment_reschedule(
            appointment=appointment, provider=provider, start=datetime.combine(day, at, tzinfo=selectors.clinic_tz()))
    except BookingError as exc:
        return refused(request, exc.message, then=back)
    undo = None
    if not request.POST.get("undo"):
        undo = {"url": reverse("appointment_move", args=[pk]), "values": {**old, "undo": "1"}}
    return changed(request, f"Moved {_describe(moved)}.", then=back, undo=undo)


# --- exports ---------------------------------------------------------------------------

EXPORT_HEADER = ["Date", "Start", "End", "Provider", "Patient", "Phone", "Date of birth", "Status", "Arrived",
                 "Reason", "Source"]


def _export_rows(qs: QuerySet[Appointment]):
    """Plain rows straight from the database cursor, a chunk at a time."""
    tz = selectors.clinic_tz()
    labels, sources = dict(Status.choices), dict(Appointment.Source.choices)
    fields = ("start", "end", "provider__name", "patient__full_name", "patient__phone", "patient__date_of_birth",
              "status", "arrived_at", "reason", "source")
    for start, end, provider, name, phone, born, status, arrived, reason, source in qs.values_list(
            *fields).iterator(chunk_size=2000):
        start, end = start.astimezone(tz), end.astimezone(tz)
        yield [f"{start:%Y-%m-%d}", f"{start:%H:%M}", f"{end:%H:%M}", provider, name, format_phone(phone),
               f"{born:%Y-%m-%d}" if born else "", labels.get(status, status),
               f"{arrived.astimezone(tz):%H:%M}" if arrived else "", reason, sources.get(source, source)]


@receptionist_required
@require_safe
def appointment_export(request: HttpRequest) -> HttpResponse:
    """The appointment list as CSV: every row the filters select, not only the page on screen."""
    f = AppointmentFilterForm(request.GET).filters()
    name = f"appointments-{f['date_from']:%Y-%m-%d}-to-{f['date_to']:%Y-%m-%d}.csv"
    return csv_response(name, EXPORT_HEADER, _export_rows(_filtered(f)))


def _day_list(day: date, provider: Provider | None) -> QuerySet[Appointment]:
    qs = selectors.appointments_between(day, day).exclude(status=Status.CANCELLED)
    if provider:
        qs = qs.filter(provider=provider)
    return qs.order_by("provider__name", "provider_id", "start", "id")


@receptionist_required
@require_safe
def day_list(request: HttpRequest) -> HttpResponse:
    """The day's list per provider (or everyone's), to print or download as CSV."""
    day = parse_day(request.GET.get("date")) or timezone.localdate()
    provider_id = parse_id(request.GET.get("provider"))
    provider = Provider.objects.filter(pk=provider_id).first() if provider_id else None
    qs = _day_list(day, provider)
    if request.GET.get("format") == "csv":
        return csv_response(f"day-list-{day:%Y-%m-%d}.csv", EXPORT_HEADER, _export_rows(qs))
    groups: dict[int, dict] = {}
    for a in qs:
        groups.setdefault(a.provider_id, {"provider": a.provider, "appointments": []})["appointments"].append(a)
    query = {"date": f"{day:%Y-%m-%d}", **({"provider": provider.pk} if provider else {}), "format": "csv"}
    return render(request, "scheduling/day_list.html", {
        "day": day, "provider": provider, "groups": list(groups.values()),
        "providers": Provider.objects.order_by("name"), "csv_query": urlencode(query),
    })


# --- the calendar -------------------------------------------------------------------------

# The grid's two most numerous pieces, made here with html.escape on every
# value instead of with template tags: a day of 50 providers has about 400
# appointments and 400 free times, and the template engine (and even
# format_html, through its lazy-string wrappers) spent most of the page's
# time on them. The rest of the grid is in calendar.html.
FREE_HTML = '<a class="cal-free {}" href="{}" data-drop data-time="{}"><span class="visually-hidden">Book </span>{}</a>'
BLOCK_HTML = ('<div class="cal-appt {} status-{}" data-id="{}" data-drop data-time="{}"{}>'
              '<a class="cal-appt-main" href="{}"><span class="cal-time">{}</span> <strong>{}</strong> '
              '<span class="cal-reason">{}</span> <span class="status">{}</span>{}</a>{}</div>')
CONFIRMED_HTML = ' <span class="confirmed" title="Confirmed by the patient">✓<span class="visually-hidden"> confirmed</span></span>'
STATUS_BUTTON_HTML = ('<button type="button" class="button small" data-status="{}">{}'
                      '<span class="visually-hidden">: {}</span></button>')
MOVE_BUTTON_HTML = '<button type="button" class="button small" data-move>Move<span class="visually-hidden">: {}</span></button>'


# The same form as scheduling/_status_actions.html, for pages that print many
# (the overview's rows): made here for the reason above. A test holds the two alike.
STATUS_FORM_HTML = ('<form method="post" action="{0}" hx-post="{0}" hx-swap="none" class="status-actions">'
                    '<input type="hidden" name="csrfmiddlewaretoken" value="{1}">'
                    '<input type="hidden" name="next" value="{2}">{3}</form>')
STATUS_SUBMIT_HTML = ('<button type="submit" name="status" value="{0}" class="button small action-{0}">{1}'
                      '<span class="visually-hidden">: {2}</span></button>')


def status_forms_html(request: HttpRequest, rows: list[dict], *, who: str) -> None:
    """Give each row (a dict with "pk" and "actions") its one-click status form as row["actions_html"]."""
    token, back = escape(get_token(request)), escape(request.get_full_path())
    pattern = reverse("appointment_status", args=[0]).replace("/0/", "/{}/")
    for row in rows:
        if not row["actions"]:
            row["actions_html"] = ""
            continue
        name = escape(row[who])
        buttons = "".join(STATUS_SUBMIT_HTML.format(escape(value), escape(label), name) for value, label in row["actions"])
        # Safe: every value inside went through html.escape.
        row["actions_html"] = mark_safe(STATUS_FORM_HTML.format(escape(pattern.format(row["pk"])), token, back, buttons))


def _free_html(book_url: str, free: list[tuple[str, str]]) -> str:
    return "".join(FREE_HTML.format(escape(place), escape(book_url + t), escape(t), escape(t)) for place, t in free)


def _block_html(b, edit_url: str) -> str:
    name = escape(b.patient_name)
    buttons = [STATUS_BUTTON_HTML.format(escape(value), escape(label), name) for value, label in b.actions]
    if b.movable:
        buttons.append(MOVE_BUTTON_HTML.format(name))
    actions = f'<div class="cal-appt-actions no-print">{"".join(buttons)}</div>' if buttons else ""
    return BLOCK_HTML.format(escape(b.place), escape(b.status), b.id, f"{b.start:%H:%M}",
                             ' draggable="true"' if b.movable else "", escape(edit_url), escape(b.time), name,
                             escape(b.reason), escape(b.status_label), CONFIRMED_HTML if b.confirmed else "", actions)


# Providers side by side in the day view of everyone. A 50-provider clinic
# gets them in groups of this many (‹ › beside the day): fifty columns are
# far wider than any screen, and printing them all (1,658 appointments on a
# busy day, 1 MB of HTML) made the page take a quarter of a second.
CALENDAR_COLUMNS = 10


def _calendar_links(view: str, day: date, provider_id: int | None, group: int) -> dict:
    step = timedelta(days=7 if view == "week" else 1)
    base = reverse("calendar")

    def link(d: date) -> str:
        return (f"{base}?view={view}&date={d:%Y-%m-%d}" + (f"&provider={provider_id}" if provider_id else "")
                + (f"&group={group}" if group > 1 else ""))

    return {"previous": link(day - step), "next": link(day + step), "today": link(timezone.localdate())}


def _provider_groups(providers: list[tuple[int, str, bool]]) -> list[dict]:
    """The day view's groups of active providers, in name order: [{number, ids, label}];
    empty when everyone fits side by side."""
    active = [(pk, name) for pk, name, is_active in providers if is_active]
    if len(active) <= CALENDAR_COLUMNS:
        return []
    groups = []
    for number, first in enumerate(range(0, len(active), CALENDAR_COLUMNS), 1):
        members = active[first:first + CALENDAR_COLUMNS]
        span = f"{first + 1}–{first + len(members)}"
        groups.append({"number": number, "ids": [pk for pk, _ in members], "span": span,
                       "label": f"{span}: {members[0][1]} to {members[-1][1]}"})
    return groups


@receptionist_required
@require_safe
def calendar(request: HttpRequest) -> HttpResponse:
    """A day with one column per provider, or a provider's week; appointments, gaps and breaks to scale."""
    day = parse_day(request.GET.get("date")) or timezone.localdate()
    providers = list(Provider.objects.order_by("name", "pk").values_list("pk", "name", "is_active"))
    provider_id = parse_id(request.GET.get("provider"))
    provider_id = provider_id if any(pk == provider_id for pk, _, _ in providers) else None
    view = "week" if request.GET.get("view") == "week" else "day"
    groups, group = _provider_groups(providers), None
    if view == "week":
        # A week is one provider's: the one asked for, else the first who works.
        provider_id = provider_id or next((pk for pk, _, active in providers if active), None)
        monday = day - timedelta(days=day.weekday())
        days = [monday + timedelta(days=i) for i in range(7)]
        provider_ids = [provider_id] if provider_id else None
    else:
        days = [day]
        if provider_id:
            provider_ids = [provider_id]
        elif groups:
            asked = parse_id(request.GET.get("group")) or 1
            group = groups[min(max(asked, 1), len(groups)) - 1]
            provider_ids = group["ids"]
        else:
            provider_ids = None
    now = timezone.now()
    grid = selectors.calendar_grid(days=days, provider_ids=provider_ids, now=now)
    new_url, edit = reverse("appointment_new"), reverse("appointment_edit", args=[0]).replace("/0/", "/{}/")
    for c in grid.columns:
        c.title = f"{c.day:%a} {c.day.day} {c.day:%b}" if view == "week" else c.provider.name
        book = f"{new_url}?provider={c.provider.pk}&date={c.day:%Y-%m-%d}&time="
        with_actions(c.blocks, now=now)
        for b in c.blocks:
            b.movable = b.status in OPEN_STATUSES and b.start >= now
        # Safe: every value inside went through html.escape above.
        c.grid_html = mark_safe(_free_html(book, c.free) + "".join(_block_html(b, edit.format(b.id)) for b in c.blocks))
    horizon_note = ""
    last_day = grid.last_day
    if days[-1] > last_day:
        # The days past the horizon show no free times: say until when the
        # clinic books, and its last free times (the phone agent's words).
        provider = Provider.objects.filter(pk=provider_id).first() if provider_id else None
        horizon_note = services.past_horizon(day=max(days[0], last_day + timedelta(days=1)), provider=provider,
                                             now=now).message
    context = {
        "view": view, "day": day, "days": days, "grid": grid, "provider_id": provider_id, "horizon_note": horizon_note,
        "providers": providers, "group": group, "groups": groups, "active_total": sum(a for _, _, a in providers),
        "links": _calendar_links(view, day, provider_id, group["number"] if group else 1),
        # calendar.js posts one-click changes and moves to these, with the block's id for the 0.
        "url_patterns": {"status": reverse("appointment_status", args=[0]), "move": reverse("appointment_move", args=[0])},
        "day_list_query": f"date={day:%Y-%m-%d}" + (f"&provider={provider_id}" if provider_id and view == "day" else ""),
    }
    template = "scheduling/calendar.html"
    if wants_fragment(request):
        template += "#grid"
    return render(request, template, context)


@receptionist_required
@require_safe
def next_free(request: HttpRequest) -> HttpResponse:
    """The booking dialog's "Next free time with anyone": the first free times from the chosen day on."""
    day = parse_day(request.GET.get("date"))
    if day and day > selectors.booking_rules().last_day:
        past = services.past_horizon(day=day, limit=3)
        return render(request, "scheduling/_picks.html", {
            "note": past.message, "picks": _picks(past.slots), "label": "Last free times before then", "empty": "",
        })
    result = selectors.find_free_times(day=day, limit=3)
    picks = [{"provider": result.provider(s), "start": selectors.local(s.start)} for s in result.slots]
    return render(request, "scheduling/_picks.html", {"picks": picks, "empty": "No one has a free time in the coming weeks."})
