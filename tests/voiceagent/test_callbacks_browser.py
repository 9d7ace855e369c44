"""Call-backs in a real Chromium against a real daphne: a message the agent takes appears without a reload."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.factories import clinic_profile

pytestmark = pytest.mark.browser


def take_message_on_a_call(room: str, caller: str, message: str) -> None:
    """What the phone agent does on a call, from this process (the dashboard is another process)."""
    from django.db import connections

    from voiceagent.agent import open_call

    async def call():
        desk = await open_call(room, caller_id=caller)
        await desk.take_message(message)
        await desk.close()
        await desk.live.end()
        await desk.store.close()

    try:
        asyncio.run(call())
    finally:
        connections.close_all()


def test_a_message_appears_then_is_assigned_and_done_without_a_reload(logged_in_page, live_server_url):
    from playwright.sync_api import expect

    clinic_profile(name="Sunrise Family Clinic")
    page = logged_in_page
    page.goto(f"{live_server_url}/calls/callbacks/")
    expect(page.locator("#live-status")).to_have_count(0)
    expect(page.locator("#callback-table")).to_contain_text("Nobody is waiting for a call back.")
    expect(page.locator("#callback-count")).to_be_hidden()
    page.evaluate("window.notReloaded = true")
    page.wait_for_function("window.liveSocketOpen === true")

    with ThreadPoolExecutor(1) as pool:
        pool.submit(take_message_on_a_call, "call-browser-cb", "+923001234567",
                    "Please call me about my <b>results</b>").result(timeout=20)

    row = page.locator("#callback-table tbody tr.callback")
    expect(row).to_have_count(1)
    expect(row.locator(".callback-message")).to_contain_text("Please call me about my <b>results</b>")
    expect(row.locator(".callback-phone")).to_have_text("0300 1234567")
    expect(page.locator("#callback-count")).to_have_text("1")

    row.get_by_role("button", name="Assign to me").click()
    expect(row.locator(".callback-taken")).to_have_text("You")
    expect(page.locator("#toast")).to_contain_text("You are calling back")

    row = page.locator("#callback-table tbody tr.callback")
    row.get_by_label("Note").fill("Rang back, results read out")
    row.get_by_role("button", name="Mark done").click()
    expect(page.locator("#callback-table")).to_contain_text("Nobody is waiting for a call back.")
    expect(page.locator("#callback-count")).to_be_hidden()
    assert page.evaluate("window.notReloaded") is True

    page.get_by_role("link", name="Done").click()
    expect(page.locator("#callback-table")).to_contain_text("Rang back, results read out")
