"""Login forms for the dashboard and the admin: both sign in through
`authenticate()`, where clinic.signin keeps the one lock-out; these only turn
a lock-out into a message that says when to try again."""

from __future__ import annotations

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from clinic.signin import LOCKED_ATTRIBUTE, locked_message


class _ShowsLockout:
    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            seconds = getattr(self.request, LOCKED_ATTRIBUTE, None)
            if seconds is not None:
                raise ValidationError(locked_message(seconds), code="locked_out") from None
            raise


class LockoutAuthenticationForm(_ShowsLockout, AuthenticationForm):
    """The dashboard's sign-in form."""


class LockoutAdminAuthenticationForm(_ShowsLockout, AdminAuthenticationForm):
    """The admin's sign-in form (staff only, as Django's)."""
