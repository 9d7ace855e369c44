"""Appointment pages of the receptionist dashboard.

Thin on purpose: forms read what was typed, scheduling.services decides
whether it may be booked, moved or cancelled, and a BookingError comes back
as a message next to the form (status 422, nothing saved). A successful save
answers htmx with 204 + `clinic:changed`, which closes the modal and makes
every table on the page refresh itself.
"""

from __future__ import annotations

from datetime import date, time, timedelta

from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from clinic.access import receptionist_required
from clinic.htmx import changed, wants_fragment
from patients.models import Patient
from patients.selectors import patient_search
from patients.services import PatientError, patient_find_or_create
from scheduling import selectors, services
from scheduling.forms import SORTS, AppointmentFilterForm, AppointmentForm, parse_day
from scheduling.models import OPEN_STATUSES, Appointment, Provider
from scheduling.services import BookingError

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


@receptionist_required
@require_GET
def appointment_list(request: HttpRequest) -> HttpResponse:
    form = AppointmentFilterForm(request.GET)
    f = form.filters()
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
    page = Paginator(qs.order_by(*order), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "filters": f,
        "page": page,
        "columns": _columns(f["sort"]),
        "open_statuses": OPEN_STATUSES,
        "presets": _presets(timezone.localdate()),
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
                  chosen: time | str | None = None) -> dict:
    """What the time picker shows: the free starts, or in words why there are none."""
    if provider is None or day is None:
        return {"slots": [], "slot_note": "Choose a provider and a date to see the free times."}
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
    note = "" if times else services.day_refusal(provider=provider, day=day)
    if isinstance(chosen, time):
        chosen = chosen.strftime("%H:%M")
    return {"slots": [t.strftime("%H:%M") for t in times], "slot_note": note, "chosen_time": chosen or ""}


def _render_form(request: HttpRequest, form: AppointmentForm, *, status: int = 200, error: str = "") -> HttpResponse:
    appointment = form.appointment
    # What was typed (the valid parts) or, before the first post, the initial values.
    values = getattr(form, "cleaned_data", {}) if form.is_bound else form.initial
    context = {
        "form": form,
        "appointment": appointment,
        "error": error,
        **(_picker_context(request.POST.get("patient_query", ""), values.get("patient")) if form.is_new else {}),
        **_slot_context(provider=values.get("provider"), day=values.get("date"), appointment=appointment,
                        chosen=values.get("time")),
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
        patient_id = request.GET.get("patient", "")
        if patient_id.isdigit():
            # "Book for this patient" on the patient page: already picked.
            initial["patient"] = Patient.objects.filter(pk=patient_id).first()
        return _render_form(request, AppointmentForm(initial=initial))

    form = AppointmentForm(request.POST)
    if not form.is_valid():
        return _render_form(request, form, status=422)
    data = form.cleaned_data
    try:
        with transaction.atomic():
            patient = data["patient"]
            if patient is None:
                patient, _ = patient_find_or_create(
                    full_name=data["new_name"], phone=data["new_phone"], date_of_birth=data["new_date_of_birth"]
                )
            appointment = services.appointment_book(
                patient=patient, provider=data["provider"], start=data["start"], reason=data["reason"],
                source=Appointment.Source.DASHBOARD,
            )
    except PatientError as exc:
        field = {"full_name": "new_name", "phone": "new_phone", "date_of_birth": "new_date_of_birth"}.get(exc.field or "")
        form.add_error(field or "patient", exc.message)
        return _render_form(request, form, status=422)
    except BookingError as exc:
        return _render_form(request, form, status=422, error=exc.message)
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
            status=data["status"], reason=data["reason"],
        )
    except BookingError as exc:
        form.appointment = _get_appointment(pk)  # as it still is in the database
        return _render_form(request, form, status=422, error=exc.message)
    return changed(request, f"Saved {_describe(appointment)}.", then="appointment_list")


@receptionist_required
@require_GET
def appointment_slots(request: HttpRequest) -> HttpResponse:
    """The time picker's options for a provider and a day (re-read on every change)."""
    provider_id = request.GET.get("provider", "")
    provider = Provider.objects.filter(pk=provider_id).first() if provider_id.isdigit() else None
    day = parse_day(request.GET.get("date"))
    appointment = None
    appointment_id = request.GET.get("appointment", "")
    if appointment_id.isdigit():
        appointment = Appointment.objects.filter(pk=appointment_id).first()
    context = _slot_context(provider=provider, day=day, appointment=appointment, chosen=request.GET.get("time"))
    if provider_id and provider is None:
        context["slot_note"] = "That provider does not exist; choose one from the list."
    elif request.GET.get("date") and day is None:
        context["slot_note"] = "Enter the date as YYYY-MM-DD, for example 2025-12-01."
    return render(request, "scheduling/_slots.html", context)


def _picker_context(query: str, selected: Patient | str | None) -> dict:
    """Up to ten patients matching `query`, with the one already picked kept on screen."""
    query = (query or "").strip()
    matches = list(patient_search(query)[:PICKER_LIMIT]) if query else []
    picked = selected if isinstance(selected, Patient) else None
    if isinstance(selected, str) and selected.isdigit():
        picked = Patient.objects.filter(pk=selected).first()
    if picked and picked not in matches:
        # The search changed after a patient was picked: keep that patient on
        # screen (and chosen) rather than silently dropping the choice.
        matches.insert(0, picked)
    return {"query": query, "matches": matches, "picked": picked, "limit": PICKER_LIMIT}


@receptionist_required
@require_GET
def patient_picker(request: HttpRequest) -> HttpResponse:
    """The patients matching the search box, as radio buttons of the booking form."""
    context = _picker_context(request.GET.get("patient_query", ""), request.GET.get("patient", ""))
    return render(request, "scheduling/_patient_options.html", context)


# --- cancel and delete ---------------------------------------------------------------

def _confirm(request: HttpRequest, appointment: Appointment, *, action: str, error: str = "", status: int = 200):
    template = "scheduling/appointment_confirm_modal.html" if wants_fragment(request) else "scheduling/appointment_confirm_page.html"
    return render(request, template, {
        "appointment": appointment, "action": action, "description": _describe(appointment), "error": error,
    }, status=status)


@receptionist_required
@require_http_methods(["GET", "POST"])
def appointment_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _get_appointment(pk)
    if request.method == "GET":
        return _confirm(request, appointment, action="cancel")
    try:
        appointment = services.appointment_cancel(appointment=appointment)
    except BookingError as exc:
        return _confirm(request, appointment, action="cancel", error=exc.message, status=422)
    return changed(request, f"Cancelled {_describe(appointment)}.", then="appointment_list")


@receptionist_required
@require_http_methods(["GET", "POST"])
def appointment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _get_appointment(pk)
    if request.method == "GET":
        return _confirm(request, appointment, action="delete")
    description = _describe(appointment)
    services.appointment_delete(appointment=appointment)
    return changed(request, f"Deleted {description}.", then="appointment_list")


