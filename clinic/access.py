"""Who may use the dashboard.

Receptionists (settings.RECEPTIONIST_GROUP), managers (settings.MANAGER_GROUP)
and other staff work in the dashboard; everyone else, signed in or not, is kept out. Every
dashboard view is wrapped in `receptionist_required`; the live-calls
WebSocket consumer calls `can_use_dashboard` on its scope's user.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def can_use_dashboard(user) -> bool:
    if not user or not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff:
        return True
    return user.groups.filter(name__in=[settings.RECEPTIONIST_GROUP, settings.MANAGER_GROUP]).exists()


def receptionist_required(view):
    """Anonymous: to the login page. Signed in without the role: 403."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not can_use_dashboard(request.user):
            raise PermissionDenied("This account is not allowed to use the front-desk dashboard.")
        return view(request, *args, **kwargs)

    return wrapper
