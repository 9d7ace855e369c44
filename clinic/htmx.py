"""How every dashboard view answers htmx: one place for the conventions.

A plain htmx request (a modal, a table refresh) gets a fragment; a boosted
one navigates whole pages and gets the page. A successful change answers an
htmx request with 204 and the `clinic:changed` event (app.js closes the
modal and shows the message, with an Undo button when the change can be
undone; tables refresh themselves); without JavaScript it redirects with a
Django message. A refused one-click change answers 422 with
`clinic:refused` (app.js shows the message; the calendar snaps back).
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import trigger_client_event


def wants_fragment(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted


def changed(request: HttpRequest, message: str, *, then: str, undo: dict | None = None) -> HttpResponse:
    """`undo`: {"url": ..., "values": {...}}, posted as is by the toast's Undo button."""
    if wants_fragment(request):
        detail = {"message": message}
        if undo:
            detail["undo"] = undo
        return trigger_client_event(HttpResponse(status=204), "clinic:changed", detail)
    messages.success(request, message)
    return redirect(then)


def refused(request: HttpRequest, message: str, *, then: str) -> HttpResponse:
    if wants_fragment(request):
        return trigger_client_event(HttpResponse(status=422), "clinic:refused", {"message": message})
    messages.error(request, message)
    return redirect(then)


def next_url(request: HttpRequest, default: str) -> str:
    """Where a form without JavaScript goes back to: its `next` field when it is ours."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return default
