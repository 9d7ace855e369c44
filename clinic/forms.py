"""Sign-in with a lock-out against password guessing.

Failures are counted in the cache (Redis, shared by every web replica) per
username and, with a higher limit, per client address: the first stops a
guesser aiming at one account, the second one trying many accounts from one
place. While either count is at its limit the password is not even checked,
so a correct guess during the lock-out tells the guesser nothing.
"""

from __future__ import annotations

import hashlib
import logging
import math

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError

log = logging.getLogger(__name__)

# One address may fail this many times the per-user limit (a shared front-desk
# PC where several receptionists mistype) before it is locked out itself.
ADDRESS_LIMIT_FACTOR = 4


def _username_key(username: str) -> str:
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"login-failures:user:{digest}"


def _address_key(address: str) -> str:
    return f"login-failures:addr:{address}"


def client_address(request) -> str:
    # REMOTE_ADDR, not X-Forwarded-For: a header the client writes would let
    # a guesser pick a fresh address for every attempt.
    return (request.META.get("REMOTE_ADDR") or "unknown") if request else "unknown"


def _seconds_left(key: str) -> int:
    try:
        ttl = cache.ttl(key)  # django-redis
    except AttributeError:
        ttl = None
    if not ttl or ttl < 0:
        return settings.LOGIN_LOCKOUT_SECONDS
    return ttl


def _count(key: str) -> int:
    return int(cache.get(key) or 0)


def _record_failure(key: str) -> int:
    # The window starts at the first failure and is not extended by the
    # following ones: add() sets the expiry once, incr() keeps it.
    cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)
        return 1


class LockoutAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "locked_out": "Too many failed sign-in attempts. Please try again in %(minutes)s.",
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request)
        user_key, addr_key = _username_key(username), _address_key(address)
        address_limit = settings.LOGIN_MAX_FAILURES * ADDRESS_LIMIT_FACTOR

        for key, limit in ((user_key, settings.LOGIN_MAX_FAILURES), (addr_key, address_limit)):
            if _count(key) >= limit:
                log.warning("Sign-in refused while locked out: user %r from %s", username, address)
                minutes = math.ceil(_seconds_left(key) / 60)
                raise ValidationError(
                    self.error_messages["locked_out"],
                    code="locked_out",
                    params={"minutes": f"{minutes} minute{'s' if minutes != 1 else ''}"},
                )

        try:
            cleaned = super().clean()
        except ValidationError as exc:
            if username and getattr(exc, "code", None) == "invalid_login":
                failures = _record_failure(user_key)
                _record_failure(addr_key)
                log.warning(
                    "Failed sign-in for user %r from %s (%d of %d)",
                    username, address, failures, settings.LOGIN_MAX_FAILURES,
                )
            raise
        cache.delete(user_key)
        return cleaned
