"""Test-suite wiring: a real Redis of the run's own, fixtures every app uses.

Redis: with REDIS_URL unset, the run starts its own private redis-server
(the same binary the product uses) in a temporary folder. With REDIS_URL set
(CI's second pass), it uses that server under a key prefix unique to the run
and deletes only its own keys. Either way the cache, the channel layer and
the live-call store point at it, and so do processes the tests start
(through the environment).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest
import redis

from clinic.redis_server import PrivateRedis

_private: PrivateRedis | None = None


def _point_settings_at(url: str, prefix: str) -> None:
    from django.conf import settings

    settings.REDIS_URL = url
    settings.REDIS_KEY_PREFIX = prefix
    settings.CACHES["default"]["LOCATION"] = url
    settings.CACHES["default"]["KEY_PREFIX"] = prefix
    settings.CHANNEL_LAYERS["default"]["CONFIG"] = {"hosts": [url], "prefix": f"{prefix}:asgi"}
    # Child processes (simulate_calls, the live server) read these.
    os.environ["REDIS_URL"] = url
    os.environ["REDIS_KEY_PREFIX"] = prefix


def pytest_configure(config):
    global _private
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    url = os.environ.get("REDIS_URL", "")
    if not url:
        folder = Path(tempfile.mkdtemp(prefix="clinic-test-redis-"))
        _private = PrivateRedis(folder / "redis.sock").start()
        url = _private.url
    _point_settings_at(url, prefix)


def pytest_unconfigure(config):
    if _private:
        _private.stop()


def _delete_own_keys() -> None:
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{settings.REDIS_KEY_PREFIX}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(autouse=True)
def _clean_redis():
    """Each test starts with none of this run's keys (live calls, cache, channel groups)."""
    _delete_own_keys()
    yield
    _delete_own_keys()


@pytest.fixture
def clinic_tz():
    from django.utils import timezone

    return timezone.get_default_timezone()


@pytest.fixture
def monday():
    """A Monday at least a week ahead: inside the booking window, clear of the notice period."""
    from tests.when import next_weekday

    return next_weekday(0)
