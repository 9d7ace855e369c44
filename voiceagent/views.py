"""Dashboard pages of the voice agent: live calls, call history, one call, call-backs.

Plain function views behind `receptionist_required`. Receptionists see full
numbers here (they call patients back); only logs are masked.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from clinic import hygiene
from clinic.access import receptionist_required
from clinic.htmx import changed, next_url, refused, wants_fragment
from patients.selectors import phone_match
from voiceagent import callbacks, livecalls
from voiceagent.models import Call, Callback, Language

PAGE_SIZE = 25


def _url(name: str, pk: int | None) -> str:
    """A link to another app's page, or "" while that page does not exist."""
    if pk is None:
        return ""
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return ""


def _minutes_ago(started_at: str, now: datetime) -> str:
    try:
        started = datetime.fromisoformat(started_at)
    except ValueError:
        return ""
    minutes = max(int((now - started).total_seconds() // 60), 0)
    return "just now" if minutes == 0 else f"{minutes} min ago"


@require_safe
@receptionist_required
def live_calls(request):
    """Initial state of the panel; static/js/live.js applies the events that follow."""
    now = timezone.now()
    try:
        calls = livecalls.active_calls()
        unavailable = False
    except Exception:  # noqa: BLE001 - Redis away: the page still renders and says so
        calls, unavailable = [], True
    # live.js builds rows for calls that start later; it fills this pattern with the patient id.
    patient_url_pattern = _url("patient_detail", 0).replace("/0/", "/{id}/")
    for call in calls:
        call["started_ago"] = _minutes_ago(call["started_at"], now)
        call["patient_url"] = _url("patient_detail", call.get("patient_id"))
    return render(request, "voiceagent/live_calls.html", {
        "calls": calls, "unavailable": unavailable, "patient_url_pattern": patient_url_pattern,
    })


def _parse_day(raw: str | None, errors: list[str]) -> date | None:
    try:
        return hygiene.parse_day(raw)
    except hygiene.Refused as exc:
        errors.append(exc.message)
        return None


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(seconds, 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


@require_safe
@receptionist_required
def call_list(request):
    """Calls, newest first: by date range, outcome, language, direction, and caller / patient search."""
    tz = timezone.get_current_timezone()
    errors = []
    first = _parse_day(request.GET.get("from"), errors)
    last = _parse_day(request.GET.get("to"), errors)
    outcome = request.GET.get("outcome", "")
    try:
        query = hygiene.clean_search(request.GET.get("q", ""))
    except hygiene.Refused as exc:
        errors.append(exc.message)
        query = ""
    if outcome and outcome not in Call.Outcome.values:
        errors.append("Unknown outcome; showing all outcomes.")
        outcome = ""
    language = request.GET.get("language", "")
    if language and language not in Language.values:
        errors.append("Unknown language; showing calls in every language.")
        language = ""
    direction = request.GET.get("direction", "")
    if direction and direction not in Call.Direction.values:
        errors.append("Unknown direction; showing calls both ways.")
        direction = ""

    calls = Call.objects.select_related("patient", "appointment__provider").order_by("-started_at", "-id")
    if first:
        calls = calls.filter(started_at__gte=datetime.combine(first, datetime.min.time(), tz))
    if last:
        calls = calls.filter(started_at__lt=datetime.combine(last + timedelta(days=1), datetime.min.time(), tz))
    if outcome:
        calls = calls.filter(outcome=outcome)
    if language:
        calls = calls.filter(language=language)
    if direction:
        calls = calls.filter(direction=direction)
    for word in hygiene.search_words(query):
        calls = calls.filter(
            phone_match("caller_phone", word) or Q(caller_name__icontains=word) | Q(patient__full_name__icontains=word)
        )
    # Leave the transcript and usage out: long JSON the table never shows.
    calls = calls.defer("transcript", "usage")

    page = Paginator(calls, PAGE_SIZE).get_page(request.GET.get("page"))
    for call in page:
        call.patient_url = _url("patient_detail", call.patient_id)
        call.duration_text = _duration(call.duration_seconds)
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "voiceagent/call_list.html", {
        "page": page,
        "calls": page.object_list,
        "filters": {"from": request.GET.get("from", ""), "to": request.GET.get("to", ""),
                    "outcome": outcome, "language": language, "direction": direction, "q": query},
        "outcomes": Call.Outcome.choices,
        "languages": Language.choices,
        "directions": Call.Direction.choices,
        "errors": errors,
        "query_string": params.urlencode(),
    })


@require_safe
@receptionist_required
def call_detail(request, pk: int):
    call = get_object_or_404(Call.objects.select_related("patient", "appointment__provider"), pk=pk)
    transcript = [
        {"speaker": "Caller" if turn.get("role") == "user" else "Receptionist (AI)",
         "role": "caller" if turn.get("role") == "user" else "agent",
         "text": turn.get("text", ""),
         "at": _parse_at(turn.get("at"))}
        for turn in call.transcript or [] if isinstance(turn, dict) and turn.get("text")
    ]
    usage = sorted((call.usage or {}).items()) if isinstance(call.usage, dict) else []
    return render(request, "voiceagent/call_detail.html", {
        "call": call,
        "duration": _duration(call.duration_seconds),
        "patient_url": _url("patient_detail", call.patient_id),
        "appointment_url": _url("appointment_edit", call.appointment_id),
        "transcript": transcript,
        "usage": usage,
        "callback": Callback.objects.filter(call=call).select_related("assigned_to", "done_by").first(),
    })


def _parse_at(raw) -> datetime | None:
    try:
        return datetime.fromisoformat(raw) if raw else None
    except (TypeError, ValueError):
        return None


# --- call-backs ------------------------------------------------------------------

CALLBACK_VIEWS = {"open": "Open", "mine": "Taken by me", "done": "Done", "all": "All"}


@receptionist_required
@require_safe
def callback_list(request):
    """Callers waiting for a call back, oldest first while open; live via `callback.changed` (live.js)."""
    show = request.GET.get("show", "open")
    if show not in CALLBACK_VIEWS:
        show = "open"
    rows = Callback.objects.select_related("patient", "call", "assigned_to", "done_by")
    if show == "open":
        rows = rows.filter(status=Callback.Status.OPEN).order_by("created_at", "id")
    elif show == "mine":
        rows = rows.filter(status=Callback.Status.OPEN, assigned_to=request.user).order_by("created_at", "id")
    elif show == "done":
        rows = rows.filter(status=Callback.Status.DONE).order_by("-done_at", "-id")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for callback in page:
        callback.patient_url = _url("patient_detail", callback.patient_id)
    context = {"page": page, "callbacks": page.object_list, "show": show, "views": CALLBACK_VIEWS.items(),
               "note_max": callbacks.NOTE_MAX}
    template = "voiceagent/callback_list.html#table" if wants_fragment(request) else "voiceagent/callback_list.html"
    return render(request, template, context)


def _callback_who(callback: Callback) -> str:
    return callback.caller_name or callback.phone_display


@receptionist_required
@require_POST
def callback_assign(request, pk: int):
    callback = get_object_or_404(Callback, pk=pk)
    back = next_url(request, reverse("callback_list"))
    try:
        callbacks.callback_assign(callback=callback, user=request.user)
    except callbacks.CallbackError as exc:
        return refused(request, exc.message, then=back)
    return changed(request, f"You are calling back {_callback_who(callback)}.", then=back)


@receptionist_required
@require_POST
def callback_done(request, pk: int):
    callback = get_object_or_404(Callback, pk=pk)
    back = next_url(request, reverse("callback_list"))
    try:
        callbacks.callback_done(callback=callback, user=request.user, note=request.POST.get("note", ""))
    except callbacks.CallbackError as exc:
        return refused(request, exc.message, then=back)
    return changed(request, f"Call-back to {_callback_who(callback)} marked done.", then=back)
