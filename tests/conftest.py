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

from clinic.redis_server import PrivateRedis, delete_prefixed

_private: PrivateRedis | None = None


def _point_settings_at(url: str, prefix: str) -> None:
    from django.conf import settings

    settings.REDIS_URL = url
    settings.REDIS_KEY_PREFIX = prefix
    settings.CACHES["default"]["LOCATION"] = url
    settings.CACHES["default"]["KEY_PREFIX"] = prefix
    settings.CHANNEL_LAYERS["default"]["CONFIG"] = {
        "hosts": [{"address": url, "socket_timeout": settings.CHANNEL_LAYER_READ_TIMEOUT}], "prefix": f"{prefix}:asgi"}
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
    # Django drops the SQLite test database file but not its WAL companions.
    from django.conf import settings

    test_name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") and test_name:
        for suffix in ("-wal", "-shm"):
            Path(test_name + suffix).unlink(missing_ok=True)


def _delete_own_keys() -> None:
    from django.conf import settings

    delete_prefixed(settings.REDIS_URL, settings.REDIS_KEY_PREFIX)


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


# --- Browser tests: a real daphne process and Debian's Chromium ------------

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]
RECEPTIONIST_PASSWORD = "correct-horse-battery"
# Where the running dashboard server (_asgi_server) writes its log: tests read what it logged.
ASGI_SERVER_LOG: dict[str, Path] = {}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url_of(connection) -> str:
    """The URL of the test database this run created, for processes it starts."""
    sd = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{sd['NAME']}"
    host = sd.get("HOST") or "127.0.0.1"
    port = sd.get("PORT") or 5432
    auth = sd["USER"] + (f":{sd['PASSWORD']}" if sd.get("PASSWORD") else "")
    return f"postgres://{auth}@{host}:{port}/{sd['NAME']}"


@pytest.fixture(scope="session")
def _asgi_server(django_db_setup, django_db_blocker, tmp_path_factory):
    """`manage.py runserver` (daphne, HTTP + WebSocket + static files) on the
    test database, in its own process: what a receptionist's browser talks to."""
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    from django.db import connection

    with django_db_blocker.unblock():
        db_url = _database_url_of(connection)
    port = _free_port()
    log_path = tmp_path_factory.mktemp("asgi") / "server.log"
    ASGI_SERVER_LOG["path"] = log_path
    env = {**os.environ, "DATABASE_URL": db_url, "DEBUG": "true", "PYTHONUNBUFFERED": "1"}
    root = Path(__file__).resolve().parent.parent
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/static/css/app.css", timeout=2)
            break
        except urllib.error.HTTPError:
            break  # it answers; whether that file exists yet is not this fixture's business
        except OSError as exc:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"test server did not start: {exc}\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def live_server_url(_asgi_server, transactional_db):
    """Base URL of the running dashboard; the test's data is committed so the server sees it."""
    return _asgi_server


def _require_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        reason = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run the browser tests", pytrace=False)
        pytest.skip(reason)


@pytest.fixture
def page(monkeypatch):
    """A Chromium page. Playwright's sync API keeps an event loop running in
    this thread, which trips Django's async-safety check on every ORM call
    the test makes; the check is lifted for this test only, and the browser
    is started and stopped per test so no loop outlives it."""
    _require_chromium()
    from django.db import connections
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        yield context.new_page()
        # The test's ORM calls ran under Playwright's loop, in a context
        # pytest-django's own clean-up does not reach: close them here, or
        # PostgreSQL refuses to drop the test database at the end.
        connections.close_all()
        context.close()
        browser.close()


@pytest.fixture
def receptionist(transactional_db):
    from django.conf import settings
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    user = UserFactory(username="reception-test", first_name="Rida")
    user.groups.add(Group.objects.get_or_create(name=settings.RECEPTIONIST_GROUP)[0])
    return user


@pytest.fixture
def logged_in_page(page, live_server_url, receptionist):
    """A page already signed in as `receptionist` (session cookie set directly;
    the login form itself is covered by its own browser test)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(receptionist)
    page.context.add_cookies([{
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": live_server_url,
    }])
    page.goto(live_server_url + "/")
    return page
