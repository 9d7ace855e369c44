"""Live calls in a real Chromium against a real daphne, with calls written by another process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection

from tests.factories import PatientFactory, ProviderFactory
from tests.when import local_dt

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


def simulator(*args: str) -> subprocess.Popen:
    # Same Redis and key prefix as the test server (through the environment),
    # and the test database, whose providers the calls ask for.
    from django.db import connection

    from tests.conftest import _database_url_of

    return subprocess.Popen([sys.executable, "manage.py", "simulate_calls", *args], cwd=ROOT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", "DATABASE_URL": _database_url_of(connection)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop(proc: subprocess.Popen, *, finishes_by_itself: bool = False) -> str:
    if finishes_by_itself:
        try:
            return proc.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            pass
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    return proc.communicate(timeout=20)[0]


def test_a_call_from_another_process_appears_changes_stage_and_leaves_without_a_reload(
        logged_in_page, live_server_url):
    from playwright.sync_api import expect

    page = logged_in_page
    ProviderFactory(name="Dr Sim Khan")  # the made-up caller asks for the clinic's own provider
    page.goto(f"{live_server_url}/calls/live/")
    expect(page.locator("#live-status")).to_have_text("Live")
    expect(page.locator("#live-calls-empty")).to_be_visible()
    expect(page.locator("#live-call-count")).to_have_text("0")
    page.evaluate("window.notReloaded = true")

    sim = simulator("--once", "--calls", "1", "--interval", "1.5", "--seed", "3")
    try:
        row = page.locator("#live-calls-body tr")
        expect(row).to_have_count(1, timeout=20_000)
        expect(page.locator("#live-call-count")).to_have_text("1")
        expect(page.locator("#live-calls-empty")).to_be_hidden()
        expect(row.locator(".live-started")).to_have_text("just now")
        expect(row.locator(".live-stage")).to_have_text("Identifying caller", timeout=10_000)
        expect(row.locator(".live-stage")).to_have_text("Choosing a time", timeout=10_000)
        expect(row.locator(".live-slot")).to_contain_text("with Dr Sim Khan")
        caller = row.locator(".live-caller-name").inner_text()
        assert caller != "Unknown caller"
        expect(row.locator(".live-stage")).to_have_text("Booking", timeout=10_000)
        # The call ends: its row leaves and the count drops, still without a reload.
        expect(row).to_have_count(0, timeout=15_000)
        expect(page.locator("#live-call-count")).to_have_text("0")
        expect(page.locator("#live-calls-empty")).to_be_visible()
        assert page.evaluate("window.notReloaded") is True
    finally:
        out = stop(sim, finishes_by_itself=True)
    assert sim.returncode == 0, out


def test_the_nav_count_follows_calls_on_any_page_and_bookings_refresh_tables(logged_in_page, live_server_url,
                                                                          monday):
    from playwright.sync_api import expect

    from scheduling.services import appointment_book

    page = logged_in_page
    page.goto(f"{live_server_url}/calls/")
    count = page.locator("#live-call-count")
    expect(count).to_have_text("0")
    page.evaluate("""() => {
        window.changes = [];
        document.body.addEventListener("clinic:changed", (e) => window.changes.push(e.detail));
    }""")

    sim = simulator("--forever", "--calls", "2", "--interval", "10")
    try:
        expect(count).to_have_text("2", timeout=20_000)
        # A booking made elsewhere (here: the services, as the agent or admin would)
        # reaches every open page as clinic:changed, which tables refresh on.
        patient, provider = PatientFactory(), ProviderFactory()

        def book():
            # In its own thread, as a request would be: Playwright keeps an event loop in this one.
            try:
                return appointment_book(patient=patient, provider=provider, start=local_dt(monday, 10))
            finally:
                connection.close()

        with ThreadPoolExecutor(1) as pool:
            appointment = pool.submit(book).result()
        page.wait_for_function("window.changes.length > 0")
        assert page.evaluate("window.changes[0].id") == appointment.pk
    finally:
        out = stop(sim)
    assert sim.returncode == 0, out
    expect(count).to_have_text("0", timeout=10_000)


def test_the_page_reconnects_by_itself_and_rereads_the_state(logged_in_page, live_server_url):
    from playwright.sync_api import expect

    page = logged_in_page
    page.goto(f"{live_server_url}/calls/live/")
    status = page.locator("#live-status")
    expect(status).to_have_text("Live")

    # Cut the browser off: the socket drops, the page says so and keeps trying.
    page.context.set_offline(True)
    # Its first stage change comes a minute in: the row can only come from the snapshot.
    sim = simulator("--forever", "--calls", "1", "--interval", "60")
    try:
        expect(status).to_have_text("Reconnecting…", timeout=15_000)
        sim.stdout.readline()  # "Simulating ..."
        assert "started" in sim.stdout.readline()
        page.context.set_offline(False)
        # Back online: it reconnects without a reload and the snapshot brings the call it missed.
        expect(status).to_have_text("Live", timeout=30_000)
        expect(page.locator("#live-calls-body tr")).to_have_count(1)
        expect(page.locator("#live-call-count")).to_have_text("1")
    finally:
        out = stop(sim)
    assert sim.returncode == 0, out


def test_started_n_min_ago_keeps_ticking(logged_in_page, live_server_url):
    from playwright.sync_api import expect

    page = logged_in_page
    page.clock.install()  # the page's own clock, so minutes pass without waiting for them
    page.goto(f"{live_server_url}/calls/live/")
    expect(page.locator("#live-status")).to_have_text("Live")
    sim = simulator("--forever", "--calls", "1", "--interval", "60")
    try:
        started = page.locator("#live-calls-body tr .live-started")
        expect(started).to_have_text("just now", timeout=20_000)
        page.clock.fast_forward("03:05")
        expect(started).to_have_text("3 min ago")
    finally:
        out = stop(sim)
    assert sim.returncode == 0, out
