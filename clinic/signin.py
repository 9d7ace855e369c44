"""One sign-in lock-out for every way in: an authentication backend.

Django's `authenticate()` is what the dashboard's login form, the admin's
login form and anything else that signs people in all call, so the lock-out
lives in the backend and no interface can skip it.

Each attempt is *reserved* before the password is checked: an atomic Redis
INCR on the attempt counters, refused when the count passes its limit. A
burst of parallel guesses therefore gets at most the limit of password
checks, whatever the timing (reading the count, checking, then raising it
lets every request of a burst through the read). A successful sign-in
clears the counters: whoever got in knew the password, so the guesses have
nothing left to find.

Two counters, both keyed on the username:
- username + client address, limit LOGIN_MAX_FAILURES: stops a guesser;
- username alone, limit LOGIN_MAX_FAILURES * USERNAME_LIMIT_FACTOR: stops a
  guesser who spreads over many addresses. An attempt refused by the first
  counter does not count towards the second, so one stranger at one address
  can never lock a receptionist out everywhere.
There is no counter per address alone: behind the clinic's reverse proxy, or
at a shared front-desk PC, everyone has the same address, and a stranger's
failures must not lock out staff who never failed.

The client address is REMOTE_ADDR, which clinic.proxy has replaced with the
X-Forwarded-For client only when the request came from a trusted proxy.

django-axes was considered and not used: it reads the failure count before
`authenticate()` and records the failure after it, so the attempts of a
parallel burst all pass its check (see the README, "Security").
"""

from __future__ import annotations

import hashlib
import logging
import math
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django_redis import get_redis_connection

log = logging.getLogger(__name__)

# A username may fail this many times the per-address limit, summed over all
# addresses, before it is locked everywhere.
USERNAME_LIMIT_FACTOR = 4


def client_address(request) -> str:
    return (request.META.get("REMOTE_ADDR") or "unknown") if request is not None else "unknown"


def _key(*parts: str) -> str:
    # Hashed so that whatever a guesser types as a username is never a key or a log line.
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]
    return f"{settings.REDIS_KEY_PREFIX}:signin:{digest}"


def _keys(username: str, address: str) -> tuple[str, str]:
    name = username.strip().casefold()
    return _key("user+address", name, address), _key("user", name)


def _reserve(key: str, limit: int) -> int | None:
    """Count one attempt on `key`; None if within the limit, else the seconds the lock-out has left.

    The window starts at the first attempt and is not extended by later ones
    (SET NX sets the expiry once; INCR keeps it), so a lock-out always ends.
    """
    pipe = get_redis_connection("default").pipeline(transaction=True)
    pipe.set(key, 0, ex=settings.LOGIN_LOCKOUT_SECONDS, nx=True)
    pipe.incr(key)
    pipe.ttl(key)
    _, count, ttl = pipe.execute()
    if count <= limit:
        return None
    return ttl if ttl and ttl > 0 else settings.LOGIN_LOCKOUT_SECONDS


def reserve_attempt(username: str, address: str) -> int | None:
    """Reserve a password check for `username` from `address`; None, or seconds until allowed."""
    pair, user = _keys(username, address)
    wait = _reserve(pair, settings.LOGIN_MAX_FAILURES)
    if wait is None:
        wait = _reserve(user, settings.LOGIN_MAX_FAILURES * USERNAME_LIMIT_FACTOR)
    return wait


def clear_attempts(username: str, address: str) -> None:
    get_redis_connection("default").delete(*_keys(username, address))


def locked_message(seconds: int) -> str:
    until = timezone.localtime(timezone.now() + timedelta(seconds=seconds))
    minutes = max(1, math.ceil(seconds / 60))
    return (f"Too many failed sign-in attempts. Please try again after {until:%H:%M} "
            f"(in {minutes} minute{'s' if minutes != 1 else ''}).")


class LockoutBackend(ModelBackend):
    """ModelBackend with the lock-out in front of the password check.

    A refused attempt raises PermissionDenied, which makes `authenticate()`
    stop at once; the seconds left are put on the request for the login form
    to show (`LOCKED_ATTRIBUTE`).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(self._username_field())
        if not username or password is None:
            return None
        address = client_address(request)
        wait = reserve_attempt(username, address)
        if wait is not None:
            log.warning("Sign-in refused while locked out, from %s", address)
            if request is not None:
                setattr(request, LOCKED_ATTRIBUTE, wait)
            raise PermissionDenied("locked out")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            log.warning("Failed sign-in from %s", address)
            return None
        clear_attempts(username, address)
        return user

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD


LOCKED_ATTRIBUTE = "signin_locked_seconds"
