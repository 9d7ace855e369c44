"""Patient pages: the searchable list, the patient page, and add / edit / delete in modals.

Writes go through patients.services; a refused change (PatientError) comes
back next to the form with status 422 and nothing saved.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseClientRedirect

from clinic import audit, hygiene
from clinic.access import receptionist_required
from clinic.htmx import changed, wants_fragment
from patients.forms import PatientForm
from patients.models import Patient
from patients.selectors import count_matches, patient_search, read_page, similar_patients
from patients.totals import patient_total
from patients import services
from patients.services import PatientError
from scheduling.selectors import upcoming_for_patient
from scheduling.services import status_actions

PAGE_SIZE = 25
PAST_LIMIT = 50
CALLS_LIMIT = 20


def _get_patient(pk: int) -> Patient:
    return get_object_or_404(Patient, pk=pk)


@require_POST
@receptionist_required
def patient_phone_unlock(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff have checked who the caller is: the phone agent may identify this patient again."""
    patient = services.patient_phone_unlock(patient=_get_patient(pk))
    return changed(request, f"Phone access cleared for {patient.full_name}.", then=reverse("patient_detail", args=[pk]))


@require_safe
@receptionist_required
def patient_list(request: HttpRequest) -> HttpResponse:
    query, search_error = request.GET.get("q", "").strip(), ""
    # Patients the phone agent cannot check by date of birth: staff ask for it when they can.
    no_birth_date = request.GET.get("no_birth_date") == "1"
    try:
        query = hygiene.clean_search(query)
    except hygiene.Refused as exc:
        query, search_error = "", exc.message
    # patient_search covers every patient, however long ago they registered.
    patients = patient_search(query) if not search_error else Patient.objects.none()
    if no_birth_date:
        patients = patients.filter(date_of_birth__isnull=True)
    # Each row shows the patient's next visit: one indexed subquery per row of the page.
    next_visit = {"next_visit": Subquery(upcoming_for_patient(OuterRef("pk")).values("start")[:1])}
    if query:
        # Matches are counted up to a cap and the page read by id (see the selectors).
        paginator = Paginator(patients, PAGE_SIZE)
        paginator.count, more_matches = count_matches(patients)
        page = paginator.get_page(request.GET.get("page"))
        rows = read_page(page.object_list).annotate(**next_visit)
    else:
        paginator = Paginator(patients.annotate(**next_visit), PAGE_SIZE)
        if not no_birth_date and not search_error:
            # Everyone: the total kept between changes (patients.totals) instead of
            # a COUNT over every patient on each load; Paginator.count is a cached
            # property, so this value is the one it uses.
            paginator.count = patient_total()
        page = paginator.get_page(request.GET.get("page"))
        rows, more_matches = page.object_list, False
    context = {"query": query, "page": page, "patients": rows, "search_error": search_error,
               "no_birth_date": no_birth_date, "more_matches": more_matches}
    template = "patients/patient_list.html#table" if wants_fragment(request) else "patients/patient_list.html"
    return render(request, template, context)


def _age(born):
    if not born:
        return None
    today = timezone.localdate()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@require_safe
