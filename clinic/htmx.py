"""How every dashboard view answers htmx: one place for the two conventions.

A plain htmx request (a modal, a table refresh) gets a fragment; a boosted
one navigates whole pages and gets the page. A successful change answers an
htmx request with 204 and the `clinic:changed` event (app.js closes the
modal and shows the message, tables refresh themselves); without JavaScript
it redirects with a Django message.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_htmx.http import trigger_client_event


def wants_fragment(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted


def changed(request: HttpRequest, message: str, *, then: str) -> HttpResponse:
    if wants_fragment(request):
        return trigger_client_event(HttpResponse(status=204), "clinic:changed", {"message": message})
    messages.success(request, message)
    return redirect(then)
