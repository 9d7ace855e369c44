import logging

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from clinic.htmx import wants_fragment

log = logging.getLogger(__name__)

# (label, URL name). Each app adds its pages on its own schedule; a name that
# does not reverse yet is left out of the navigation instead of breaking
# every page.
NAV = [
    ("Overview", "overview"),
    ("Calendar", "calendar"),
    ("Appointments", "appointment_list"),
    ("Patients", "patient_list"),
    ("Live calls", "live_calls"),
    ("Calls", "call_list"),
    ("Call-backs", "callback_list"),
]


def url_or_none(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _live_call_count() -> int | None:
    # The count in the navigation is live.js's job after load; this is its
    # first value. A Redis outage must not take the dashboard down with it.
    from voiceagent.livecalls import active_call_count

    try:
        return active_call_count()
    except Exception as exc:  # noqa: BLE001
        log.warning("live-call count unavailable (%s)", type(exc).__name__)
        return None


def _callback_count() -> int | None:
    # The first value of the navigation's count; live.js follows callback.changed events after load.
    from voiceagent.callbacks import open_count

    return open_count()


def _nav(request) -> list[dict]:
    items = []
    for label, name in NAV:
        url = url_or_none(name)
        if url:
            items.append({"label": label, "name": name, "url": url, "active": False})
    if request.user.is_staff:
        items.append({"label": "Admin", "name": "admin", "url": reverse("admin:index"), "active": False})
    # The longest URL that prefixes the path wins: /calls/live/ is Live calls, not Calls.
    matches = [i for i in items if request.path == i["url"] or (i["url"] != "/" and request.path.startswith(i["url"]))]
    if matches:
        max(matches, key=lambda i: len(i["url"]))["active"] = True
    return items


def clinic(request):
    """Values every page template uses: clinic name, navigation, live-call and open call-back counts."""
    from clinic.access import can_use_dashboard
    from clinic.models import ClinicProfile

    if wants_fragment(request):
        return {}  # fragments (modals, table refreshes) carry no navigation
    if not getattr(request, "user", None) or not can_use_dashboard(request.user):
        return {"clinic_name": ""}
    return {
        "clinic_name": ClinicProfile.load().name,
        "debug": settings.DEBUG,
        "nav_items": _nav(request),
        "new_appointment_url": url_or_none("appointment_new"),
        "live_call_count": _live_call_count(),
        "callback_count": _callback_count(),
    }