@receptionist_required
def patient_detail(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _get_patient(pk)
    now = timezone.now()
    appointments = patient.appointments.select_related("provider")
    past = list(appointments.filter(start__lt=now).order_by("-start", "-id")[: PAST_LIMIT + 1])
    upcoming = list(appointments.filter(start__gte=now).order_by("start", "id"))
    for a in upcoming + past:
        a.actions = status_actions(status=a.status, start=a.start, now=now)
    context = {
        "patient": patient,
        "now": now,
        "age": _age(patient.date_of_birth),
        "upcoming": upcoming,
        "past": past[:PAST_LIMIT],
        "more_past": len(past) > PAST_LIMIT,
        "calls": list(patient.calls.order_by("-started_at")[:CALLS_LIMIT]),
        "history": audit.history_rows(patient),
    }
    template = "patients/patient_detail.html#panels" if wants_fragment(request) else "patients/patient_detail.html"
    return render(request, template, context)


def _render_form(request, form, *, patient=None, status=200, similar=()):
    context = {"form": form, "patient": patient, "similar": similar}
    template = "patients/patient_form_modal.html" if wants_fragment(request) else "patients/patient_form_page.html"
    return render(request, template, context, status=status)


def _save(request, form, *, patient: Patient | None):
    """Run the service on a valid form; a PatientError goes back onto the form.

    A look-alike patient on the same number stops the first save: the form
    comes back naming them, with a box to tick when it is someone else.
    """
    data = form.cleaned_data
    if not data["not_duplicate"]:
        similar = similar_patients(full_name=data["full_name"], phone=data["phone"],
                                   exclude_pk=patient.pk if patient else None)
        if similar:
            form.similar = similar
            return None
    fields = dict(
        full_name=data["full_name"],
        phone=data["phone"],
        date_of_birth=data["date_of_birth"],
        email=data["email"],
        notes=data["notes"],
        contact_preference=data["contact_preference"] or None,
    )
    try:
        if patient is None:
            return services.patient_create(**fields)
        return services.patient_update(patient=patient, **fields)
    except PatientError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return None


@require_http_methods(["GET", "POST"])
@receptionist_required
def patient_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _render_form(request, PatientForm(initial={"full_name": request.GET.get("name", "")}))
    form = PatientForm(request.POST)
    saved = _save(request, form, patient=None) if form.is_valid() else None
    if saved is None:
        return _render_form(request, form, status=422, similar=getattr(form, "similar", ()))
    return changed(request, f"{saved.full_name} added.", then=saved.get_absolute_url())


@require_http_methods(["GET", "POST"])
@receptionist_required
def patient_edit(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _get_patient(pk)
    if request.method == "GET":
        return _render_form(request, PatientForm.for_patient(patient), patient=patient)
    form = PatientForm.for_patient(patient, request.POST)
    saved = _save(request, form, patient=patient) if form.is_valid() else None
    if saved is None:
        # The service may have changed the instance before refusing it.
        patient.refresh_from_db()
        return _render_form(request, form, patient=patient, status=422, similar=getattr(form, "similar", ()))
    return changed(request, f"{saved.full_name} saved.", then=saved.get_absolute_url())


@require_http_methods(["GET", "POST"])
@receptionist_required
def patient_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a patient; with upcoming appointments, only after confirming that many.

    The confirmation carries the number the receptionist was shown: if an
    appointment was booked meanwhile (the phone agent never sleeps), the
    numbers differ and we ask again instead of deleting it unseen.
    """
    patient = _get_patient(pk)
    upcoming = list(upcoming_for_patient(patient.pk))
    confirmed = request.POST.get("confirm_upcoming", "")
    if request.method == "GET" or (upcoming and confirmed != str(len(upcoming))):
        template = "patients/patient_delete_modal.html" if wants_fragment(request) else "patients/patient_delete_page.html"
        status = 200 if request.method == "GET" else 422
        context = {"patient": patient, "upcoming": upcoming, "asked_again": request.method == "POST"}
        return render(request, template, context, status=status)
    name = patient.full_name
    services.patient_delete(patient=patient)
    message = f"{name} deleted" + (f", with {len(upcoming)} upcoming appointment{'s' if len(upcoming) != 1 else ''}." if upcoming else ".")
    on_own_page = wants_fragment(request) and (request.htmx.current_url_abs_path or "").startswith(
        reverse("patient_detail", args=[pk])
    )
    if on_own_page:
        # The page the receptionist is on no longer exists.
        messages.success(request, message)
        return HttpResponseClientRedirect(reverse("patient_list"))
    return changed(request, message, then=reverse("patient_list"))


@require_safe
@receptionist_required
def patient_similar(request: HttpRequest) -> HttpResponse:
    """Look-alike patients for the name and phone typed so far (the form asks as you leave each field)."""
    exclude = request.GET.get("patient", "")
    similar = similar_patients(full_name=request.GET.get("full_name", "")[:120],
                               phone=request.GET.get("phone", "")[:40],
                               exclude_pk=int(exclude) if exclude.isdigit() and len(exclude) <= 18 else None)
    return render(request, "patients/_similar.html", {"similar": similar})
